/**
 * Webhook deliveries across kill -9 of the real server process: jobs written before the crash are
 * delivered after the restart, each once, and a delivery cut in flight is sent again with the
 * same webhook-id (receivers deduplicate on it), ending succeeded.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { serverProcess, type ServerProcess } from '../support/server-process.ts';
import { createAccount } from '../support/accounts.ts';
import { call } from '../support/client.ts';
import { createTransfer } from '../support/transfers.ts';
import { waitFor } from '../support/e2e.ts';
import { WEBHOOK_SCOPES, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const ENV = {
  FERRY_WEBHOOK_ALLOW_HTTP: 'true',
  FERRY_WEBHOOK_ALLOW_PRIVATE: 'true',
  FERRY_WEBHOOK_PORTS: 'any',
  FERRY_JOBS_POLL_MS: '100',
  // A dead process's jobs are taken over this soon after it stops renewing their leases.
  FERRY_JOBS_LEASE_SECONDS: '2',
};

describe('webhooks across kill -9', () => {
  let server: ServerProcess | undefined;
  let receiver: WebhookReceiver | undefined;

  afterEach(async () => {
    await server?.dispose();
    await receiver?.close();
    server = receiver = undefined;
  });

  async function start(workerOnFirstRun: boolean) {
    receiver = await startWebhookReceiver();
    server = await serverProcess(ENV);
    await server.start({ FERRY_JOBS_WORKER: String(workerOnFirstRun) });
    const owner = await createAccount(server.baseUrl, 'crash-hooks@example.com', WEBHOOK_SCOPES);
    const created = await call(server.baseUrl, 'POST', '/api/v1/webhooks', { key: owner.key, json: { url: receiver.url, events: ['transfer.created'] } });
    expect(created.status).toBe(201);
    receiver.setSecrets([created.body.data.secret]);
    return { owner, webhookId: created.body.data.id as string };
  }

  const deliveries = async (key: string, webhookId: string) =>
    (await call(server!.baseUrl, 'GET', `/api/v1/webhooks/${webhookId}/deliveries`, { key })).body.data as any[];

  it('jobs pending at the crash are delivered after the restart, each exactly once', { timeout: 60_000 }, async () => {
    const { owner, webhookId } = await start(false);
    for (const title of ['one', 'two', 'three']) await createTransfer(server!.baseUrl, owner.key, { title });
    await server!.crash();
    expect(receiver!.requests).toHaveLength(0);

    await server!.start();
    await receiver!.waitForRequests(3, 20_000);
    await waitFor('deliveries recorded', async () => (await deliveries(owner.key, webhookId)).every((d) => d.state === 'succeeded'), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const ids = receiver!.requests.map((r) => r.headers['webhook-id']);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
    expect(receiver!.requests.map((r) => JSON.parse(r.body).data.transfer.title).sort()).toEqual(['one', 'three', 'two']);
    expect(receiver!.requests.every((r) => r.standardVerified && r.ferryVerified)).toBe(true);
  });

  it('a delivery cut in flight is sent again with the same webhook-id and ends succeeded', { timeout: 60_000 }, async () => {
    const { owner, webhookId } = await start(true);
    receiver!.respond({ hang: true });
    await createTransfer(server!.baseUrl, owner.key, { title: 'in flight' });
    await receiver!.waitForRequests(1, 20_000);
    await server!.crash();

    await server!.start();
    await receiver!.waitForRequests(2, 20_000);
    await waitFor('delivery succeeded', async () => (await deliveries(owner.key, webhookId))[0]?.state === 'succeeded', 10_000);
    const [first, second] = receiver!.requests;
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    expect(second!.body).toBe(first!.body);
    expect(second!.standardVerified && second!.ferryVerified).toBe(true);
  });
});
