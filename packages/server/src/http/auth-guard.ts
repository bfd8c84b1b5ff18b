import type { FastifyInstance, FastifyRequest } from 'fastify';
import { fail, tooManyRequests } from '../errors.ts';
import type { Scope } from '../domain/scopes.ts';
import { safeEqual, sha256Hex } from '../domain/secrets.ts';
import type { Principal } from '../services/principal.ts';
import type { Services } from '../services/services.ts';

/**
 * Every /api/v1 route says who may call it; a route without this is refused (fail closed).
 * `uploadToken`: the route also takes a transfer's upload token, whatever `scope` says; the
 * service pins such a caller to the token's own transfer (any other is 404).
 */
export type RouteAuth =
  | { scope: Scope; signedUrl?: boolean; uploadToken?: boolean }
  | { public: true }
  | { session: true };

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export const SESSION_COOKIE = 'ferry_session';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Installs the guard that authenticates, checks scope and CSRF, and applies the rate limit. */
export function registerAuthGuard(app: FastifyInstance, services: Services): void {
  app.decorateRequest('principal', null);

  app.addHook('onRequest', async (request, reply) => {
    const auth = request.routeOptions.config.auth;
    const guarded = request.url.startsWith('/api/');
    if (!auth) {
      if (guarded && request.routeOptions.url !== undefined) throw fail.route_unguarded('This route declares no access rule.');
      return;
    }
    // A refused request still gets the rate-limit headers and counts against its bucket (the
    // caller's, or its address's when the credentials are bad), so key guessing is throttled too.
    let refused: unknown = null;
    if (!('public' in auth)) {
      const signed = 'scope' in auth && auth.signedUrl === true && hasSignature(request);
      if (!signed) {
        try {
          request.principal = await authenticate(request, services, 'scope' in auth && auth.uploadToken === true);
          const pinnedToken = request.principal.via === 'upload_token' && 'scope' in auth && auth.uploadToken === true;
          if ('scope' in auth && !pinnedToken && !request.principal.scopes.includes(auth.scope)) {
            throw fail.insufficient_scope(`This request needs the ${auth.scope} scope.`, { context: { required_scope: auth.scope } });
          }
          if ('session' in auth && request.principal.via !== 'session') {
            throw fail.session_required('This route needs a signed-in session.');
          }
        } catch (error) {
          refused = error;
        }
      }
    }
    const plan = services.account.plan;
    // An upload token counts on a bucket of its transfer, not on its owner's: a file request's
    // uploader cannot spend the requester's limit or monthly quota.
    const token = request.principal?.via === 'upload_token' ? request.principal : null;
    const bucket = token ? `rl:upload:${token.transferId}` : request.principal ? `rl:user:${request.principal.userId}` : `rl:ip:${request.ip}`;
    const decision = await services.rateLimiter.consume(bucket, plan.requestsPerMinute, 60);
    reply.header('x-ratelimit-limit', decision.limit);
    reply.header('x-ratelimit-remaining', decision.remaining);
    reply.header('x-ratelimit-reset', decision.resetSeconds);
    reply.header('x-ferry-plan', plan.name);
    reply.header('x-quota-limit-month', plan.requestsPerMonth);
    let used = 0;
    if (request.principal && !token) {
      await services.account.recordRequest(request.principal.userId);
      used = await services.account.usedThisMonth(request.principal.userId);
    }
    reply.header('x-quota-used-month', used);
    reply.header('x-quota-overage', Math.max(0, used - plan.requestsPerMonth));
    reply.header('x-quota-overage-usd', '0.00');
    if (!decision.allowed) throw tooManyRequests(decision.resetSeconds);
    if (refused) throw refused;
  });
}

function hasSignature(request: FastifyRequest): boolean {
  const query = request.query as Record<string, unknown> | undefined;
  return typeof query?.signature === 'string' && typeof query.expires === 'string';
}

/** The transfer upload token, from X-Token (the Trinsfer header), X-Upload-Token or a Bearer. */
function uploadTokenOf(request: FastifyRequest): string | undefined {
  for (const name of ['x-token', 'x-upload-token']) {
    const value = request.headers[name];
    if (typeof value === 'string') return value.trim();
  }
  const bearer = /^Bearer\s+(fyu_\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return bearer?.[1];
}

async function authenticate(request: FastifyRequest, services: Services, acceptUploadToken: boolean): Promise<Principal> {
  const uploadToken = acceptUploadToken ? uploadTokenOf(request) : undefined;
  if (uploadToken !== undefined) return services.uploadTokens.authenticate(uploadToken);
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw fail.invalid_token('Authorization must be "Bearer <key>".');
    return services.keys.authenticate(match[1]!);
  }
  if (request.cookies[SESSION_COOKIE]) {
    const principal = await cookieSession(request, services);
    if (!principal) throw fail.invalid_token('The session has expired; sign in again.');
    return principal;
  }
  throw fail.missing_token('Send "Authorization: Bearer <key>" or sign in.');
}

/**
 * The live session the request's cookie names, or null when there is none. A write (any method
 * but GET, HEAD, OPTIONS) made with a live session must carry that session's X-CSRF-Token, else
 * 403 csrf_failed.
 */
export async function cookieSession(request: FastifyRequest, services: Services): Promise<Principal | null> {
  const token = request.cookies[SESSION_COOKIE];
  if (!token) return null;
  const session = await services.auth.resolveSession(token);
  if (!session) return null;
  if (!SAFE_METHODS.has(request.method)) {
    const csrf = request.headers['x-csrf-token'];
    if (typeof csrf !== 'string' || !safeEqual(sha256Hex(csrf), session.csrfHash)) {
      throw fail.csrf_failed('Cookie-authenticated writes need the X-CSRF-Token header given at sign-in.');
    }
  }
  return session.principal;
}
