/**
 * The upload clients of bench/upload-protocols.ts: one per Ferry upload protocol, plus the bare
 * baseline (one stream, and four quarter streams). All bytes go through sendFileRange (node:http,
 * 1 MiB reads, Content-Length), the same client code for every server, so differences are the
 * servers'. `prepare` does the untimed set-up (creating the transfer) and returns the timed part.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { api, type Timed } from './bench-util.ts';
import { sendFileRange } from './bench-client.ts';

export interface Target {
  base: string;
  auth: Record<string, string>;
}
export interface Job {
  file: string;
  size: number;
  /** Unique per upload (names, titles). */
  tag: string;
  parallel: number;
  /** Chunk size of the upload-chunk protocol. */
  chunkSize: number;
}
/** What a finished upload tells about the stored file: its digest, or its id to look it up. */
export interface Done {
  /** The transfer now holding the file (Ferry), deleted after the check. */
  transferId?: string;
  sha256?: string;
  fileId?: string;
  /** Seconds of the request that joined the parts into the file (part protocols). */
  joinSeconds?: number;
}
export interface Protocol {
  id: string;
  title: string;
  server: 'ferry' | 'bare';
  /** Streams in flight (1 = single stream). */
  streams: (job: Job) => number;
  /** OpenAPI paths the protocol needs (Ferry only). */
  routes: string[];
  /** Extra availability check; answers why the protocol cannot run, or null. */
  probe?: (t: Target) => Promise<string | null>;
  prepare: (t: Target, job: Job) => Promise<() => Promise<Done>>;
}

const TUS = '/api/v1/uploads';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

function expect(t: Timed, status: number, what: string): Timed {
  if (t.status !== status) throw new Error(`${what}: HTTP ${t.status}, expected ${status}: ${t.body.slice(0, 500)}`);
  return t;
}

/** [start, length) of `count` near-equal pieces; the last holds the rest. */
export function split(size: number, count: number): { start: number; length: number }[] {
  const piece = Math.floor(size / count);
  return Array.from({ length: count }, (_, i) => ({ start: i * piece, length: i === count - 1 ? size - i * piece : piece }));
}

/** Runs fn over items with at most `limit` in flight; rejects on the first failure. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A keep-alive agent for the duration of one parallel upload, as a real client would hold. */
async function withAgent<R>(sockets: number, fn: (agent: http.Agent) => Promise<R>): Promise<R> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  try {
    return await fn(agent);
  } finally {
    agent.destroy();
  }
}

async function createTransfer(t: Target, job: Job, files?: { name: string; size: number }[]): Promise<any> {
  const body = { title: `bench ${job.tag}`, ...(files ? { files } : {}) };
  return (await api(t.base, 'POST', '/api/v1/transfers', { headers: t.auth, body, expect: 201 })).json.data;
}

