import { once } from 'node:events';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { planZip, type ZipEntrySource } from './zip-plan.ts';
import { streamZip } from './zip-stream.ts';
import { collect, memorySource, MTIME, type OpenCall } from './zip-test-helpers.ts';

/** A source whose content stream is built by the test; `size` is what the plan believes. */
function source(name: string, size: number, open: (start: number, end: number) => Promise<Readable>): ZipEntrySource {
  return { name, size, crc32: 0, mtime: MTIME, open };
}

/** Drains `stream` and resolves with the error it was destroyed with (fails if it ends cleanly). */
async function errorOf(stream: Readable): Promise<Error> {
  try {
    await collect(stream);
  } catch (error) {
    expect(stream.destroyed).toBe(true);
    return error as Error;
  }
  throw new Error('stream ended without an error');
}

describe('streamZip: entry errors', () => {
  it('destroys the output with the error of an entry stream, without opening later entries', async () => {
    const boom = new Error('disk on fire');
    const opened: OpenCall[] = [];
    let sent = false;
    const plan = planZip([
      source('bad', 10_000, async () =>
        new Readable({
          read() {
            if (sent) this.destroy(boom);
            else this.push(Buffer.alloc(1000));
            sent = true;
          },
        }),
      ),
      memorySource('after', Buffer.from('later'), opened),
    ]);
    expect(await errorOf(streamZip(plan))).toBe(boom);
    expect(opened).toEqual([]);
  });

  it('destroys the output with the rejection of open, or its synchronous throw', async () => {
    const rejected = new Error('no such blob');
    expect(await errorOf(streamZip(planZip([source('x', 5, () => Promise.reject(rejected))])))).toBe(rejected);

    const thrown = new Error('thrown synchronously');
    const throwing = source('y', 5, () => {
      throw thrown;
    });
    expect(await errorOf(streamZip(planZip([throwing])))).toBe(thrown);
  });

  it('fails when an entry stream yields fewer or more bytes than requested', async () => {
    const short = planZip([source('short', 10, async () => Readable.from([Buffer.alloc(9)], { objectMode: false }))]);
    expect((await errorOf(streamZip(short))).message).toMatch(/"short".*1 bytes short of the 10 requested/);

    const long = planZip([source('long', 10, async () => Readable.from([Buffer.alloc(11)], { objectMode: false }))]);
    expect((await errorOf(streamZip(long))).message).toMatch(/"long".*more than the 10 bytes requested/);

    const text = planZip([source('text', 3, async () => Readable.from(['abc']))]);
    expect((await errorOf(streamZip(text))).message).toMatch(/non-binary chunk/);
  });

  it('fails when an entry stream is destroyed without an error before its end', async () => {
    const plan = planZip([
      source('closed', 100, async () => {
        const body = new Readable({ read() {} });
        body.push(Buffer.alloc(10));
        setImmediate(() => body.destroy());
        return body;
      }),
    ]);
    expect((await errorOf(streamZip(plan))).message).toMatch(/premature close/i);
  });
});

describe('streamZip: consumer destroy', () => {
  it('destroys the open entry stream when the output is destroyed mid-entry', async () => {
    let body: Readable | undefined;
    const plan = planZip([
      source('endless', 1_000_000, async () => {
        body = new Readable({ read() {} });
        body.push(Buffer.alloc(100));
        return body;
      }),
    ]);
    const out = streamZip(plan);
    out.on('data', (chunk: Buffer) => {
      if (chunk.length === 100) out.destroy();
    });
    await once(out, 'close');
    expect(body).toBeDefined();
    expect(body!.destroyed).toBe(true);
  });

  it('destroys a stream that open delivers after the output was destroyed', async () => {
    let deliver!: (stream: Readable) => void;
    const plan = planZip([source('slow', 10, () => new Promise<Readable>((resolve) => (deliver = resolve)))]);
    const out = streamZip(plan);
    out.resume();
    await sleep(10); // the header went out; open is pending
    expect(deliver).toBeDefined();
    out.destroy();
    await once(out, 'close');
    const late = new Readable({ read() {} });
    deliver(late);
    await sleep(1);
    expect(late.destroyed).toBe(true);
  });
});

describe('streamZip: backpressure', () => {
  it('does not read an entry ahead of a paused consumer, so memory does not grow with entry size', async () => {
    const size = 256 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 7);
    let produced = 0;
    const plan = planZip([
      source('huge', size, async (start, end) => {
        let left = end - start + 1;
        return new Readable({
          read() {
            const n = Math.min(left, chunk.length);
            left -= n;
            produced += n;
            this.push(n > 0 ? chunk.subarray(0, n) : null);
          },
        });
      }),
    ]);
    const out = streamZip(plan);
    let received = 0;
    out.on('data', (data: Buffer) => {
      received += data.length;
      if (received > 1024 * 1024) out.pause();
    });
    while (received <= 1024 * 1024) await sleep(1);
    await sleep(50);
    const producedWhilePaused = produced;
    await sleep(50);
    expect(produced).toBe(producedWhilePaused); // nothing read while paused
    expect(produced - received).toBeLessThan(512 * 1024); // only the two streams' buffers ahead
    out.destroy();
    await once(out, 'close');
  });
});
