import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { readyTransfer } from '../support/transfers.ts';
import { bytes, expectData } from '../support/http.ts';
import { EVENT_TYPES } from '../../src/events/event-types.ts';
import { createTestStack } from '../support/test-stack.ts';
import { WEBHOOK_SCOPES, ferryHmac, startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../support/webhook-receiver.ts';

/**
 * Deliveries to a real receiver on 127.0.0.1 (reachable only under the explicit test settings),
 * each verified as a receiver would: the standardwebhooks package and an HMAC of the body. Retries
 * are stepped through with the harness clock: `drain()` runs what is due now.
 */

const REACH_LOOPBACK = { FERRY_WEBHOOK_ALLOW_HTTP: 'true', FERRY_WEBHOOK_ALLOW_PRIVATE: 'true', FERRY_WEBHOOK_PORTS: 'any' };

interface Setup {
  h: Harness;
  receiver: WebhookReceiver;
  key: string;
  webhook: { id: string; secret: string };
  api(method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object): Promise<any>;
  deliveries(): Promise<any[]>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Every event but api_key.used, which each API call makes anew whenever the clock moves a minute. */
const QUIET_EVENTS = EVENT_TYPES.filter((type) => type !== 'api_key.used');

async function setup(env: Record<string, string> = {}, events: string[] = QUIET_EVENTS): Promise<Setup> {
  const h = await startHarness({ ...REACH_LOOPBACK, ...env });
  cleanups.push(() => h.close());
  const receiver = await startWebhookReceiver();
  cleanups.push(() => receiver.close());
  const { key } = await createAccount(h.app, 'receiver-owner@example.com', WEBHOOK_SCOPES);
  const api = async (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) => {
    const res = await h.app.inject({ method, url, headers: bearer(key), ...(payload ? { payload } : {}) });
    expect(res.statusCode, res.body).toBeLessThan(300);
    return res.json().data;
  };
  const webhook = await api('POST', '/api/v1/webhooks', { url: receiver.url, events });
  receiver.setSecrets([webhook.secret]);
  return { h, receiver, key, webhook, api, deliveries: () => api('GET', `/api/v1/webhooks/${webhook.id}/deliveries`) };
}

const typeOf = (r: ReceivedWebhook) => JSON.parse(r.body).type as string;
const SECOND = 1000;
const HOUR = 3600 * SECOND;

describe('webhook deliveries', () => {
  it('a transfer lifecycle reaches the receiver: each event once, signed, with its data and no secrets', async () => {
    const { h, receiver, key, webhook, deliveries } = await setup({}, ['transfer.created', 'file.uploaded', 'transfer.ready']);
    const t = await readyTransfer(h.app, key, [{ name: 'a.bin', content: bytes(100) }], { password: 'hunter2 secret' });
    await h.jobs.drain();
    expect(receiver.requests.map(typeOf).sort()).toEqual(['file.uploaded', 'transfer.created', 'transfer.ready']);
    const listed = await deliveries();
    for (const r of receiver.requests) {
      expect([r.standardVerified, r.ferryVerified]).toEqual([true, true]);
      const body = JSON.parse(r.body);
      expect(Object.keys(body)).toEqual(['type', 'event', 'timestamp', 'data']);
      expect(body.event).toBe(body.type);
      expect(r.headers['x-ferry-event']).toBe(body.type);
      expect(r.headers['x-ferry-delivery']).toBe(r.headers['webhook-id']);
      expect(listed.find((d: any) => d.id === r.headers['webhook-id'])).toMatchObject({ event: body.type, state: 'succeeded', attempts: 1, response_status: 200 });
    }
    const byType = Object.fromEntries(receiver.requests.map((r) => [typeOf(r), JSON.parse(r.body).data]));
    expect(byType['transfer.ready']).toMatchObject({ transfer: { id: t.transfer.id, state: 'ready', password_protected: true } });
    expect(byType['file.uploaded']).toMatchObject({ transfer: { id: t.transfer.id }, file: { name: 'a.bin', size: 100 } });
    const everything = receiver.requests.map((r) => r.body).join('');
    for (const secret of ['hunter2', t.link.slice(3), 'fyu_', webhook.secret.slice(6, 30), key]) expect(everything).not.toContain(secret);
  });

  it('filters by event type: a list gets only its types, "*" gets all', async () => {
    const { h, receiver, key, api } = await setup({}, ['transfer.ready']);
    const everything = await startWebhookReceiver();
    cleanups.push(() => everything.close());
    const all = await api('POST', '/api/v1/webhooks', { url: everything.url, events: ['*'] });
    everything.setSecrets([all.secret]);
    await readyTransfer(h.app, key, [{ name: 'a.bin', content: bytes(10) }]);
    await h.jobs.drain();
    expect(receiver.requests.map(typeOf)).toEqual(['transfer.ready']);
    expect(everything.requests.map(typeOf)).toEqual(expect.arrayContaining(['transfer.created', 'file.uploaded', 'transfer.ready']));
    expect(everything.requests.every((r) => r.standardVerified && r.ferryVerified)).toBe(true);
  });

  it('a 500 is retried on the schedule with the same delivery id, each attempt recorded, until a 2xx', async () => {
    const { h, receiver, webhook, api, deliveries } = await setup();
    receiver.respond({ status: 500, body: 'boom' }, { status: 503, body: 'still down' });
    const queued = await api('POST', `/api/v1/webhooks/${webhook.id}/test`);
    await h.jobs.drain();
    expect(receiver.requests).toHaveLength(1);
    let [delivery] = await deliveries();
    expect(delivery).toMatchObject({ id: queued.id, state: 'pending', attempts: 1, response_status: 500, response_excerpt: 'boom', last_error: 'unexpected_status: HTTP 500' });
    const due = Date.parse(delivery.next_attempt_at) - h.clock.now().getTime();
    expect(due).toBeGreaterThan(3 * SECOND);
    expect(due).toBeLessThan(7 * SECOND);
    expect((await api('GET', `/api/v1/webhooks/${webhook.id}`)).failing_since).not.toBeNull();

    h.clock.advance(7 * SECOND); // the 5 s retry
    await h.jobs.drain();
    h.clock.advance(7 * 60 * SECOND); // the 5 min retry
    await h.jobs.drain();
    expect(receiver.requests).toHaveLength(3);
    expect(new Set(receiver.requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([queued.id]));
    expect(new Set(receiver.requests.map((r) => r.body)).size).toBe(1);
    [delivery] = await deliveries();
    expect(delivery).toMatchObject({ id: queued.id, state: 'succeeded', attempts: 3, response_status: 200, last_error: null, next_attempt_at: null });
    expect(delivery.delivered_at).not.toBeNull();
    expect((await api('GET', `/api/v1/webhooks/${webhook.id}`)).failing_since).toBeNull();
  });

  it('a 302 is not followed and counts as a failure', async () => {
    const { h, receiver, webhook, api, deliveries } = await setup();
    receiver.respond({ status: 302, headers: { location: 'http://169.254.169.254/latest/meta-data/' } });
    await api('POST', `/api/v1/webhooks/${webhook.id}/test`);
    await h.jobs.drain();
    expect(receiver.requests).toHaveLength(1);
    expect((await deliveries())[0]).toMatchObject({ state: 'pending', attempts: 1, response_status: 302, last_error: 'redirect_not_followed: HTTP 302' });
  });

  it('Retry-After is honoured when it asks for more than the schedule', async () => {
    const { h, receiver, webhook, api, deliveries } = await setup();
    receiver.respond({ status: 429, headers: { 'retry-after': '120' } });
    await api('POST', `/api/v1/webhooks/${webhook.id}/test`);
    await h.jobs.drain();
    const [delivery] = await deliveries();
    expect(Date.parse(delivery.next_attempt_at) - h.clock.now().getTime()).toBeGreaterThan(115 * SECOND);
    h.clock.advance(60 * SECOND); // past the 5 s of the schedule, short of Retry-After
    await h.jobs.drain();
    expect(receiver.requests).toHaveLength(1);
    h.clock.advance(61 * SECOND);
    await h.jobs.drain();
    expect(receiver.requests).toHaveLength(2);
    expect((await deliveries())[0]).toMatchObject({ state: 'succeeded', attempts: 2 });
  });

  it('410 disables the endpoint at once, queues the owner email, and nothing more is sent', async () => {
    const { h, receiver, key, webhook, api, deliveries } = await setup();
    receiver.respond({ status: 410 });
    await api('POST', `/api/v1/webhooks/${webhook.id}/test`);
    await h.jobs.drain();
    expect((await deliveries())[0]).toMatchObject({ state: 'failed', attempts: 1, response_status: 410, next_attempt_at: null });
    expect(await api('GET', `/api/v1/webhooks/${webhook.id}`)).toMatchObject({ enabled: false, disabled_reason: 'The receiver answered 410 Gone.' });
    const emails = await h.database.db.selectFrom('jobs').select(['payload', 'state']).where('kind', '=', 'email.webhook_disabled').execute();
    expect(emails.map((e) => JSON.parse(e.payload))).toEqual([{ endpointId: webhook.id }]);
    // Without SMTP the owner's email is written to the outbox folder.
    const outbox = path.join(h.dataDir, 'outbox');
    const written = await Promise.all((await fs.readdir(outbox)).map(async (name) => simpleParser(await fs.readFile(path.join(outbox, name)))));
    const notice = written.filter((mail) => mail.subject === 'A webhook endpoint was disabled');
    expect(notice).toHaveLength(1);
    expect(notice[0]!.text).toContain('The receiver answered 410 Gone.');

    // Later events make no delivery; a queued test fails without a request.
    await readyTransfer(h.app, key, [{ name: 'a.bin', content: bytes(10) }]);
    await api('POST', `/api/v1/webhooks/${webhook.id}/test`);
    await h.jobs.drain();
    h.clock.advance(HOUR);
    await h.jobs.drain();
    expect(receiver.requests).toHaveLength(1);
    const after = await deliveries();
    expect(after).toHaveLength(2);
    expect(after[0]).toMatchObject({ event: 'webhook.test', state: 'failed', attempts: 0, last_error: 'endpoint_disabled: The receiver answered 410 Gone.' });

    // Re-enabling forgets it; deliveries flow again.
    expect(await api('PATCH', `/api/v1/webhooks/${webhook.id}`, { enabled: true })).toMatchObject({ enabled: true, disabled_reason: null, failing_since: null });
    await api('POST', `/api/v1/webhooks/${webhook.id}/test`);
    await h.jobs.drain();
    expect(receiver.requests).toHaveLength(2);
  });

  it('an endpoint failing for a day is disabled and its owner emailed; the delivery ends failed', async () => {
    const { h, receiver, webhook, api, deliveries } = await setup();
    receiver.respond(...Array.from({ length: 10 }, () => ({ status: 500 })));
    await api('POST', `/api/v1/webhooks/${webhook.id}/test`);
    await h.jobs.drain();
    // Each step a little over the longest its retry may wait (the schedule's delay + 20 % jitter).
    for (const step of [10 * SECOND, 7 * 60 * SECOND, 40 * 60 * SECOND, 2.5 * HOUR, 6.1 * HOUR, 12.1 * HOUR]) {
      h.clock.advance(step);
      await h.jobs.drain();
    }
    // 1 + 6 attempts over ~21.5 h: still enabled and pending.
    expect(receiver.requests).toHaveLength(7);
    expect(await api('GET', `/api/v1/webhooks/${webhook.id}`)).toMatchObject({ enabled: true });
    h.clock.advance(12.1 * HOUR);
    await h.jobs.drain();
    expect(receiver.requests).toHaveLength(8);
    const endpoint = await api('GET', `/api/v1/webhooks/${webhook.id}`);
    expect(endpoint).toMatchObject({ enabled: false });
    expect(endpoint.disabled_reason).toMatch(/^No delivery succeeded for more than 24 hours/);
    expect((await deliveries())[0]).toMatchObject({ state: 'failed', attempts: 8, next_attempt_at: null });
    const emails = await h.database.db.selectFrom('jobs').select('payload').where('kind', '=', 'email.webhook_disabled').execute();
    expect(emails.map((e) => JSON.parse(e.payload))).toEqual([{ endpointId: webhook.id }]);
  });

  it('a delivery whose attempts run out ends failed (shrunk schedule); the endpoint, failing for less than a day, stays enabled', async () => {
    const { h, receiver, webhook, api, deliveries } = await setup({ FERRY_JOBS_BACKOFF_SCALE: '0.001' });
    receiver.respond(...Array.from({ length: 10 }, () => ({ status: 500 })));
    await api('POST', `/api/v1/webhooks/${webhook.id}/test`);
    for (let i = 0; i < 10; i++) {
      h.clock.advance(60 * SECOND);
      await h.jobs.drain();
    }
    expect(receiver.requests).toHaveLength(8);
    expect((await deliveries())[0]).toMatchObject({ state: 'failed', attempts: 8, next_attempt_at: null, last_error: 'unexpected_status: HTTP 500' });
    expect(await api('GET', `/api/v1/webhooks/${webhook.id}`)).toMatchObject({ enabled: true });
  });

  it('redelivery sends the same id and body again, verifiable', async () => {
    const { h, receiver, webhook, api, deliveries } = await setup();
    const queued = await api('POST', `/api/v1/webhooks/${webhook.id}/test`);
    await h.jobs.drain();
    const again = await api('POST', `/api/v1/webhooks/deliveries/${queued.id}/redeliver`);
    expect(again).toMatchObject({ id: queued.id, state: 'pending' });
    await h.jobs.drain();
    expect(receiver.requests).toHaveLength(2);
    const [first, second] = receiver.requests;
    expect(second!.headers['webhook-id']).toBe(queued.id);
    expect(second!.body).toBe(first!.body);
    expect([second!.standardVerified, second!.ferryVerified]).toEqual([true, true]);
    expect((await deliveries())[0]).toMatchObject({ id: queued.id, state: 'succeeded', attempts: 2 });
  });

  it('rotation: for 24 h both secrets sign webhook-signature, then only the new one', async () => {
    const { h, receiver, webhook, api } = await setup();
    const rotated = await api('POST', `/api/v1/webhooks/${webhook.id}/rotate-secret`);
    await api('POST', `/api/v1/webhooks/${webhook.id}/test`);
    await h.jobs.drain();
    const during = receiver.requests[0]!;
    expect(during.standardVerified).toBe(true); // verified with the old secret alone
    receiver.setSecrets([rotated.secret]);
    await api('POST', `/api/v1/webhooks/${webhook.id}/test`);
    await h.jobs.drain();
    expect([receiver.requests[1]!.standardVerified, receiver.requests[1]!.ferryVerified]).toEqual([true, true]);
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(during.headers['x-ferry-signature']).toBe(ferryHmac(rotated.secret, during.body));

    h.clock.advance(25 * HOUR);
    await api('POST', `/api/v1/webhooks/${webhook.id}/test`);
    await h.jobs.drain();
    const after = receiver.requests[2]!;
    // The harness clock is a day ahead, so the timestamp check would refuse it: the signatures are checked by hand.
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(after.headers['x-ferry-signature']).toBe(ferryHmac(rotated.secret, after.body));
  });

  it('a receiver that never answers is cut at the timeout and retried', async () => {
    const { h, receiver, webhook, api, deliveries } = await setup({ FERRY_WEBHOOK_TIMEOUT_MS: '300' });
    receiver.respond({ hang: true });
    await api('POST', `/api/v1/webhooks/${webhook.id}/test`);
    await h.jobs.drain();
    const [delivery] = await deliveries();
    expect(delivery).toMatchObject({ state: 'pending', attempts: 1, response_status: null, last_error: 'timeout' });
    expect(delivery.duration_ms).toBeGreaterThanOrEqual(250);
    expect(delivery.duration_ms).toBeLessThan(5000);
  });
});

describe('a URL allowed at registration but refused at delivery', () => {
  it('fails without connecting once the server no longer allows private addresses', async () => {
    const stack = await createTestStack();
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-webhook-policy-'));
    const receiver = await startWebhookReceiver();
    cleanups.push(async () => {
      await receiver.close();
      await stack.drop();
      await fs.rm(dataDir, { recursive: true, force: true });
    });
    const permissive = await startHarness(REACH_LOOPBACK, { stack, dataDir });
    const { key } = await createAccount(permissive.app, 'policy@example.com', WEBHOOK_SCOPES);
    const ids: string[] = [];
    for (const url of [receiver.url, receiver.url.replace('127.0.0.1', 'localhost')]) {
      const { id } = expectData(await permissive.app.inject({ method: 'POST', url: '/api/v1/webhooks', headers: bearer(key), payload: { url, events: ['transfer.ready'] } }), 201);
      expectData(await permissive.app.inject({ method: 'POST', url: `/api/v1/webhooks/${id}/test`, headers: bearer(key) }), 202);
      ids.push(id);
    }
    await permissive.close();

    // Same database; http and any port still allowed, private addresses no longer.
    const strict = await startHarness({ FERRY_WEBHOOK_ALLOW_HTTP: 'true', FERRY_WEBHOOK_PORTS: 'any' }, { stack, dataDir });
    cleanups.push(() => strict.close());
    await strict.jobs.drain();
    expect(receiver.requests).toHaveLength(0);
    const errors = [];
    for (const id of ids) {
      const [delivery] = expectData(await strict.app.inject({ method: 'GET', url: `/api/v1/webhooks/${id}/deliveries`, headers: bearer(key) }));
      expect(delivery).toMatchObject({ event: 'webhook.test', state: 'pending', attempts: 1, response_status: null });
      errors.push(delivery.last_error);
    }
    expect(errors).toEqual(['forbidden_address', 'forbidden_url']);
  });
});