/** tus creation (POST) then one PATCH of `length` bytes from `start`; answers the upload's URL and the last response. */
async function tusUpload(t: Target, job: Job, start: number, length: number, create: Record<string, string>, agent?: http.Agent) {
  const post = await sendFileRange(t.base + TUS, job.file, 0, 0, {
    method: 'POST',
    agent,
    headers: { ...t.auth, 'tus-resumable': '1.0.0', 'upload-length': String(length), ...create },
  });
  expect(post, 201, 'tus POST');
  const location = new URL(String(post.headers.location), t.base).toString();
  const patch = await sendFileRange(location, job.file, start, length, {
    method: 'PATCH',
    agent,
    headers: { ...t.auth, 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
  });
  expect(patch, 204, 'tus PATCH');
  if (patch.headers['upload-offset'] !== String(length)) throw new Error(`tus PATCH: Upload-Offset ${patch.headers['upload-offset']}, expected ${length}`);
  return { location, patch };
}

export const bareSingle: Protocol = {
  id: 'bare',
  title: 'bare node:http, 1 stream',
  server: 'bare',
  streams: () => 1,
  routes: [],
  prepare: async (t, job) => async () => {
    expect(await sendFileRange(`${t.base}/blob/${job.tag}.bin`, job.file, 0, job.size), 200, 'bare PUT');
    return {};
  },
};

export const bareParallel: Protocol = {
  id: 'bare-par',
  title: 'bare node:http, N streams (quarters to separate files, never joined)',
  server: 'bare',
  streams: (job) => job.parallel,
  routes: [],
  prepare: async (t, job) => async () => {
    await withAgent(job.parallel, (agent) =>
      Promise.all(split(job.size, job.parallel).map((p, i) =>
        sendFileRange(`${t.base}/blob/${job.tag}-q${i}.bin`, job.file, p.start, p.length, { agent }).then((r) => expect(r, 200, 'bare PUT quarter')),
      )),
    );
    return {};
  },
};

export const tusSingle: Protocol = {
  id: 'tus',
  title: 'tus, 1 stream (POST + one PATCH)',
  server: 'ferry',
  streams: () => 1,
  routes: [TUS],
  prepare: async (t, job) => {
    const transfer = await createTransfer(t, job);
    const metadata = `transfer_id ${b64(transfer.id)},filename ${b64(`${job.tag}.bin`)}`;
    return async () => {
      const { patch } = await tusUpload(t, job, 0, job.size, { 'upload-metadata': metadata });
      return { transferId: transfer.id, fileId: String(patch.headers['x-ferry-file-id'] ?? '') };
    };
  },
};

export const tusParallel: Protocol = {
  id: 'tus-par',
  title: 'tus concatenation, N partial uploads + final',
  server: 'ferry',
  streams: (job) => job.parallel,
  routes: [TUS],
  probe: async (t) => {
    const res = await fetch(t.base + TUS, { method: 'OPTIONS', headers: { 'tus-resumable': '1.0.0' } });
    const ext = res.headers.get('tus-extension') ?? '';
    return ext.split(',').map((e) => e.trim()).includes('concatenation') ? null : `Tus-Extension "${ext}" lacks concatenation`;
  },
  prepare: async (t, job) => {
    const transfer = await createTransfer(t, job);
    const metadata = `transfer_id ${b64(transfer.id)},filename ${b64(`${job.tag}.bin`)}`;
    return () =>
      withAgent(job.parallel, async (agent) => {
        const parts = await Promise.all(split(job.size, job.parallel).map((p) => tusUpload(t, job, p.start, p.length, { 'upload-concat': 'partial' }, agent)));
        const final = await sendFileRange(t.base + TUS, job.file, 0, 0, {
          method: 'POST',
          agent,
          headers: { ...t.auth, 'tus-resumable': '1.0.0', 'upload-concat': `final;${parts.map((p) => p.location).join(' ')}`, 'upload-metadata': metadata },
        });
        expect(final, 201, 'tus final POST');
        return { transferId: transfer.id, fileId: String(final.headers['x-ferry-file-id'] ?? ''), joinSeconds: final.seconds };
      });
  },
};

export const signedParts: Protocol = {
  id: 'signed-parts',
  title: 'signed part URLs, N in flight, then upload-complete',
  server: 'ferry',
  streams: (job) => job.parallel,
  routes: ['/api/v1/transfers/{id}/files/{fileId}/upload-url/{partNumber}', '/api/v1/transfers/{id}/files/{fileId}/parts/{partNumber}', '/api/v1/transfers/{id}/files/{fileId}/upload-complete'],
  prepare: async (t, job) => {
    const transfer = await createTransfer(t, job, [{ name: `${job.tag}.bin`, size: job.size }]);
    const file = transfer.files[0];
    const { part_numbers: count, chunk_size: chunk } = file.multipart as { part_numbers: number; chunk_size: number };
    const filePath = `/api/v1/transfers/${transfer.id}/files/${file.id}`;
    const numbers = Array.from({ length: count }, (_, i) => i + 1);
    return () =>
      withAgent(job.parallel, async (agent) => {
        await pool(numbers, job.parallel, async (n) => {
          const { json } = await api(t.base, 'GET', `${filePath}/upload-url/${n}`, { headers: t.auth, expect: 200 });
          const start = (n - 1) * chunk;
          expect(await sendFileRange(json.data.url, job.file, start, Math.min(chunk, job.size - start), { agent }), 200, `PUT part ${n}`);
        });
        const started = performance.now();
        const done = await api(t.base, 'PUT', `${filePath}/upload-complete`, { headers: t.auth, expect: 200 });
        return { transferId: transfer.id, sha256: done.json.data.sha256 as string, joinSeconds: (performance.now() - started) / 1000 };
      });
  },
};

export const chunks: Protocol = {
  id: 'chunks',
  title: 'upload-chunk, N in flight, last assembles',
  server: 'ferry',
  streams: (job) => job.parallel,
  routes: ['/api/v1/upload-chunk'],
  prepare: async (t, job) => {
    const transfer = await createTransfer(t, job);
    const token: string = transfer.upload_token;
    if (!token) throw new Error('POST /api/v1/transfers answered no upload_token');
    const total = Math.max(1, Math.ceil(job.size / job.chunkSize));
    const indexes = Array.from({ length: total }, (_, i) => i);
    return () =>
      withAgent(job.parallel, async (agent) => {
        const receipts = await pool(indexes, job.parallel, async (i) => {
          const start = i * job.chunkSize;
          const headers = {
            'x-token': token,
            'x-file-id': job.tag,
            'x-chunk-index': String(i),
            'x-total-chunks': String(total),
            'x-file-name': `${job.tag}.bin`,
            'x-file-size': String(job.size),
          };
          const r = expect(await sendFileRange(`${t.base}/api/v1/upload-chunk`, job.file, start, Math.min(job.chunkSize, job.size - start), { method: 'POST', headers, agent }), 200, `chunk ${i}`);
          return { ...(JSON.parse(r.body).data as { file_state: string; sha256?: string; file_id: string }), seconds: r.seconds };
        });
        const complete = receipts.find((r) => r.file_state === 'complete');
        if (!complete) throw new Error('no chunk answer said the file is complete');
        // The request that brought the last chunk also joined them: its time is (nearly all) the join.
        return { transferId: transfer.id, sha256: complete.sha256, fileId: complete.file_id, joinSeconds: complete.seconds };
      });
  },
};

export const curlPut: Protocol = {
  id: 'curl-T',
  title: 'curl -T style PUT /<name> (creates the transfer too)',
  server: 'ferry',
  streams: () => 1,
  routes: ['/{name}'],
  prepare: async (t, job) => async () => {
    const r = expect(await sendFileRange(`${t.base}/${job.tag}.bin`, job.file, 0, job.size, { headers: { ...t.auth, accept: 'application/json' } }), 201, 'PUT /<name>');
    const transfer = JSON.parse(r.body).data;
    return { transferId: transfer.id, sha256: transfer.files[0].sha256, fileId: transfer.files[0].id };
  },
};

export const PROTOCOLS: Protocol[] = [tusSingle, tusParallel, signedParts, chunks, curlPut];
