import { request, type Dispatcher } from 'undici';
import { AppError } from '../errors.ts';
import { checkWebhookUrlSyntax, type WebhookPolicy } from './webhook-url.ts';

/**
 * One HTTP attempt of one webhook delivery. It never throws for anything the network or the
 * receiver does: every outcome is a `WebhookAttempt` the caller records and schedules on.
 * Only a 2xx counts; redirects are not followed (undici's `request` follows none) and count as
 * failures; the whole attempt, headers and body, has one deadline; at most `maxResponseBytes` of
 * the answer are read before the connection is dropped.
 */

export const USER_AGENT = 'Ferry-Webhooks/1';
export const DEFAULT_TIMEOUT_MS = 15_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;
const EXCERPT_BYTES = 1024;

export interface SendWebhookInput {
  url: string;
  /** The signature headers (webhookHeaders) and any others; Content-Type and User-Agent are set here. */
  headers: Record<string, string>;
  body: string;
  timeoutMs?: number;
  maxResponseBytes?: number;
  /** Checked again before sending: the settings may have changed since the URL was registered. */
  policy: WebhookPolicy;
  /** The guarded agent (createGuardedAgent) built with the same policy. */
  agent: Dispatcher;
  /** Cuts the attempt short (a shutdown); the result then reads as a timeout. */
  signal?: AbortSignal;
}

/**
 * Short failure codes (never a stack or a message from a library): `forbidden_url` (the URL no
 * longer passes the checks), `forbidden_address`, `dns_failure`, `connection_refused`,
 * `connection_reset`, `host_unreachable`, `tls_error`, `timeout`, `redirect_not_followed` (3xx),
 * `unexpected_status` (any other non-2xx), `request_failed` (anything else).
 */
export type WebhookFailure =
  | 'forbidden_url' | 'forbidden_address' | 'dns_failure' | 'connection_refused' | 'connection_reset'
  | 'host_unreachable' | 'tls_error' | 'timeout' | 'redirect_not_followed' | 'unexpected_status' | 'request_failed';

export interface WebhookAttempt {
  /** A 2xx status was received. */
  ok: boolean;
  /** The receiver's status, or null when none came. */
  status: number | null;
  durationMs: number;
  /** Retry-After of the answer in seconds (delta-seconds or an HTTP date), or null. */
  retryAfterSeconds: number | null;
  /** The start of the response body as text, at most 1 KiB, for the deliveries log. */
  responseExcerpt: string;
  /** Null when ok. */
  error: WebhookFailure | null;
  /** The receiver answered 410 Gone: the endpoint should be disabled. */
  gone: boolean;
}

export async function sendWebhook(input: SendWebhookInput): Promise<WebhookAttempt> {
  const { url, body, policy, agent, timeoutMs = DEFAULT_TIMEOUT_MS, maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES } = input;
  const started = performance.now();
  const result = (fields: Partial<WebhookAttempt>): WebhookAttempt => ({
    ok: false,
    status: null,
    durationMs: Math.round(performance.now() - started),
    retryAfterSeconds: null,
    responseExcerpt: '',
    error: null,
    gone: false,
    ...fields,
  });
  try {
    checkWebhookUrlSyntax(url, policy);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    const reason = (error.details as { reason?: string } | undefined)?.reason;
    return result({ error: reason === 'address' ? 'forbidden_address' : 'forbidden_url' });
  }

  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('webhook attempt timed out')), timeoutMs);
  const stop = () => controller.abort(new Error('webhook attempt interrupted'));
  if (input.signal?.aborted) stop();
  input.signal?.addEventListener('abort', stop, { once: true });
  try {
    const response = await request(url, {
      method: 'POST',
      dispatcher: agent,
      headers: { ...withoutOwnHeaders(input.headers), 'content-type': 'application/json', 'user-agent': USER_AGENT },
      body,
      signal: controller.signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const status = response.statusCode;
    const retryAfterSeconds = parseRetryAfter(response.headers['retry-after']);
    let excerpt = '';
    try {
      excerpt = await readCapped(response.body, maxResponseBytes);
    } catch {
      // The body was cut (deadline, reset): the status alone decides, as the receiver has answered.
    }
    const ok = status >= 200 && status < 300;
    return result({
      ok,
      status,
      retryAfterSeconds,
      responseExcerpt: excerpt,
      error: ok ? null : status >= 300 && status < 400 ? 'redirect_not_followed' : 'unexpected_status',
      gone: status === 410,
    });
  } catch (error) {
    return result({ error: controller.signal.aborted ? 'timeout' : classify(error) });
  } finally {
    clearTimeout(timer);
    input.signal?.removeEventListener('abort', stop);
  }
}

/**
 * Reads at most `max` bytes, then destroys the body (and with it the connection). Only the first
 * 1 KiB is kept; the rest is read so that a receiver answering a short body keeps its connection.
 */
async function readCapped(body: Dispatcher.ResponseData['body'], max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let kept = 0;
  let total = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (kept < EXCERPT_BYTES) {
        const part = chunk.subarray(0, EXCERPT_BYTES - kept);
        chunks.push(part);
        kept += part.length;
      }
      total += chunk.length;
      if (total >= max) break;
    }
  } finally {
    if (!body.destroyed) body.destroy();
  }
  return Buffer.concat(chunks).toString('utf8');
}

const withoutOwnHeaders = (headers: Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !['content-type', 'user-agent'].includes(name.toLowerCase())));

/** Retry-After as whole seconds from now: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | null {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!raw) return null;
  if (/^\d+$/.test(raw)) return Number(raw);
  const date = Date.parse(raw);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

const CODES: Record<string, WebhookFailure> = {
  ERR_FERRY_FORBIDDEN_ADDRESS: 'forbidden_address',
  ENOTFOUND: 'dns_failure',
  EAI_AGAIN: 'dns_failure',
  EAI_FAIL: 'dns_failure',
  EAI_NODATA: 'dns_failure',
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  UND_ERR_SOCKET: 'connection_reset',
  UND_ERR_CLOSED: 'connection_reset',
  EHOSTUNREACH: 'host_unreachable',
  ENETUNREACH: 'host_unreachable',
  ETIMEDOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
};

/** Maps a connection error (possibly wrapped in `cause` or an AggregateError) to a short code. */
function classify(error: unknown, depth = 0): WebhookFailure {
  if (depth > 4 || error === null || typeof error !== 'object') return 'request_failed';
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (code in CODES) return CODES[code]!;
    if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT|SELF_SIGNED/.test(code)) return 'tls_error';
  }
  const nested = error instanceof AggregateError ? error.errors[0] : (error as { cause?: unknown }).cause;
  return nested === undefined ? 'request_failed' : classify(nested, depth + 1);
}
