import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startListening, type ListeningHarness } from '../support/harness.ts';
import type { Account } from '../support/accounts.ts';
import { readyTransfer } from '../support/transfers.ts';
import { sha256 } from '../support/hashing.ts';

/** max_downloads is an allowance of bytes (max_downloads x size): probes and resumes cannot dodge it. */
describe('download allowance', () => {
  let server: ListeningHarness;
  let base: string;
  let owner: Account;

  beforeAll(async () => {
    server = await startListening('allowance@example.com');
    ({ base, owner } = server);
  });
  afterAll(() => server?.close());

  async function share(content: Buffer, maxDownloads: number): Promise<string> {
    const { transfer, link } = await readyTransfer(base, owner.key, [{ name: 'data.bin', content }], { title: 'allowance', max_downloads: maxDownloads });
    return `${base}${link}/files/${transfer.files[0].id}`;
  }

  const get = async (url: string, range?: string) => {
    const res = await fetch(url, { headers: range ? { range } : {} });
    return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
  };

  it('a free 0-0 probe plus a resume from byte 1 uses up a one-download link', async () => {
    const content = randomBytes(1024 * 1024);
    const url = await share(content, 1);
    expect((await get(url, 'bytes=0-0')).status).toBe(206);
    const rest = await get(url, 'bytes=1-');
    expect(rest.status).toBe(206);
    expect(sha256(Buffer.concat([content.subarray(0, 1), rest.bytes]))).toBe(sha256(content));
    expect((await get(url)).status).toBe(410);
    expect((await get(url, 'bytes=1-')).status).toBe(410);
  });

  it('a recipient whose download drops can resume it, and the link is used up afterwards', async () => {
    const content = randomBytes(24 * 1024 * 1024);
    const url = await share(content, 1);
    const controller = new AbortController();
    const res = await fetch(url, { signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const received: Buffer[] = [];
    let got = 0;
    while (got < 4 * 1024 * 1024) {
      const { value } = await reader.read();
      received.push(Buffer.from(value!));
      got += value!.length;
    }
    controller.abort();
    await reader.cancel().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));

    const rest = await get(url, `bytes=${got}-`);
    expect(rest.status).toBe(206);
    expect(sha256(Buffer.concat([...received, rest.bytes]))).toBe(sha256(content));
    expect((await get(url)).status).toBe(410);
  });
});
