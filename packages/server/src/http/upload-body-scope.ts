import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fail } from '../errors.ts';
import type { UploadSlots } from '../services/upload-concurrency.ts';

/**
 * Whether a request of this route streams an upload body: `true` for every request, or a test on
 * the request for routes that also answer bodiless or JSON requests (tus POST with a final
 * concatenation, the file route's JSON declaration).
 */
export type StreamsBody = true | ((request: FastifyRequest) => boolean);

declare module 'fastify' {
  interface FastifyContextConfig {
    streamsBody?: StreamsBody;
  }
  interface FastifyRequest {
    /** The checked Content-Length of an upload body (undefined when chunked). */
    uploadContentLength?: number;
  }
}

export interface UploadBodyRules {
  slots: UploadSlots;
  idleTimeoutSeconds: number;
}

const routesOf = new WeakMap<object, string[]>();

/** The "METHOD url" of every route registered in an upload body scope of `app` (for the tests). */
export function uploadBodyRoutes(app: FastifyInstance): readonly string[] {
  return routesOf.get(app.server) ?? [];
}

/**
 * Turns `scope` into the one place body-streaming routes live. It parses no body (handlers stream
 * `request.raw` to storage), and every request that streams one gets, before a byte is read:
 * no compressed bodies (docs/security-checklist.md I103), a strict Content-Length (B20/B21), one of the account's
 * upload slots held until the response ends (I101), and a cut when the body idles (I100). A write
 * route registered here without `config.streamsBody` is refused at start-up, so a new upload
 * route cannot forget the rules.
 */
export function makeUploadBodyScope(scope: FastifyInstance, rules: UploadBodyRules): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
  const routes = routesOf.get(scope.server) ?? [];
  routesOf.set(scope.server, routes);

  scope.addHook('onRoute', (route) => {
    const methods = ([] as string[]).concat(route.method);
    const writes = methods.some((m) => m === 'POST' || m === 'PUT' || m === 'PATCH');
    if (!writes) return;
    if (route.config?.streamsBody === undefined) throw new Error(`${methods.join(',')} ${route.url} lives in the upload scope but does not say whether it streams a body`);
    for (const method of methods) routes.push(`${method} ${route.url}`);
  });

  scope.addHook('preHandler', async (request, reply) => {
    if (!streamsUploadBody(request) || !hasBody(request)) return;
    request.uploadContentLength = checkUploadHeaders(request);
    const principal = request.principal;
    if (!principal) throw fail.upload_unauthenticated('An upload needs an account.');
    // An upload token (a file request's stranger, a browser page) has the slots of its transfer,
    // never the owner's: holding them cannot stall the owner's own uploads.
    const holder = principal.via === 'upload_token' ? `transfer:${principal.transferId}` : principal.userId;
    holdSlotUntilResponse(reply, await rules.slots.acquire(holder));
    cutWhenIdle(request, reply, rules.idleTimeoutSeconds);
  });
}

/** Whether this request's route streams this request's body (see StreamsBody). */
export function streamsUploadBody(request: FastifyRequest): boolean {
  const streams = request.routeOptions.config.streamsBody;
  return streams !== undefined && (streams === true || streams(request));
}

/** HTTP/1.1: a request without Content-Length and Transfer-Encoding has no body (a tus creation). */
export function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return length === undefined ? request.headers['transfer-encoding'] !== undefined : length !== '0';
}

/** Upload headers: no compressed bodies, and a Content-Length that is a plain whole number. */
function checkUploadHeaders(request: FastifyRequest): number | undefined {
  const encoding = request.headers['content-encoding'];
  if (encoding !== undefined && encoding !== 'identity') {
    throw fail.unsupported_media_type('Compressed upload bodies are not accepted; send the raw bytes.');
  }
  return strictHeaderInteger(request.headers['content-length'], 'Content-Length');
}

/**
 * A header that must be a whole number (docs/security-checklist.md B20/B21): digits only, a safe integer. JS would
 * happily read `1e3`, `0x10` and `12abc` as numbers.
 */
export function strictHeaderInteger(value: string | undefined, header: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9]{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) throw fail.validation_failed(`${header} must be a whole number.`);
  return Number(value);
}

function holdSlotUntilResponse(reply: FastifyReply, release: () => void): void {
  reply.raw.once('close', release);
  // The client may have gone while the slot was being taken: 'close' has then already fired.
  if (reply.raw.closed || reply.raw.destroyed) release();
}

/**
 * An idle body is cut; what arrived stays stored where the protocol resumes (tus HEAD reports
 * it). The timer runs only while the body is read: once it has arrived the server is the slow one
 * (assembling or hashing a large file), which must never cost the client its answer.
 */
function cutWhenIdle(request: FastifyRequest, reply: FastifyReply, idleSeconds: number): void {
  const socket = request.raw.socket as Socket | undefined;
  if (typeof socket?.setTimeout !== 'function' || request.raw.readableEnded) return;
  const onIdle = () => socket.destroy();
  const disarm = () => {
    socket.off('timeout', onIdle);
    socket.setTimeout(0);
  };
  socket.setTimeout(idleSeconds * 1000);
  socket.on('timeout', onIdle);
  request.raw.once('end', disarm);
  // Only the listener goes: Node may already have set the kept-alive connection's own timeout.
  reply.raw.once('close', () => socket.off('timeout', onIdle));
}

/**
 * The body of an upload request, read through an iterator that leaves the request alone when the
 * reader stops early, so a 413 can still be answered on its socket.
 */
export async function* uploadBody(request: FastifyRequest): AsyncGenerator<Buffer> {
  for await (const chunk of request.raw.iterator({ destroyOnReturn: false })) yield chunk as Buffer;
}
