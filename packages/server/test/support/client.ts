import type { App } from '../../src/app.ts';

/**
 * Where a test sends its requests: the in-process app (`inject`, no socket) or the base URL of a
 * listening server (`fetch`, real HTTP). The shared steps (sign-up, keys, transfers) take either,
 * so one definition serves the HTTP tier and the end-to-end tier.
 */
export type Target = App | string;

export interface JsonReply {
  status: number;
  headers: Headers;
  /** The API's JSON, loosely typed on purpose: tests assert on its shape. Text when the answer is not JSON. */
  body: any;
}

export interface CallOptions {
  /** An API key or upload token, sent as `Authorization: Bearer`. */
  key?: string;
  json?: unknown;
  body?: RequestInit['body'] | Uint8Array;
  headers?: Record<string, string>;
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** One request; the answer's body is parsed as JSON when it says so, else kept as text. Redirects are not followed. */
export async function call(target: Target, method: string, pathOrUrl: string, options: CallOptions = {}): Promise<JsonReply> {
  const headers: Record<string, string> = { ...options.headers, ...(options.key ? bearer(options.key) : {}) };
  let body = options.body;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  if (typeof target === 'string') {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${target}${pathOrUrl}`;
    // A copy on its own ArrayBuffer: what fetch's typings take (a Buffer may sit on a shared pool).
    const sent = body instanceof Uint8Array ? new Uint8Array(body) : body;
    const response = await fetch(url, { method, headers, body: sent, redirect: 'manual' });
    return reply(response.status, response.headers, await response.text());
  }
  const res = await target.inject({ method: method as 'GET', url: pathOf(pathOrUrl), headers, payload: injectable(body) });
  const answered = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    for (const one of [value].flat()) if (one !== undefined) answered.append(name, String(one));
  }
  return reply(res.statusCode, answered, res.body);
}

/** Throws `<step>: <status> <JSON answer>` unless the reply has `status`; answers the reply. */
export function expectStatus(step: string, reply: JsonReply, status: number): JsonReply {
  if (reply.status !== status) throw new Error(`${step}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply;
}

function reply(status: number, headers: Headers, text: string): JsonReply {
  const isJson = (headers.get('content-type') ?? '').includes('json') && text !== '';
  return { status, headers, body: isJson ? JSON.parse(text) : text };
}

function injectable(body: CallOptions['body']): string | Buffer | undefined {
  if (body === undefined || body === null || typeof body === 'string') return body ?? undefined;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new Error('call() through inject takes a string or bytes as body');
}

/** The path (and query) of a URL, for `inject`; a path is kept as it is. */
export const pathOf = (url: string): string => {
  if (!/^https?:/.test(url)) return url;
  const u = new URL(url);
  return u.pathname + u.search;
};

/** URLs in answers are built on FERRY_PUBLIC_URL; tests reach the same path on the real port. */
export const rebase = (baseUrl: string, url: string): string => `${baseUrl}${pathOf(url)}`;
