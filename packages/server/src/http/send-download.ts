import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fail } from '../errors.ts';
import type { DownloadService, FileDownload, LinkVisit, ZipDownload } from '../services/download-service.ts';
import type { DownloadStart, ReceiptHandle, ReceiptService } from '../services/receipt-service.ts';
import { streamZip } from '../zip/zip-stream.ts';
import { contentRangeHeader, downloadHeaders, unsatisfiedRangeHeader } from './download-headers.ts';
import { ifNoneMatchHits, ifRangeAllows, parseRange } from './range.ts';

interface Slice {
  status: 200 | 206;
  start: number;
  end: number;
  /** Takes one download from max_downloads. */
  counts: boolean;
  /** Pays for its bytes out of the max_downloads byte allowance (everything but HEAD and the 0-0 probe). */
  charged: boolean;
}

/**
 * Picks what to send for one optional Range (multi-ranges are ignored and get the whole body).
 * A GET counts as a download unless it is a resume (starts past byte 0) or a one-byte probe
 * (bytes=0-0); HEAD never counts.
 */
function slice(request: FastifyRequest, size: number, headers: Record<string, string>): Slice {
  const isGet = request.method === 'GET';
  const whole: Slice = { status: 200, start: 0, end: size - 1, counts: isGet, charged: isGet };
  const ifRange = request.headers['if-range'] as string | undefined;
  if (!ifRangeAllows(ifRange, headers.ETag ?? '', new Date(headers['Last-Modified'] ?? 0))) return whole;
  const range = parseRange(request.headers.range, size);
  if (range.kind === 'none') return whole;
  if (range.kind === 'unsatisfiable') {
    throw fail.range_not_satisfiable('The requested range is outside the file.', { context: { size }, headers: { 'content-range': unsatisfiedRangeHeader(size) } });
  }
  const probe = range.start === 0 && range.end === 0;
  return { status: 206, start: range.start, end: range.end, counts: isGet && range.start === 0 && !probe, charged: isGet && !probe };
}

/**
 * Answers 304 when If-None-Match names the current ETag: checked after access (the target was
 * resolved with every link rule) and before any Range, redirect or allowance, so revalidating a
 * copy the client already holds is never a download and never takes from a limit.
 */
/**
 * 304 when If-None-Match names the current tag. Only a request that would otherwise succeed may
 * get it (RFC 9110 13.2.1): `assertServable` throws first when the answer would be an error.
 */
function notModified(request: FastifyRequest, reply: FastifyReply, headers: Record<string, string>, assertServable: () => void): boolean {
  if (!ifNoneMatchHits(request.headers['if-none-match'], headers.ETag)) return false;
  assertServable();
  void reply.code(304).header('etag', headers.ETag!).header('cache-control', headers['Cache-Control']!);
  if (headers['Last-Modified']) void reply.header('last-modified', headers['Last-Modified']);
  return true;
}

/** What sending a download needs: the checks and bytes, and the receipts of link downloads. */
export interface DownloadServices {
  downloads: DownloadService;
  receipts: ReceiptService;
}

/** A GET through a link leaves a receipt; the owner's and signed-URL downloads, and HEAD, do not. */
function startReceipt(request: FastifyRequest, receipts: ReceiptService, visit: LinkVisit | undefined, download: DownloadStart): Promise<ReceiptHandle | null> {
  if (!visit || request.method !== 'GET') return Promise.resolve(null);
  const userAgent = request.headers['user-agent'];
  return receipts.start(visit, download, { ip: request.ip, userAgent: typeof userAgent === 'string' ? userAgent : undefined });
}

/**
 * Every streamed download body goes through here: counts what actually leaves, and when the
 * response ends (finished, or closed before that because the client went away or the source
 * failed) refunds the bytes never sent and settles the receipt.
 */
function trackBody(reply: FastifyReply, body: Readable, length: number, refund: (unsent: number) => Promise<void>, receipt: ReceiptHandle | null): Readable {
  let sent = 0;
  let finished = false;
  // Counting in transform() keeps the stream paused until the response pipes it (a 'data' listener would not).
  const counter = new Transform({
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _encoding, callback) {
      sent += chunk.length;
      callback(null, chunk);
    },
  });
  // 'finish': the last byte was handed to the connection; a 'close' without it is an abort.
  reply.raw.once('finish', () => {
    finished = true;
  });
  reply.raw.once('close', () => {
    // The source (an open file, or an S3 response holding a pooled socket) goes with the client.
    if (!body.destroyed) body.destroy();
    if (sent < length) void refund(length - sent).catch((err) => reply.log.warn({ err }, 'download refund failed'));
    receipt?.finish({ bytesSent: sent, completed: finished && sent === length });
  });
  body.once('error', (error) => counter.destroy(error));
  return body.pipe(counter);
}

