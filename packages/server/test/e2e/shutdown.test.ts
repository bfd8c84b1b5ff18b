import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { serverProcess, type ServerProcess } from '../support/server-process.ts';
import { createAccount } from '../support/accounts.ts';
import { createTransfer } from '../support/transfers.ts';

describe('SIGTERM', () => {
  let server: ServerProcess | undefined;
  afterEach(async () => server?.dispose());

  it('stops accepting, ends a stalled upload cleanly within the grace, and exits 0', async () => {
    server = await serverProcess({ FERRY_SHUTDOWN_GRACE: '1' });
    const run = await server.start();
    const { key } = await createAccount(server.baseUrl, 'owner@example.com');
    const { id, files } = await createTransfer(server.baseUrl, key, { title: 'shutdown', files: [{ name: 'slow.bin', size: 1_000_000 }] });

    // An upload that sends half its body and then stalls, as a client on a bad network would.
    const url = new URL(`${server.baseUrl}/api/v1/transfers/${id}/files/${files[0].id}/content`);
    const upload = http.request(url, { method: 'PUT', headers: { authorization: `Bearer ${key}`, 'content-length': '1000000' } });
    const uploadEnded = new Promise<string>((resolve) => {
      upload.on('response', (res) => resolve(`status ${res.statusCode}`));
      upload.on('error', (err) => resolve(`error ${(err as NodeJS.ErrnoException).code}`));
    });
    upload.write(Buffer.alloc(500_000));
    await new Promise((r) => setTimeout(r, 300));

    const started = Date.now();
    run.child.kill('SIGTERM');
    expect((await run.exited).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await uploadEnded).toMatch(/^(status 503|error (ECONNRESET|EPIPE|ECONNREFUSED))$/);
    await expect(fetch(`${server.baseUrl}/healthz`)).rejects.toThrow();
    expect(server.output()).not.toMatch(/server_error|stack/i);
  });
});
