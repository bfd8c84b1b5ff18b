import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { expectData, expectError, type Injected } from '../support/http.ts';
import { WEBHOOK_SCOPES } from '../support/webhook-receiver.ts';

/**
 * The webhook endpoint API: shapes, the secret shown once and stored sealed, isolation between
 * accounts, the per-account cap under racing creations, the SSRF refusals under the DEFAULT
 * settings (no request is ever made to a refused address) and bad input.
 */

const expectDeleted = (res: Injected) => expect(res.statusCode, res.body).toBe(204);
const ghost = (prefix: 'wh' | 'whd') => `${prefix}_${'A'.repeat(22)}`;

let h: Harness;
let key: string;
let other: string;

beforeAll(async () => {
  // Default SSRF settings (https only, ports 80/443, no private addresses); a small cap.
  h = await startHarness({ FERRY_MAX_WEBHOOKS_PER_ACCOUNT: '4' });
  ({ key } = await createAccount(h.app, 'hooks@example.com', WEBHOOK_SCOPES));
  ({ key: other } = await createAccount(h.app, 'other-hooks@example.com', WEBHOOK_SCOPES));
});
afterAll(() => h.close());

const api = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, as = key, payload?: unknown) =>
  h.app.inject({ method, url, headers: bearer(as), ...(payload === undefined ? {} : { payload: payload as object }) });

/** Registers an endpoint directly at a public IP literal (no DNS needed, never called here). */
const register = (as = key, extra: Record<string, unknown> = {}) => api('POST', '/api/v1/webhooks', as, { url: 'https://93.184.215.14/hooks', events: ['*'], ...extra });

describe('webhook endpoints API', () => {
  it('creates an endpoint, shows the secret once and stores it sealed', async () => {
    const created = expectData(await register(key, { events: ['transfer.ready', 'file.uploaded', 'transfer.ready'], description: '  CI hook  ' }), 201);
    expect(created).toMatchObject({ url: 'https://93.184.215.14/hooks', events: ['transfer.ready', 'file.uploaded'], description: 'CI hook', enabled: true, disabled_at: null, failing_since: null });
    expect(created.id).toMatch(/^wh_[0-9a-zA-Z]{22}$/);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);

    const got = expectData(await api('GET', `/api/v1/webhooks/${created.id}`));
    const listed = await api('GET', '/api/v1/webhooks');
    expect(got).not.toHaveProperty('secret');
    expect(got).toEqual((({ secret: _secret, ...rest }) => rest)(created));
    expect(listed.json().pagination).toMatchObject({ limit: 20, offset: 0, total: 1 });
    for (const body of [JSON.stringify(got), listed.body]) expect(body).not.toContain(created.secret.slice(6, 30));

    const stored = await h.database.db.selectFrom('webhook_endpoints').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow();
    expect(stored.secret).toMatch(/^v1\./);
    expect(JSON.stringify(stored)).not.toContain(created.secret.slice(6, 30));
    expectDeleted(await api('DELETE', `/api/v1/webhooks/${created.id}`));
  });

  it('patches url, events, description and enabled; rotation answers a new secret once', async () => {
    const { id, secret } = expectData(await register(), 201);
    const disabled = expectData(await api('PATCH', `/api/v1/webhooks/${id}`, key, { enabled: false, events: ['transfer.deleted'], description: null }));
    expect(disabled).toMatchObject({ enabled: false, disabled_reason: 'Disabled by its owner.', events: ['transfer.deleted'], description: null });
    expect(disabled.disabled_at).not.toBeNull();
    const enabled = expectData(await api('PATCH', `/api/v1/webhooks/${id}`, key, { enabled: true, url: 'https://93.184.215.15/other' }));
    expect(enabled).toMatchObject({ enabled: true, disabled_at: null, disabled_reason: null, url: 'https://93.184.215.15/other' });
    const rotated = expectData(await api('POST', `/api/v1/webhooks/${id}/rotate-secret`));
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(secret);
    expect(Date.parse(rotated.previous_secret_expires_at) - Date.now()).toBeGreaterThan(23 * 3600_000);
    expect(expectData(await api('GET', `/api/v1/webhooks/${id}`))).not.toHaveProperty('secret');
    expectDeleted(await api('DELETE', `/api/v1/webhooks/${id}`));
    expectError(await api('GET', `/api/v1/webhooks/${id}`), 404, 'not_found');
  });

  it("another account's endpoints and deliveries are 404, and lists hold only one's own", async () => {
    const { id } = expectData(await register(), 201);
    const delivery = expectData(await api('POST', `/api/v1/webhooks/${id}/test`), 202);
    expect(delivery).toMatchObject({ webhook_id: id, event: 'webhook.test', state: 'pending', attempts: 0 });
    for (const [method, url, payload] of [
      ['GET', `/api/v1/webhooks/${id}`],
      ['PATCH', `/api/v1/webhooks/${id}`, { enabled: false }],
      ['DELETE', `/api/v1/webhooks/${id}`],
      ['POST', `/api/v1/webhooks/${id}/rotate-secret`],
      ['POST', `/api/v1/webhooks/${id}/test`],
      ['GET', `/api/v1/webhooks/${id}/deliveries`],
      ['POST', `/api/v1/webhooks/deliveries/${delivery.id}/redeliver`],
      ['GET', `/api/v1/webhooks/${ghost('wh')}`],
      ['POST', `/api/v1/webhooks/deliveries/${ghost('whd')}/redeliver`],
    ] as const) {
      expectError(await api(method, url, other, payload), 404, 'not_found');
    }
    expect((await api('GET', '/api/v1/webhooks', other)).json()).toMatchObject({ data: [], pagination: { total: 0 } });
    const mine = await api('GET', `/api/v1/webhooks/${id}/deliveries`);
    expect(mine.json()).toMatchObject({ data: [{ id: delivery.id }], pagination: { total: 1 } });
    expect(expectData(await api('GET', `/api/v1/webhooks/${id}`))).toMatchObject({ enabled: true });
    expectDeleted(await api('DELETE', `/api/v1/webhooks/${id}`));
  });

  it('needs the webhooks scopes', async () => {
    const narrow = await createAccount(h.app, 'narrow-hooks@example.com', ['transfers:read']);
    expectError(await api('GET', '/api/v1/webhooks', narrow.key), 403, 'insufficient_scope');
    expectError(await register(narrow.key), 403, 'insufficient_scope');
    const reader = await createAccount(h.app, 'reader-hooks@example.com', ['webhooks:read']);
    expectError(await register(reader.key), 403, 'insufficient_scope');
    expectData(await api('GET', '/api/v1/webhooks', reader.key));
  });

  it('caps endpoints per account, also when creations race', async () => {
    const capped = await createAccount(h.app, 'capped-hooks@example.com', WEBHOOK_SCOPES);
    const answers = await Promise.all(Array.from({ length: 7 }, () => register(capped.key)));
    expect(answers.filter((r) => r.statusCode === 201)).toHaveLength(4);
    for (const refused of answers.filter((r) => r.statusCode !== 201)) {
      expect(expectError(refused, 403, 'webhook_limit_reached')).toMatchObject({ max_webhooks: 4 });
    }
    expect((await api('GET', '/api/v1/webhooks', capped.key)).json().pagination.total).toBe(4);
    // Deleting one frees a place.
    const [first] = expectData(await api('GET', '/api/v1/webhooks', capped.key));
    expectDeleted(await api('DELETE', `/api/v1/webhooks/${first.id}`, capped.key));
    expectData(await register(capped.key), 201);
  });
});

