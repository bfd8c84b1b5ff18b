/**
 * The job queue across real server processes: emails written before a kill -9 are sent after the
 * restart, each once; and two instances on one database share a burst of webhook deliveries,
 * both working on it, without ever sending one delivery twice. On the default stack the two
 * instances share one SQLite file; in the scale-out run, one PostgreSQL database (SKIP LOCKED).
 */
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.ts';
import { serverProcess, type ServerProcess } from '../support/server-process.ts';
import { createAccount } from '../support/accounts.ts';
import { call } from '../support/client.ts';
import { createTransfer } from '../support/transfers.ts';
import { waitFor } from '../support/e2e.ts';
import { createTestStack, type TestStack } from '../support/test-stack.ts';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.ts';
import { WEBHOOK_SCOPES, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const FAST_JOBS = { FERRY_JOBS_POLL_MS: '100', FERRY_JOBS_LEASE_SECONDS: '2' };
const HOOKS = { FERRY_WEBHOOK_ALLOW_HTTP: 'true', FERRY_WEBHOOK_ALLOW_PRIVATE: 'true', FERRY_WEBHOOK_PORTS: 'any' };

describe('jobs across processes', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('sends every email pending at a kill -9 after the restart, each once', { timeout: 60_000 }, async () => {
    const smtp: TestSmtpServer = await startSmtpServer();
    cleanups.push(() => smtp.close());
    // Retries come every few hundred milliseconds, so the emails are mid-schedule at the crash.
    const server = await serverProcess({ ...FAST_JOBS, FERRY_SMTP_URL: smtp.url, FERRY_JOBS_BACKOFF_SCALE: '0.01' });
    cleanups.push(() => server.dispose());
    // The mail server defers everything: the emails wait in the queue, retried, when the process dies.
    smtp.refuse({ stage: 'rcpt', code: 451, message: 'greylisted' });
    await server.start();
    const owner = await createAccount(server.baseUrl, 'crash-mail@example.com');
    const titles = ['alpha', 'beta', 'gamma'];
    for (const title of titles) {
      const t = await createTransfer(server.baseUrl, owner.key, { title, confirmation: true, recipients: [`${title}@example.com`], files: [{ name: 'a.txt', size: 3 }] });
      expect((await call(server.baseUrl, 'PUT', `/api/v1/transfers/${t.id}/files/${t.files[0].id}/content`, { key: owner.key, body: 'abc', headers: { 'content-type': 'application/octet-stream' } })).status).toBe(200);
      expect((await call(server.baseUrl, 'POST', `/api/v1/transfers/${t.id}/finalize`, { key: owner.key })).status).toBe(200);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    await server.crash();
    expect(smtp.messages).toHaveLength(0);

    smtp.acceptAll();
    await server.start();
    await waitFor('three confirmations and three links', async () => smtp.messages.length >= 6, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const sent = smtp.messages.map((m) => `${m.to} ${m.subject}`).sort();
    expect(sent).toEqual(
      titles.flatMap((t) => [`crash-mail@example.com Your transfer “${t}” is ready`, `${t}@example.com crash-mail@example.com sent you “${t}”`]).sort(),
    );
  });

  it('two instances on one database share a burst of deliveries, each delivered once', { timeout: 90_000 }, async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-two-'));
    const stack: TestStack = await createTestStack();
    cleanups.push(async () => {
      await stack.drop();
      await fsp.rm(dir, { recursive: true, force: true });
    });
    // Without a PostgreSQL server the two processes share one SQLite file.
    const shared = { FERRY_SECRET: 'two-instances-secret-'.padEnd(48, 'x'), ...(stack.env.FERRY_DATABASE_URL ? {} : { FERRY_DATABASE_URL: `sqlite://${path.join(dir, 'shared.db')}` }) };
    const databaseUrl = stack.env.FERRY_DATABASE_URL ?? shared.FERRY_DATABASE_URL!;
    const receiver: WebhookReceiver = await startWebhookReceiver({ fallback: { status: 200, delayMs: 1000 } });
    cleanups.push(() => receiver.close());
    const one: ServerProcess = await serverProcess({ ...FAST_JOBS, ...HOOKS, ...shared }, { stack });
    const two: ServerProcess = await serverProcess({ ...FAST_JOBS, ...HOOKS, ...shared }, { stack });
    cleanups.push(() => one.dispose(), () => two.dispose());
    // The first instance takes the API calls without working the queue, so the burst waits for both.
    await one.start({ FERRY_JOBS_WORKER: 'false' });
    // Ten owners: more deliveries may run at once (4 per owner) than one process runs (32).
    const OWNERS = 10;
    const TRANSFERS = 12;
    const COUNT = OWNERS * TRANSFERS;
    const secrets: string[] = [];
    for (let o = 0; o < OWNERS; o += 1) {
      const owner = await createAccount(one.baseUrl, `two-instances-${o}@example.com`, WEBHOOK_SCOPES);
      const hook = await call(one.baseUrl, 'POST', '/api/v1/webhooks', { key: owner.key, json: { url: `${receiver.url}?owner=${o}`, events: ['transfer.created'] } });
      expect(hook.status).toBe(201);
      secrets.push(hook.body.data.secret);
      for (let i = 0; i < TRANSFERS; i += 1) await createTransfer(one.baseUrl, owner.key, { title: `burst ${o}.${i}` });
    }
    receiver.setSecrets(secrets);
    await one.stop();
    await Promise.all([one.start(), two.start()]);

    await receiver.waitForRequests(COUNT, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const ids = receiver.requests.map((r) => r.headers['webhook-id']);
    expect(ids).toHaveLength(COUNT);
    expect(new Set(ids).size).toBe(COUNT);
    expect(receiver.requests.every((r) => r.standardVerified && r.ferryVerified)).toBe(true);

    const db = await openDatabase(databaseUrl);
    try {
      const done = await db.db.selectFrom('jobs').select(['lease_owner', 'state']).where('kind', '=', 'webhook.deliver').execute();
      expect(done).toHaveLength(COUNT);
      expect(done.every((j) => j.state === 'done')).toBe(true);
      // Both processes delivered part of the burst.
      expect(new Set(done.map((j) => j.lease_owner)).size).toBe(2);
    } finally {
      await db.close();
    }
  });
});
