import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { tooManyRequests } from '../../errors.ts';
import { cookieSession, SESSION_COOKIE } from '../auth-guard.ts';
import { Data, DateTime, errorResponses, Passwords } from '../schemas.ts';
import type { RouteContext } from './index.ts';

const Email = Type.String({ minLength: 3, maxLength: 320 });

/** The device cookie: sent only to the sign-in route, where it is the browser's proof of an earlier sign-in. */
const DEVICE_COOKIE = 'ferry_device';
const LOGIN_PATH = '/api/v1/auth/login';

export function authRoutes(server: FastifyInstance, { services, config }: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['auth'];

  app.post('/api/v1/auth/signup', {
    config: { auth: { public: true } },
    bodyLimit: 16 * 1024,
    schema: {
      tags,
      summary: 'Create an account',
      description:
        'The first account becomes admin. Later sign-ups follow FERRY_SIGNUP (open, invite, closed). The answer is the same ' +
        'whether or not the email already had an account (a taken email creates nothing), so sign-up alone reveals nothing; sign ' +
        'in next. With FERRY_SIGNUP=invite an accepted invite is used up whatever the outcome, a taken email included, so each ' +
        'invite can test at most one email.',
      security: [],
      body: Type.Object({ email: Email, password: Passwords.account, name: Type.Optional(Type.String({ maxLength: 200 })), invite: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false }),
      response: { 202: Data(Type.Object({ status: Type.Literal('accepted'), message: Type.String() })), ...errorResponses(400, 403, 413) },
    },
  }, async (request, reply) => {
    // Each sign-up costs an argon2 hash: bound it per address like sign-in.
    const limit = await services.rateLimiter.consume(`signup:ip:${request.ip}`, 30, 600);
    if (!limit.allowed) throw tooManyRequests(limit.resetSeconds, 'Too many sign-ups from this address; retry later.');
    await services.auth.signup(request.body);
    return reply.code(202).send({
      data: { status: 'accepted' as const, message: 'If this email can be registered, its account is ready: sign in with POST /api/v1/auth/login.' },
    });
  });

  app.post(LOGIN_PATH, {
    config: { auth: { public: true } },
    bodyLimit: 16 * 1024,
    schema: {
      tags,
      summary: 'Sign in',
      description:
        'Sets the HttpOnly session cookie and returns the CSRF token that cookie-authenticated writes must send as X-CSRF-Token. ' +
        'Throttled per address and per email (registered or not): after FERRY_LOGIN_FAILURES_BEFORE_DELAY failed attempts, each ' +
        'further attempt for that email must wait 1, 2, 4 ... seconds up to FERRY_LOGIN_MAX_DELAY after the previous one; an ' +
        'attempt made sooner answers 429 rate_limited with Retry-After, even with the right password. A success clears the count. ' +
        `Every success also sets the ${DEVICE_COOKIE} cookie (HttpOnly, SameSite=Lax, Secure per FERRY_COOKIE_SECURE, one year, ` +
        `path ${LOGIN_PATH}): signed by the server, bound to that email and a random nonce, naming neither. A sign-in to the same ` +
        'email that carries it skips the email\'s delay, so someone guessing cannot lock the owner out of a browser they used ' +
        'before; that browser has its own count on the same schedule instead, and after twice FERRY_LOGIN_FAILURES_BEFORE_DELAY ' +
        'failures its cookie is ignored until it expires. A cookie for another email, altered or expired counts as none.',
      security: [],
      body: Type.Object({ email: Email, password: Passwords.signIn }, { additionalProperties: false }),
      response: {
        200: Data(Type.Object({
          user: Type.Object({ id: Type.String(), email: Type.String(), name: Type.Union([Type.String(), Type.Null()]), is_admin: Type.Boolean() }),
          csrf_token: Type.String(),
          expires_at: DateTime,
        })),
        ...errorResponses(400, 401, 413),
      },
    },
  }, async (request, reply) => {
    const limit = await services.rateLimiter.consume(`login:ip:${request.ip}`, 20, 300);
    if (!limit.allowed) throw tooManyRequests(limit.resetSeconds, 'Too many sign-in attempts; retry later.');
    const session = await services.auth.login(request.body.email, request.body.password, request.cookies[DEVICE_COOKIE]);
    void reply.setCookie(SESSION_COOKIE, session.token, {
      httpOnly: true,
      sameSite: 'lax',
      secure: config.cookieSecure,
      path: '/',
      expires: session.expiresAt,
    });
    void reply.setCookie(DEVICE_COOKIE, session.device.token, {
      httpOnly: true,
      sameSite: 'lax',
      secure: config.cookieSecure,
      path: LOGIN_PATH,
      maxAge: session.device.maxAgeSeconds,
    });
    const { user } = session;
    return {
      data: {
        user: { id: user.id, email: user.email, name: user.name, is_admin: user.is_admin === 1 },
        csrf_token: session.csrfToken,
        expires_at: session.expiresAt.toISOString(),
      },
    };
  });

  app.post('/api/v1/auth/logout', {
    // Public so that signing out without a live session still answers 204 and clears the cookie;
    // ending a live session is a cookie-authenticated write and needs its CSRF token.
    config: { auth: { public: true } },
    schema: {
      tags,
      summary: 'Sign out',
      description: 'Ends the session of the cookie. With a live session, X-CSRF-Token is required (403 csrf_failed without it); without one, answers 204 all the same.',
      security: [],
      response: { 204: Type.Null(), ...errorResponses(403) },
    },
  }, async (request, reply) => {
    if (await cookieSession(request, services)) await services.auth.logout(request.cookies[SESSION_COOKIE]!);
    void reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.code(204).send(null);
  });

  app.post('/api/v1/admin/invites', {
    config: { auth: { scope: 'admin' } },
    schema: {
      tags: ['admin'],
      summary: 'Create a sign-up invite (FERRY_SIGNUP=invite)',
      response: { 201: Data(Type.Object({ invite: Type.String(), expires_at: DateTime })), ...errorResponses(401, 403) },
    },
  }, async (request, reply) => {
    const invite = await services.auth.createInvite(request.principal!.userId);
    return reply.code(201).send({ data: { invite: invite.token, expires_at: invite.expiresAt.toISOString() } });
  });
}
