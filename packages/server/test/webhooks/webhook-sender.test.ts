import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ForbiddenAddressError, createGuardedAgent } from '../../src/webhooks/guarded-agent.ts';
import { parseRetryAfter, sendWebhook } from '../../src/webhooks/webhook-sender.ts';
import { generateWebhookSecret, webhookHeaders } from '../../src/webhooks/webhook-signing.ts';
import { checkWebhookUrl, type Resolver, type WebhookPolicy } from '../../src/webhooks/webhook-url.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

// Real HTTP to a receiver on 127.0.0.1, reachable only under the explicit test setting. Refusals
// are asserted without any connection to the refused address.

const TESTING: WebhookPolicy = { allowHttp: true, allowPrivate: true, allowedPorts: 'any' };
const DEFAULTS: WebhookPolicy = { allowHttp: false, allowPrivate: false, allowedPorts: [80, 443] };

const secret = generateWebhookSecret();
const body = JSON.stringify({ type: 'transfer.ready', event: 'transfer.ready', timestamp: new Date().toISOString(), data: { id: 'tr_1' } });
const signed = (id = 'msg_test') => webhookHeaders({ id, type: 'transfer.ready', timestamp: new Date(), body, secrets: [secret] });

let receiver: WebhookReceiver;
const agent = createGuardedAgent({ policy: TESTING });
const send = (extra: Partial<Parameters<typeof sendWebhook>[0]> = {}) =>
  sendWebhook({ url: receiver.url, headers: signed(), body, policy: TESTING, agent, ...extra });

beforeAll(async () => {
  receiver = await startWebhookReceiver({ secrets: [secret] });
});
afterEach(() => {
  receiver.requests.length = 0;
});
afterAll(async () => {
  await receiver.close();
  await agent.close();
});

describe('sendWebhook', () => {
  it('a 2xx is ok; the receiver gets the JSON body, Ferry user agent and headers that verify', async () => {
    receiver.respond({ status: 200, body: 'thanks' });
    const attempt = await send();
    expect(attempt).toMatchObject({ ok: true, status: 200, error: null, gone: false, retryAfterSeconds: null, responseExcerpt: 'thanks' });
    expect(attempt.durationMs).toBeGreaterThanOrEqual(0);
    const [received] = receiver.requests;
    expect(received).toMatchObject({ method: 'POST', path: '/hook', body, standardVerified: true, ferryVerified: true });
    expect(received!.headers).toMatchObject({ 'content-type': 'application/json', 'user-agent': 'Ferry-Webhooks/1', 'x-ferry-delivery': 'msg_test', 'x-ferry-event': 'transfer.ready' });
  });

  it('a 500 is a failure with its status and the start of its body', async () => {
    receiver.respond({ status: 500, body: 'boom' });
    expect(await send()).toMatchObject({ ok: false, status: 500, error: 'unexpected_status', responseExcerpt: 'boom', gone: false });
  });

  it('a 302 to the metadata address is not followed and counts as a failure', async () => {
    receiver.respond({ status: 302, headers: { location: 'http://169.254.169.254/latest/meta-data/' } });
    expect(await send()).toMatchObject({ ok: false, status: 302, error: 'redirect_not_followed' });
    expect(receiver.requests).toHaveLength(1);
  });

  it('410 says the endpoint is gone', async () => {
    receiver.respond({ status: 410 });
    expect(await send()).toMatchObject({ ok: false, status: 410, gone: true });
  });

  it('Retry-After is read as seconds or as an HTTP date', async () => {
    receiver.respond({ status: 503, headers: { 'retry-after': '120' } }, { status: 429, headers: { 'retry-after': new Date(Date.now() + 90_000).toUTCString() } });
    expect(await send()).toMatchObject({ ok: false, status: 503, retryAfterSeconds: 120 });
    const dated = await send();
    expect(dated.retryAfterSeconds).toBeGreaterThanOrEqual(85);
    expect(dated.retryAfterSeconds).toBeLessThanOrEqual(91);
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT')).toBe(0);
  });

  it('a receiver that never answers is cut at the deadline', async () => {
    receiver.respond({ hang: true });
    const attempt = await send({ timeoutMs: 300 });
    expect(attempt).toMatchObject({ ok: false, status: null, error: 'timeout' });
    expect(attempt.durationMs).toBeGreaterThanOrEqual(250);
    expect(attempt.durationMs).toBeLessThan(3000);
    receiver.respond({ delayMs: 2000 });
    expect(await send({ timeoutMs: 300 })).toMatchObject({ ok: false, error: 'timeout' });
  });

  it('a receiver streaming 10 MB is read up to the cap only, then dropped', async () => {
    receiver.respond({ status: 200, streamBytes: 10 * 1024 * 1024 });
    const attempt = await send({ maxResponseBytes: 64 * 1024 });
    expect(attempt).toMatchObject({ ok: true, status: 200 });
    expect(attempt.responseExcerpt).toBe('x'.repeat(1024));
    const record = receiver.requests[0]!;
    for (let i = 0; i < 100 && record.responseFinished === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    expect(record.responseFinished).toBe(false);
    expect(record.bytesSent).toBeLessThan(10 * 1024 * 1024);
  });

  it('a closed port is connection_refused, a name that does not resolve dns_failure', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await send({ url: `http://127.0.0.1:${port}/hook` })).toMatchObject({ ok: false, status: null, error: 'connection_refused' });

    const nxdomain: Resolver = async (host) => {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    };
    const dnsAgent = createGuardedAgent({ policy: TESTING, resolve: nxdomain });
    expect(await send({ url: 'http://hooks.invalid/', agent: dnsAgent })).toMatchObject({ ok: false, error: 'dns_failure' });
    await dnsAgent.close();
  });
});