describe('webhook URLs refused under the default settings (nothing is ever connected to)', () => {
  const refusals: Array<[string, string]> = [
    ['http://127.0.0.1:8080/hook', 'http'],
    ['https://127.0.0.1/hook', 'address'],
    ['https://localhost/hook', 'host'],
    ['https://localhost./hook', 'host'],
    ['https://[::1]/hook', 'address'],
    ['https://0.0.0.0/hook', 'address'],
    ['https://169.254.169.254/latest/meta-data/', 'address'],
    ['https://metadata.google.internal/', 'host'],
    ['https://[fd00:ec2::254]/', 'address'],
    ['https://10.1.2.3/', 'address'],
    ['https://172.16.0.1/', 'address'],
    ['https://192.168.1.1/', 'address'],
    ['https://100.64.0.1/', 'address'],
    ['https://[fe80::1]/', 'address'],
    ['https://[::ffff:127.0.0.1]/', 'address'],
    ['https://2130706433/', 'address'],
    ['https://0x7f000001/', 'address'],
    ['https://0177.0.0.1/', 'address'],
    ['https://127.1/', 'address'],
    ['ftp://93.184.215.14/', 'scheme'],
    ['file:///etc/passwd', 'scheme'],
    ['https://user:pass@93.184.215.14/', 'credentials'],
    ['https://93.184.215.14:8443/', 'port'],
    [`https://93.184.215.14/${'a'.repeat(2100)}`, 'length'],
  ];

  it.each(refusals)('%s at registration (%s)', async (url, reason) => {
    const refused = expectError(await register(key, { url }), 400, 'webhook_url_forbidden');
    expect(refused.error.details).toEqual({ reason });
  });

  it('a PATCH to a forbidden URL is refused and changes nothing', async () => {
    const { id } = expectData(await register(), 201);
    expectError(await api('PATCH', `/api/v1/webhooks/${id}`, key, { url: 'https://169.254.169.254/', events: ['transfer.ready'] }), 400, 'webhook_url_forbidden');
    expect(expectData(await api('GET', `/api/v1/webhooks/${id}`))).toMatchObject({ url: 'https://93.184.215.14/hooks', events: ['*'] });
    expectDeleted(await api('DELETE', `/api/v1/webhooks/${id}`));
    expect((await api('GET', '/api/v1/webhooks')).json().pagination.total).toBe(0);
  });
});

