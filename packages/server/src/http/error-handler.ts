import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ERRORS, type ErrorCode } from '../errors.ts';
import { dependencyDown } from './dependency-errors.ts';

export interface Envelope {
  error: { code: ErrorCode; message: string; details?: unknown };
  [key: string]: unknown;
}

/** A code and the status the error table gives it: a mapping cannot drift from the table. */
type Mapped = { [C in ErrorCode]: { status: (typeof ERRORS)[C]['status']; code: C; message?: string } }[ErrorCode];

/** Fastify's own errors for client input, mapped to our stable codes. */
const FASTIFY_CODES: Record<string, Mapped> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_content_length' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid_json' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_json' },
  FST_ERR_BAD_URL: { status: 400, code: 'bad_url' },
  // A path segment longer than the router accepts cannot be any id we issue.
  FST_ERR_MAX_PARAM_LENGTH: { status: 404, code: 'not_found', message: 'Resource not found.' },
  FST_ERR_ASYNC_CONSTRAINT: { status: 400, code: 'bad_request' },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_REQ_FILE_TOO_LARGE: { status: 413, code: 'payload_too_large' },
  FST_PARTS_LIMIT: { status: 413, code: 'payload_too_large' },
  FST_FILES_LIMIT: { status: 413, code: 'payload_too_large' },
  FST_FIELDS_LIMIT: { status: 413, code: 'payload_too_large' },
};

/** One envelope for every error; a 5xx never carries internals, only the request id. */
export function toEnvelope(error: unknown, requestId: string): { status: number; body: Envelope; headers: Record<string, string> } {
  if (!(error instanceof AppError)) {
    const down = dependencyDown(error);
    if (down) error = down;
  }
  if (error instanceof AppError) {
    const body: Envelope = { error: { code: error.code, message: error.message }, ...error.context };
    if (error.details !== undefined) body.error.details = error.details;
    if (error.status >= 500) body.request_id = requestId;
    return { status: error.status, body, headers: error.headers };
  }
  const fastifyError = error as FastifyError & { validation?: unknown[]; validationContext?: string };
  // A path that does not match an id's shape names nothing that exists.
  if (fastifyError?.validation && fastifyError.validationContext === 'params') {
    return { status: 404, body: { error: { code: 'not_found', message: 'Resource not found.' } }, headers: {} };
  }
  if (fastifyError?.validation) {
    const message = `${fastifyError.validationContext ?? 'request'}: ${fastifyError.message.replace(/^\w+\/?/, '').trim() || 'invalid input'}`;
    return {
      status: 400,
      body: { error: { code: 'validation_failed', message, details: fastifyError.validation } },
      headers: {},
    };
  }
  const mapped = fastifyError?.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) return { status: mapped.status, body: { error: { code: mapped.code, message: mapped.message ?? fastifyError.message } }, headers: {} };
  const status = typeof fastifyError?.statusCode === 'number' ? fastifyError.statusCode : 500;
  if (status >= 400 && status < 500) {
    return { status, body: { error: { code: 'bad_request', message: fastifyError.message } }, headers: {} };
  }
  return {
    status: 500,
    body: { error: { code: 'server_error', message: 'Something went wrong on our side; retry later.' }, request_id: requestId },
    headers: {},
  };
}

/**
 * For Fastify's `frameworkErrors` option: errors the router raises before any route or hook runs
 * (malformed percent-encoding, an over-long path parameter) get the same envelope and request id.
 */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const { status, body, headers } = toEnvelope(error, request.id);
  void reply.code(status).headers(headers).header('x-request-id', request.id).type('application/json; charset=utf-8').send(body);
}

/**
 * Renders an error as a page for a client that asked for one (see `useErrorPages`). Answers the
 * HTML and the headers that go with it, or null to send the JSON envelope after all.
 */
export type ErrorPageRenderer = (request: FastifyRequest, status: number, body: Envelope) => { html: string; headers: Readonly<Record<string, string>> } | null;

/** Logs and answers one error: the envelope, or the page `render` makes of it. */
function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply, render?: ErrorPageRenderer): void {
  const { status, body, headers } = toEnvelope(error, request.id);
  // Planned 5xx answers (503 at shutdown, 507 disk full) are states, not bugs: no stack trace.
  if (error instanceof AppError && status >= 500) request.log.warn({ code: body.error.code, status }, 'request refused');
  else if (status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ code: body.error.code, status }, 'request refused');
  // A body we stopped reading must not be left on a kept-alive connection.
  const hasBody = request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;
  if (hasBody && !request.raw.complete) reply.header('connection', 'close');
  const page = render?.(request, status, body) ?? null;
  // Where an error may be a page or an envelope, the answer depends on Accept: a shared cache
  // must neither keep it nor hand one client's form to another.
  if (render) void reply.header('vary', 'Accept').header('cache-control', 'no-store');
  if (page === null) {
    void reply.code(status).headers(headers).type('application/json; charset=utf-8').send(body);
    return;
  }
  // Headers of a download that failed after they were set would make the page an attachment.
  for (const name of ['content-disposition', 'content-range', 'etag', 'last-modified', 'accept-ranges']) reply.removeHeader(name);
  void reply.code(status).headers({ ...page.headers, ...headers }).type('text/html; charset=utf-8').send(page.html);
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request: FastifyRequest, reply: FastifyReply) => sendError(error, request, reply));

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: { code: 'not_found', message: `No route for ${request.method} ${request.url.split('?')[0]}.` } } satisfies Envelope);
  });
}

/**
 * Errors of the routes in `scope` (hooks and validation included) go through `render` first, so
 * a scope serving browsers can answer pages without each route deciding.
 */
export function useErrorPages(scope: FastifyInstance, render: ErrorPageRenderer): void {
  scope.setErrorHandler((error, request: FastifyRequest, reply: FastifyReply) => sendError(error, request, reply, render));
}