describe('the guarded agent at delivery', () => {
  it('the default settings refuse http://127.0.0.1 before any connection', async () => {
    const strict = createGuardedAgent({ policy: DEFAULTS });
    expect(await sendWebhook({ url: receiver.url, headers: signed(), body, policy: DEFAULTS, agent: strict })).toMatchObject({ ok: false, status: null, error: 'forbidden_url' });
    const httpOnly = { ...DEFAULTS, allowHttp: true, allowedPorts: 'any' as const };
    expect(await sendWebhook({ url: receiver.url, headers: signed(), body, policy: httpOnly, agent: strict })).toMatchObject({ ok: false, error: 'forbidden_address' });
    // The agent refuses IP literals itself too, for a caller that skipped the URL check.
    await expect(request(receiver.url, { method: 'POST', body, dispatcher: strict })).rejects.toBeInstanceOf(ForbiddenAddressError);
    await expect(request('http://[::ffff:7f00:1]:1/', { dispatcher: strict })).rejects.toBeInstanceOf(ForbiddenAddressError);
    expect(receiver.requests).toHaveLength(0);
    await strict.close();
  });

  it('DNS rebinding: public when registered, private at delivery, refused at delivery', async () => {
    let calls = 0;
    const rebinding: Resolver = async () => (calls++ === 0 ? [{ address: '93.184.215.14', family: 4 }] : [{ address: '10.0.0.8', family: 4 }]);
    const policy = { ...DEFAULTS, allowedPorts: 'any' as const };
    const url = await checkWebhookUrl('https://rebind.example.com/hook', policy, rebinding);
    const guarded = createGuardedAgent({ policy, resolve: rebinding });
    expect(await sendWebhook({ url, headers: signed(), body, policy, agent: guarded })).toMatchObject({ ok: false, status: null, error: 'forbidden_address' });
    expect(calls).toBe(2);
    await guarded.close();
  });

  it('connects to the address its own lookup checked (the name is never resolved again)', async () => {
    const seen: string[] = [];
    // hooks.test exists in no DNS: reaching the receiver proves the socket used this answer.
    const fake: Resolver = async (host) => {
      seen.push(host);
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const guarded = createGuardedAgent({ policy: TESTING, resolve: fake });
    const attempt = await sendWebhook({ url: `http://hooks.test:${receiver.port}/hook`, headers: signed(), body, policy: TESTING, agent: guarded });
    expect(attempt).toMatchObject({ ok: true, status: 200 });
    expect(seen).toEqual(['hooks.test']);
    expect(receiver.requests[0]!.headers.host).toBe(`hooks.test:${receiver.port}`);
    const metadataOnly = createGuardedAgent({ policy: TESTING, resolve: async () => [{ address: '169.254.169.254', family: 4 }] });
    expect(await sendWebhook({ url: `http://hooks.test:${receiver.port}/hook`, headers: signed(), body, policy: TESTING, agent: metadataOnly })).toMatchObject({ error: 'forbidden_address' });
    await Promise.all([guarded.close(), metadataOnly.close()]);
  });
});
