import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { generateWebhookSecret, secretKey, signFerry, signStandard, verifyFerrySignature, webhookHeaders } from './webhook-signing.ts';

const body = JSON.stringify({ type: 'transfer.ready', event: 'transfer.ready', timestamp: '2025-01-01T00:00:00.000Z', data: { id: 'tr_x', name: 'Ünïcode ✓' } });

describe('webhook secrets', () => {
  it('are whsec_ + base64 of 32 random bytes, each one new', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(secretKey(secret)).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(secret);
  });

  it('anything else is refused as a key', () => {
    for (const bad of ['', 'whsec_', 'sk_abc', 'whsec_!!!!', `whsec_${Buffer.alloc(8).toString('base64')}`]) expect(() => secretKey(bad), bad).toThrow();
  });
});

describe('webhookHeaders', () => {
  it('verify with the standardwebhooks package unchanged, given the raw body', () => {
    const secret = generateWebhookSecret();
    const headers = webhookHeaders({ id: 'msg_2b8Xa', type: 'transfer.ready', timestamp: new Date(), body, secrets: [secret] });
    expect(Object.keys(headers).sort()).toEqual(['webhook-id', 'webhook-signature', 'webhook-timestamp', 'x-ferry-delivery', 'x-ferry-event', 'x-ferry-signature']);
    expect(headers).toMatchObject({ 'webhook-id': 'msg_2b8Xa', 'x-ferry-delivery': 'msg_2b8Xa', 'x-ferry-event': 'transfer.ready' });
    expect(headers['webhook-timestamp']).toMatch(/^\d{10}$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    // The package's own signature is the same value.
    const wh = new Webhook(secret);
    expect(headers['webhook-signature']).toBe(wh.sign('msg_2b8Xa', new Date(Number(headers['webhook-timestamp']) * 1000), body));
  });

  it('a changed body, id, timestamp or another secret does not verify', () => {
    const secret = generateWebhookSecret();
    const headers = webhookHeaders({ id: 'msg_1', type: 'transfer.ready', timestamp: new Date(), body, secrets: [secret] });
    const wh = new Webhook(secret);
    expect(() => wh.verify(`${body} `, headers)).toThrow();
    expect(() => wh.verify(body, { ...headers, 'webhook-id': 'msg_2' })).toThrow();
    expect(() => wh.verify(body, { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) + 1) })).toThrow();
    expect(() => new Webhook(generateWebhookSecret()).verify(body, headers)).toThrow();
    // Receivers refuse stale timestamps (replays), and the signature covers the timestamp.
    const old = webhookHeaders({ id: 'msg_1', type: 'transfer.ready', timestamp: new Date(Date.now() - 10 * 60_000), body, secrets: [secret] });
    expect(() => wh.verify(body, old)).toThrow(/timestamp/i);
  });

  it('during a rotation both the new and the old secret verify; X-Ferry-Signature uses the newest', () => {
    const oldSecret = generateWebhookSecret();
    const newSecret = generateWebhookSecret();
    const headers = webhookHeaders({ id: 'msg_rot', type: 'file.uploaded', timestamp: new Date(), body, secrets: [newSecret, oldSecret] });
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=* v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(newSecret).verify(body, headers)).toBeTruthy();
    expect(new Webhook(oldSecret).verify(body, headers)).toBeTruthy();
    const hmac = (secret: string) => `sha256=${createHmac('sha256', Buffer.from(secret.slice(6), 'base64')).update(body).digest('hex')}`;
    expect(headers['x-ferry-signature']).toBe(hmac(newSecret));
  });

  it('X-Ferry-Signature is sha256=<hex HMAC-SHA256 of the raw body> under the decoded secret', () => {
    const secret = generateWebhookSecret();
    const headers = webhookHeaders({ id: 'msg_f', type: 'transfer.ready', timestamp: new Date(), body, secrets: [secret] });
    const expected = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64')).update(Buffer.from(body, 'utf8')).digest('hex');
    expect(headers['x-ferry-signature']).toBe(`sha256=${expected}`);
    expect(signFerry(secret, body)).toBe(`sha256=${expected}`);
  });

  it('verifyFerrySignature accepts any active secret and nothing else', () => {
    const [a, b] = [generateWebhookSecret(), generateWebhookSecret()];
    const header = signFerry(a, body);
    expect(verifyFerrySignature([b, a], body, header)).toBe(true);
    expect(verifyFerrySignature([b], body, header)).toBe(false);
    expect(verifyFerrySignature([a], `${body}x`, header)).toBe(false);
    expect(verifyFerrySignature([a], body, header.slice(0, -1))).toBe(false);
  });

  it('signStandard matches the published Standard Webhooks test vector', () => {
    // From the Standard Webhooks specification's reference libraries.
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const payload = '{"test": 2432232314}';
    expect(signStandard([secret], 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, payload)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });
});