describe('bad input', () => {
  it.each([
    ['unknown event', { url: 'https://93.184.215.14/', events: ['transfer.exploded'] }],
    ['no events', { url: 'https://93.184.215.14/', events: [] }],
    ['events not a list', { url: 'https://93.184.215.14/', events: 'transfer.ready' }],
    ['no url', { events: ['*'] }],
    ['not a URL', { url: 'not a url', events: ['*'] }],
    ['url not a string', { url: 42, events: ['*'] }],
    ['unknown field', { url: 'https://93.184.215.14/', events: ['*'], secret: 'whsec_mine' }],
    ['description too long', { url: 'https://93.184.215.14/', events: ['*'], description: 'x'.repeat(501) }],
    ['NUL in the description', { url: 'https://93.184.215.14/', events: ['*'], description: 'a\u0000b' }],
  ])('POST with %s is 400 and creates nothing', async (_why, body) => {
    expectError(await api('POST', '/api/v1/webhooks', key, body), 400, 'validation_failed');
    expect((await api('GET', '/api/v1/webhooks')).json().pagination.total).toBe(0);
  });

  it('names the unknown events', async () => {
    const refused = expectError(await api('POST', '/api/v1/webhooks', key, { url: 'https://93.184.215.14/', events: ['transfer.ready', 'nope'] }), 400, 'validation_failed');
    expect(refused.error.details).toEqual({ unknown_events: ['nope'] });
  });

  it('bad ids, PATCH bodies and filters are 400', async () => {
    const { id } = expectData(await register(), 201);
    // Malformed ids name nothing: 404, as for any id that is not one's own.
    expectError(await api('GET', '/api/v1/webhooks/wh_short'), 404, 'not_found');
    expectError(await api('POST', `/api/v1/webhooks/deliveries/${id}/redeliver`), 404, 'not_found');
    expectError(await api('PATCH', `/api/v1/webhooks/${id}`, key, { enabled: 'yes' }), 400, 'validation_failed');
    expectError(await api('PATCH', `/api/v1/webhooks/${id}`, key, { events: ['*', 'bogus'] }), 400, 'validation_failed');
    expectError(await api('PATCH', `/api/v1/webhooks/${id}`, key, { secret: 'x' }), 400, 'validation_failed');
    expectError(await api('GET', `/api/v1/webhooks/${id}/deliveries?state=lost`), 400, 'validation_failed');
    expectError(await api('GET', '/api/v1/webhooks?limit=1000'), 400, 'validation_failed');
    expect(expectData(await api('GET', `/api/v1/webhooks/${id}`))).toMatchObject({ enabled: true, events: ['*'] });
    expectDeleted(await api('DELETE', `/api/v1/webhooks/${id}`));
  });
});

describe('OpenAPI', () => {
  it('documents every webhook route with its tag, operationId, bodies and the views (no secret outside create and rotate)', async () => {
    const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const operations = Object.entries(doc.paths as Record<string, Record<string, any>>)
      .filter(([path]) => path.startsWith('/api/v1/webhooks'))
      .flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));
    expect(operations.map((o) => o.op.operationId).sort()).toEqual([
      'createWebhook', 'deleteWebhook', 'getWebhook', 'listWebhookDeliveries', 'listWebhooks', 'redeliverWebhook', 'rotateWebhookSecret', 'testWebhook', 'updateWebhook',
    ]);
    for (const { path, method, op } of operations) {
      expect(op.tags, `${method} ${path}`).toEqual(['webhooks']);
      expect(Object.keys(op.responses), `${method} ${path}`).toEqual(expect.arrayContaining(['401', '403', '500']));
    }
    expect(doc.paths['/api/v1/webhooks'].post.requestBody.content['application/json'].schema.required).toEqual(['url', 'events']);
    expect(doc.paths['/api/v1/webhooks/{id}'].patch.requestBody).toBeDefined();
    expect(Object.keys(doc.components.schemas.Webhook.properties)).not.toContain('secret');
    expect(doc.components.schemas.WebhookDelivery.properties.state).toBeDefined();
  });
});
