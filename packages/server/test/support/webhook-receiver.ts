import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { ALL_USER_SCOPES } from './accounts.ts';

/**
 * A webhook receiver on 127.0.0.1 for tests: it records each request's raw body and headers,
 * verifies it as a real receiver would (the `standardwebhooks` package, given the raw body, and
 * an HMAC of the body for X-Ferry-Signature computed here, independently of Ferry's code), and
 * answers what the test queued. Ferry must run with FERRY_WEBHOOK_ALLOW_PRIVATE and
 * FERRY_WEBHOOK_ALLOW_HTTP to reach it.
 */

export interface ReceiverResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Stream this many bytes of body instead (in 64 KiB chunks, honouring backpressure). */
  streamBytes?: number;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Never answer (the socket stays open until the client gives up or the receiver closes). */
  hang?: boolean;
}

export interface ReceivedWebhook {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** standardwebhooks' Webhook(secret).verify(body, headers) passed with one of the secrets. */
  standardVerified: boolean;
  /** X-Ferry-Signature equals sha256=<hex HMAC of the body> under one of the secrets' keys. */
  ferryVerified: boolean;
  /** Set once the answer ends: true when all of it was written, false when the client cut it. */
  responseFinished?: boolean;
  /** Body bytes written before the answer ended or was cut. */
  bytesSent: number;
}

export interface WebhookReceiver {
  url: string;
  port: number;
  requests: ReceivedWebhook[];
  /** Answers for the next requests, in order; later requests get `fallback` (200 by default). */
  respond(...responses: ReceiverResponse[]): void;
  /** Replaces the secrets used to verify (after a rotation). */
  setSecrets(secrets: string[]): void;
  /** Resolves once `count` requests have arrived (rejects after timeoutMs). */
  waitForRequests(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

/** Every user scope plus the webhook scopes, for accounts that manage webhooks. */
export const WEBHOOK_SCOPES = [...ALL_USER_SCOPES, 'webhooks:read', 'webhooks:write'];

export const ferryHmac = (secret: string, body: string): string =>
  `sha256=${createHmac('sha256', Buffer.from(secret.replace(/^whsec_/, ''), 'base64')).update(body).digest('hex')}`;

function verifies(secrets: string[], body: string, headers: http.IncomingHttpHeaders): { standard: boolean; ferry: boolean } {
  const flat = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)]));
  let standard = false;
  let ferry = false;
  for (const secret of secrets) {
    try {
      new Webhook(secret).verify(body, flat);
      standard = true;
    } catch {
      // Another secret may verify it.
    }
    if (flat['x-ferry-signature'] === ferryHmac(secret, body)) ferry = true;
  }
  return { standard, ferry };
}

export async function startWebhookReceiver(options: { secrets?: string[]; fallback?: ReceiverResponse } = {}): Promise<WebhookReceiver> {
  let secrets = options.secrets ?? [];
  const queue: ReceiverResponse[] = [];
  const requests: ReceivedWebhook[] = [];
  const waiters: Array<() => void> = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const { standard, ferry } = verifies(secrets, body, req.headers);
      const record: ReceivedWebhook = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, standardVerified: standard, ferryVerified: ferry, bytesSent: 0 };
      requests.push(record);
      for (const wake of waiters.splice(0)) wake();
      const answer = queue.shift() ?? options.fallback ?? {};
      if (answer.hang) return;
      res.on('close', () => {
        record.responseFinished = res.writableFinished;
      });
      setTimeout(() => void reply(res, answer, record), answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    requests,
    respond: (...responses) => void queue.push(...responses),
    setSecrets: (next) => void (secrets = next),
    async waitForRequests(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < count) {
        if (Date.now() > deadline) throw new Error(`receiver got ${requests.length} of ${count} requests`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      return requests;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function reply(res: http.ServerResponse, answer: ReceiverResponse, record: ReceivedWebhook): Promise<void> {
  if (res.destroyed) return;
  res.writeHead(answer.status ?? 200, answer.headers);
  if (answer.streamBytes === undefined) {
    const body = answer.body ?? '';
    record.bytesSent = Buffer.byteLength(body);
    res.end(body);
    return;
  }
  const chunk = Buffer.alloc(64 * 1024, 'x');
  while (record.bytesSent < answer.streamBytes && !res.destroyed) {
    const part = chunk.subarray(0, Math.min(chunk.length, answer.streamBytes - record.bytesSent));
    record.bytesSent += part.length;
    if (!res.write(part)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  if (!res.destroyed) res.end();
}
