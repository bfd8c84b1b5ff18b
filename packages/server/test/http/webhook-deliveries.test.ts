import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, startHarness, type Harness } from '../support/harness.ts';
import { readyTransfer } from '../support/transfers.ts';
import { bytes } from '../support/http.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const TEST_ENV = { FERRY_WEBHOOK_ALLOW_HTTP: 'true', FERRY_WEBHOOK_ALLOW_PRIVATE: 'true', FERRY_WEBHOOK_PORTS: 'any', FERRY_JOBS_BACKOFF_SCALE: '0.001' };

let h: Harness;
let receiver: WebhookReceiver;

beforeAll(async () => {
  h = await startHarness(TEST_ENV);
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await receiver.close();
  await h.close();
});

describe('webhook deliveries', () => {
  it('a transfer lifecycle reaches the receiver signed, one delivery per event', async () => {
    const account = await createAccount(h.app, 'deliveries@example.com');
    const { secret } = await h.app.services.webhooks.create(account.userId, { url: receiver.url, events: ['*'] });
    receiver.setSecrets([secret]);
    const t = await readyTransfer(h.app, account.key, [{ name: 'a.bin', content: bytes(100) }]);
    await h.jobs.drain();
    const types = receiver.requests.map((r) => JSON.parse(r.body).type);
    expect(types).toEqual(expect.arrayContaining(['transfer.created', 'file.uploaded', 'transfer.ready']));
    for (const r of receiver.requests) expect([r.standardVerified, r.ferryVerified]).toEqual([true, true]);
    const ready = JSON.parse(receiver.requests.find((r) => JSON.parse(r.body).type === 'transfer.ready')!.body);
    expect(ready).toMatchObject({ type: 'transfer.ready', event: 'transfer.ready', data: { transfer: { id: t.transfer.id, state: 'ready' } } });
  });
});
