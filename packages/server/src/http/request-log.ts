import type { FastifyRequest, FastifyServerOptions } from 'fastify';

/**
 * What request logs may hold. Credentials travel in headers (never logged: the request
 * serializer leaves headers out, and the redact paths catch them should a log line include
 * them) and, for signed links, in the query string: `signature`, and names such as `token`,
 * `key`, `password` or `X-Amz-Credential` that a client may send anyway. Their values are
 * replaced before the URL is written, and so is the token of a recipient's link (/d/{token}), so a
 * log file never holds a working link.
 */

const CENSOR = '[redacted]';

// Matched against the whole parameter name, case-insensitively: `signature`, `X-Amz-Signature`,
// `sig`, `token`, `access_token`, `key`, `api_key`, `secret`, `password`, `X-Amz-Credential`...
const SECRET_PARAMETER = /(signature|^sig$|token|key|secret|passw(or)?d|credential|^auth)/i;

const REDACTED_HEADERS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'req.headers["x-ferry-access-token"]',
  'req.headers["x-token"]',
  'req.headers["x-upload-token"]',
  'res.headers["set-cookie"]',
];

/**
 * Links whose path carries a credential: a recipient's own link (it names them and opens the
 * transfer) and a file request's link (whoever holds it may upload into the requester's account).
 */
const TOKEN_PATHS: [RegExp, string][] = [
  [/^\/d\/[^/?#]+/, '/d/'],
  [/^\/r\/[^/?#]+/, '/r/'],
  [/^\/api\/v1\/public\/file-requests\/[^/?#]+/, '/api/v1/public/file-requests/'],
  [/^\/api\/v1\/file-requests\/(?!frq_)[^/?#]+/, '/api/v1/file-requests/'],
];

/**
 * `url` with the values of credential-like query parameters and a recipient link's token
 * replaced; the rest kept as sent.
 */
export function redactUrl(raw: string): string {
  const url = TOKEN_PATHS.reduce((u, [pattern, prefix]) => u.replace(pattern, `${prefix}${CENSOR}`), raw);
  const q = url.indexOf('?');
  if (q === -1) return url;
  const hash = url.indexOf('#', q);
  const query = url.slice(q + 1, hash === -1 ? undefined : hash);
  const redacted = query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq === -1 ? pair : pair.slice(0, eq);
      if (eq === -1 || !SECRET_PARAMETER.test(safeDecode(rawName))) return pair;
      return `${rawName}=${CENSOR}`;
    })
    .join('&');
  return `${url.slice(0, q + 1)}${redacted}${hash === -1 ? '' : url.slice(hash)}`;
}

function safeDecode(component: string): string {
  try {
    return decodeURIComponent(component.replace(/\+/g, ' '));
  } catch {
    return component;
  }
}

/** Fastify's request serializer with the URL redacted (the same fields otherwise). */
function serializeRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: redactUrl(request.url),
    version: request.headers?.['accept-version'],
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

type LoggerOptions = Exclude<FastifyServerOptions['logger'], boolean | undefined>;

/** The caller's logger options (level, stream...) with Ferry's request redaction added. */
export function withRequestRedaction(options: LoggerOptions): LoggerOptions {
  const own = options as { serializers?: Record<string, unknown>; redact?: { paths?: string[] } | string[] };
  const extraPaths = Array.isArray(own.redact) ? own.redact : (own.redact?.paths ?? []);
  return {
    ...options,
    serializers: { ...own.serializers, req: serializeRequest },
    redact: { paths: [...REDACTED_HEADERS, ...extraPaths], censor: CENSOR },
  } as LoggerOptions;
}
