/**
 * Clients of bench/s3-throughput.ts: the direct-S3 baselines (AWS SDK v3, the client
 * configuration Ferry itself uses) and one hashing GET client for Ferry's downloads, which can
 * follow Ferry's 302 to a presigned S3 URL. Every download hashes the whole body (SHA-256) inside
 * the timed part, baseline and Ferry alike.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { MiB } from './bench-util.ts';

export interface Hashed {
  bytes: number;
  sha256: string;
}

/** Counts and hashes a stream to its end. */
export async function hashStream(body: AsyncIterable<Buffer | Uint8Array>): Promise<Hashed> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

// ---------------------------------------------------------------- direct S3

/** Multipart upload with lib-storage (parts of `partSize`, `queueSize` in flight), as a client SDK would do. */
export async function s3MultipartUpload(client: S3Client, bucket: string, key: string, file: string, partSize: number, queueSize: number): Promise<void> {
  const upload = new Upload({
    client,
    params: { Bucket: bucket, Key: key, Body: fs.createReadStream(file, { highWaterMark: MiB }), ContentType: 'application/octet-stream' },
    partSize,
    queueSize,
    leavePartsOnError: false,
  });
  await upload.done();
}

/** One PutObject streaming the whole file (Content-Length set): S3's single-stream upload. */
export async function s3PutObject(client: S3Client, bucket: string, key: string, file: string, size: number): Promise<void> {
  await client.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: fs.createReadStream(file, { highWaterMark: MiB }),
      ContentLength: size,
      ContentType: 'application/octet-stream',
    }),
  );
}

/** GetObject, the body streamed into SHA-256. */
export async function s3GetHashed(client: S3Client, bucket: string, key: string): Promise<Hashed> {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return hashStream(res.Body as Readable);
}

/** A presigned GET URL of the object, for reading it with the same HTTP client as Ferry's downloads. */
export function s3PresignedGet(client: S3Client, bucket: string, key: string): Promise<string> {
  return getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 600 });
}

export async function s3Size(client: S3Client, bucket: string, key: string): Promise<number> {
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return Number(head.ContentLength ?? -1);
}

export async function s3Delete(client: S3Client, bucket: string, key: string): Promise<void> {
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}

/** Every object key in the bucket (small buckets: the bench keeps a handful). */
export async function s3Keys(client: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

// ---------------------------------------------------------------- Ferry downloads

export interface HashedGet extends Hashed {
  status: number;
  /** Status of the first answer (302 when Ferry redirected and the redirect was followed). */
  firstStatus: number;
  /** Where the redirect pointed, if one was followed. */
  location?: string;
  /** Start of the first request to the end of the body, seconds. */
  seconds: number;
  /** A non-2xx answer's body (first 4000 chars), for error messages. */
  body: string;
}

function getOnce(url: string, headers: Record<string, string>): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers }, resolve);
    req.once('error', reject);
  });
}

/**
 * GET `url` (node:http, a new connection, as bench-util's timedDownload) and hash the body. With
 * `follow`, one 3xx is followed to its Location without the request's headers (a presigned URL
 * carries its own signature; an Authorization header beside it would be refused).
 */
export async function hashedGet(url: string, headers: Record<string, string>, follow: boolean): Promise<HashedGet> {
  const started = performance.now();
  let res = await getOnce(url, headers);
  const firstStatus = res.statusCode ?? 0;
  let location: string | undefined;
  if (follow && firstStatus >= 300 && firstStatus < 400 && res.headers.location) {
    res.resume();
    location = new URL(res.headers.location, url).toString();
    res = await getOnce(location, {});
  }
  const status = res.statusCode ?? 0;
  if (status < 200 || status >= 300) {
    let body = '';
    for await (const chunk of res as AsyncIterable<Buffer>) if (body.length < 4000) body += chunk.toString('utf8');
    return { status, firstStatus, location, bytes: 0, sha256: '', seconds: (performance.now() - started) / 1000, body: body.slice(0, 4000) };
  }
  const hashed = await hashStream(res as AsyncIterable<Buffer>);
  return { ...hashed, status, firstStatus, location, seconds: (performance.now() - started) / 1000, body: '' };
}
