/**
 * Baseline for bench/transfer-throughput.ts: the least a Node server can do to move the same bytes.
 *
 *   PUT  /blob/<name>           streams the body to BARE_DIR/<name> (1 MiB write buffer), answers
 *                               {"bytes": n}; the bench uses a new name per upload, as Ferry
 *                               stores every upload as a new file
 *   PUT  /blob/<name>?fsync=1   the same, but fsyncs before answering (as Ferry does)
 *   GET  /blob/<name>           streams the file back (fs.createReadStream, 1 MiB highWaterMark)
 *   GET  /healthz               {"status":"ok"}
 *
 * Env: BARE_PORT, BARE_DIR (both required). Run as `node --import tsx bench/bare-server.ts`.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

const MiB = 1024 * 1024;
const port = Number(process.env.BARE_PORT);
const dir = process.env.BARE_DIR;
if (!Number.isInteger(port) || port <= 0 || !dir) {
  process.stderr.write('bare-server: BARE_PORT and BARE_DIR are required\n');
  process.exit(2);
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/healthz') return json(res, 200, { status: 'ok' });
  const name = /^\/blob\/([A-Za-z0-9._-]{1,100})$/.exec(url.pathname)?.[1];
  if (!name || name.startsWith('.')) return json(res, 404, { error: 'not found' });
  const file = path.join(dir!, name);

  if (req.method === 'PUT') {
    const out = fs.createWriteStream(file, { highWaterMark: MiB, flush: url.searchParams.get('fsync') === '1' });
    await pipeline(req, out);
    return json(res, 200, { bytes: out.bytesWritten });
  }
  if (req.method === 'GET') {
    const { size } = await fs.promises.stat(file);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
    await pipeline(fs.createReadStream(file, { highWaterMark: MiB }), res);
    return;
  }
  return json(res, 405, { error: 'method not allowed' });
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((error: unknown) => {
    if (!res.headersSent) json(res, 500, { error: String(error) });
    else res.destroy();
  });
});
// No request timeout: a 2 GiB body on a slow, noisy machine can take longer than Node's 300 s default.
server.requestTimeout = 0;
server.listen(port, '127.0.0.1');

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