/** Opens the receipt of a body about to stream; when that fails, the source is closed and the charge refunded. */
async function receiptFor(request: FastifyRequest, receipts: ReceiptService, visit: LinkVisit | undefined, download: DownloadStart, body: Readable, refundAll: () => Promise<void>) {
  try {
    return await startReceipt(request, receipts, visit, download);
  } catch (error) {
    body.destroy();
    await refundAll();
    throw error;
  }
}

export async function sendFile(request: FastifyRequest, reply: FastifyReply, { downloads, receipts }: DownloadServices, target: FileDownload) {
  const { file, transfer, audience, visit } = target;
  const headers = downloadHeaders({
    name: file.name,
    contentType: file.content_type,
    size: file.size,
    sha256: file.sha256,
    lastModified: new Date(file.completed_at ?? file.created_at),
  });
  if (notModified(request, reply, headers, () => downloads.assertAllowanceLeft(transfer, audience, file.size))) return reply.send();
  const part = slice(request, file.size, headers);
  const length = file.size === 0 ? 0 : part.end - part.start + 1;
  const charged = part.charged ? length : 0;
  // On S3 with redirects on, a whole GET is answered by the bucket, counted and charged in full:
  // the presigned URL is not bound to a range, so probes and resumes (which count less) stream
  // through Ferry instead, or a one-byte probe would buy an uncounted whole file.
  const redirect = request.method === 'GET' && file.size > 0 && part.status === 200 && part.counts
    ? await downloads.presignedUrl(file, { contentDisposition: headers['Content-Disposition']!, contentType: headers['Content-Type']! })
    : null;
  const refund = await downloads.admit(transfer, [file.id], audience, part.counts, charged);
  if (redirect) return reply.code(302).header('location', redirect).header('cache-control', 'no-store').send();
  void reply.code(part.status).headers(headers);
  if (part.status === 206) void reply.header('content-range', contentRangeHeader(part.start, part.end, file.size));
  void reply.header('content-length', length);
  if (request.method === 'HEAD') return reply.send();
  const download: DownloadStart = { kind: 'file', file, start: part.start, end: part.end, total: file.size, ranged: part.status === 206 };
  if (file.size === 0) {
    (await startReceipt(request, receipts, visit, download))?.finish({ bytesSent: 0, completed: true });
    return reply.send();
  }
  const body = await downloads.open(file, { start: part.start, end: part.end }).catch(async (error) => {
    await refund(charged);
    throw error;
  });
  const receipt = await receiptFor(request, receipts, visit, download, body, () => refund(charged));
  return reply.send(trackBody(reply, body, length, (unsent) => refund(unsent), receipt));
}

export async function sendZip(request: FastifyRequest, reply: FastifyReply, { downloads, receipts }: DownloadServices, target: ZipDownload) {
  const { plan, files, transfer, audience, visit } = target;
  // The archive's bytes follow from each file's content and its entry name (which depends on the
  // other names), so both go into the tag: a resume with If-Range never mixes two layouts.
  const etag = createHash('sha256')
    .update(files.map((f, i) => `${f.id}:${f.sha256}:${plan.entries[i]!.name}`).join('\n'))
    .update(`\n${plan.size}`)
    .digest('hex');
  const lastModified = new Date(Math.max(...files.map((f) => Date.parse(f.completed_at ?? f.created_at))));
  const headers = downloadHeaders({ name: `${transfer.title}.zip`, contentType: 'application/zip', size: plan.size, sha256: etag, lastModified });
  if (notModified(request, reply, headers, () => downloads.assertAllowanceLeft(transfer, audience, transfer.size))) return reply.send();
  const part = slice(request, plan.size, headers);
  const length = part.end - part.start + 1;
  // ZIP bytes are charged at the rate of file bytes, so one whole ZIP costs exactly one transfer.
  const toFileBytes = (zipBytes: number) => Math.floor((zipBytes * transfer.size) / plan.size);
  const refund = await downloads.admit(transfer, files.map((f) => f.id), audience, part.counts, part.charged ? toFileBytes(length) : 0);
  void reply.code(part.status).headers(headers).header('content-length', length);
  if (part.status === 206) void reply.header('content-range', contentRangeHeader(part.start, part.end, plan.size));
  if (request.method === 'HEAD') return reply.send();
  const body = streamZip(plan, { start: part.start, end: part.end });
  const download: DownloadStart = { kind: 'zip', file: null, start: part.start, end: part.end, total: plan.size, ranged: part.status === 206 };
  const receipt = await receiptFor(request, receipts, visit, download, body, () => refund(part.charged ? toFileBytes(length) : 0));
  return reply.send(trackBody(reply, body, length, (unsent) => refund(toFileBytes(unsent)), receipt));
}
