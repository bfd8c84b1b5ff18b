import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, startHarness, type Harness } from '../support/harness.ts';
import { createTransfer } from '../support/transfers.ts';

/** docs/security-checklist.md I101: one account streams at most FERRY_MAX_CONCURRENT_UPLOADS bodies at once, whatever the protocol. */

let h: Harness;
let key: string;
let port: number;
beforeAll(async () => {
  h = await startHarness({ FERRY_MAX_CONCURRENT_UPLOADS: '2' });
  port = Number(new URL(await h.listen()).port);
  ({ key } = await createAccount(h.app, 'slots@example.com'));
});
afterAll(() => h.close());

/** Sends headers and a first byte of a PUT, then stalls: the body stays in flight. */
function stalledPut(path: string, length: number): Promise<net.Socket> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`PUT ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\nx`);
      setTimeout(() => resolve(socket), 200);
    });
  });
}

describe('I101: concurrent uploads per account', () => {
  it('the upload beyond the cap answers 429 with Retry-After; a slot frees when a body ends', async () => {
    const t = await createTransfer(h.app, key, { title: 'slots', files: [1, 2, 3, 4].map((n) => ({ name: `f${n}.bin`, size: 1000 })) });
    const content = (n: number) => `/api/v1/transfers/${t.id}/files/${t.files[n].id}/content`;
    const held = [await stalledPut(content(0), 1000), await stalledPut(content(1), 1000)];
    const third = await fetch(`http://127.0.0.1:${port}${content(2)}`, { method: 'PUT', headers: { authorization: `Bearer ${key}` }, body: 'y'.repeat(1000) });
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('1');
    expect((await third.json()).error.code).toBe('rate_limited');
    const curlT = await fetch(`http://127.0.0.1:${port}/one.txt`, { method: 'PUT', headers: { authorization: `Bearer ${key}` }, body: 'z' });
    expect(curlT.status).toBe(429);

    held[0]!.destroy();
    await new Promise((r) => setTimeout(r, 300));
    const fourth = await fetch(`http://127.0.0.1:${port}${content(3)}`, { method: 'PUT', headers: { authorization: `Bearer ${key}` }, body: 'w'.repeat(1000) });
    expect(fourth.status).toBe(200);
    held[1]!.destroy();
  });
});
