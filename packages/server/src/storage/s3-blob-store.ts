import { randomBytes } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import {
  BlobNotFoundError,
  InvalidBlobKeyError,
  KEY_PATTERN,
  type BlobStore,
  type BlobStoreCapabilities,
  type ByteRange,
  type TempBlob,
} from './blob-store.ts';
import { isS3NotFound, toStoreError } from './s3-errors.ts';
import { copyLargeObject, SINGLE_COPY_LIMIT } from './s3-large-copy.ts';
import { S3Multipart } from './s3-multipart.ts';

/** Temp objects live under this prefix; keys cannot start with '.', so it never collides. */
const TEMP_PREFIX = '.tmp/';
/** lib-storage buffers queueSize x partSize per upload: 2 x 8 MiB bounds memory per stream. */
const UPLOAD_PART_SIZE = 8 * 1024 * 1024;
const UPLOAD_QUEUE_SIZE = 2;

export interface S3BlobStoreOptions {
  client: S3Client;
  bucket: string;
  id?: string;
}

/**
 * BlobStore on an S3-compatible bucket: blob `a/b` is the object `a/b`. A temp blob is an object
 * under `.tmp/`; commit copies it server-side to its key (S3 objects appear atomically, so
 * readers never see part of one) and deletes the temp. Presigned URLs and multipart uploads, the
 * parts of S3 a client can use without Ferry in the path, are in `multipart`.
 */
export class S3BlobStore implements BlobStore {
  readonly id: string;
  readonly bucket: string;
  readonly client: S3Client;
  readonly multipart: S3Multipart;
  readonly capabilities: BlobStoreCapabilities;

  constructor(options: S3BlobStoreOptions) {
    this.id = options.id ?? 's3';
    this.bucket = options.bucket;
    this.client = options.client;
    this.multipart = new S3Multipart(this.client, this.bucket, (key) => this.objectKey(key));
    this.capabilities = {
      presignedGet: this.multipart,
      multipart: this.multipart,
      sweepStaleTemps: (olderThanMs) => this.sweepStaleTemps(olderThanMs),
    };
  }

  /** Creates the bucket when it is missing (FERRY_S3_BUCKET); idempotent. */
  async init(): Promise<this> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return this;
    } catch (err) {
      if (!isS3NotFound(err)) throw toStoreError(err);
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const name = (err as Error).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw toStoreError(err);
    }
    return this;
  }

  async writeTemp(body: Readable): Promise<TempBlob> {
    const tempKey = randomBytes(16).toString('hex');
    let size = 0;
    // Counting in transform() (not a 'data' listener) keeps the stream paused for its consumer.
    const counted = new Transform({
      highWaterMark: 1024 * 1024,
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        callback(null, chunk);
      },
    });
    // pipeline() also fails `counted` when `body` is destroyed without an error (busboy gives up
    // on a cut-short form that way), so the upload below always settles.
    let bodyError: unknown;
    const piping = pipeline(body, counted).catch((err: unknown) => {
      bodyError = err;
    });
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: TEMP_PREFIX + tempKey, Body: counted },
      partSize: UPLOAD_PART_SIZE,
      queueSize: UPLOAD_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
      await piping;
      if (bodyError) throw bodyError;
    } catch (err) {
      counted.destroy();
      await piping;
      // A failed body aborts the multipart upload (leavePartsOnError false); a single PUT that
      // failed left nothing. Either way nothing of this write stays visible.
      await this.discardTemp(tempKey).catch(() => undefined);
      throw bodyError ?? toStoreError(err);
    }
    return { tempKey, size };
  }

  async commit(tempKey: string, key: string): Promise<void> {
    const from = this.tempObjectKey(tempKey);
    const to = this.objectKey(key);
    const head = await this.head(from);
    if (!head) throw new BlobNotFoundError(tempKey);
    try {
      if (head.size <= SINGLE_COPY_LIMIT) {
        await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: this.copySource(from) }));
      } else {
        await copyLargeObject(this.client, this.bucket, from, to, head.size);
      }
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: from }));
    } catch (err) {
      throw toStoreError(err);
    }
  }

  async discardTemp(tempKey: string): Promise<void> {
    const key = this.tempObjectKey(tempKey);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      throw toStoreError(err);
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const objectKey = this.objectKey(key);
    if (range && !(Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end) && range.start >= 0 && range.end >= range.start)) {
      throw new RangeError(`invalid byte range ${range.start}-${range.end}`);
    }
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: objectKey, Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      );
      return res.Body as Readable;
    } catch (err) {
      if (isS3NotFound(err)) throw new BlobNotFoundError(key);
      throw toStoreError(err);
    }
  }

  async stat(key: string): Promise<{ size: number } | null> {
    return this.head(this.objectKey(key));
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.objectKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey }));
    } catch (err) {
      if (isS3NotFound(err)) return;
      throw toStoreError(err);
    }
  }

  async check(): Promise<void> {
    const probe = `${TEMP_PREFIX}probe-${randomBytes(8).toString('hex')}`;
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: probe, Body: 'ferry' }));
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: probe }));
    } catch (err) {
      throw toStoreError(err);
    }
  }

  /** Object storage does not run out in a way it can report. */
  async freeSpace(): Promise<number | null> {
    return null;
  }

  /**
   * Removes leftovers of crashed or abandoned writes older than `olderThanMs`: temp objects, and
   * multipart uploads under the temp prefix that were never completed (S3 keeps their parts, and
   * bills them, forever otherwise). Answers how many went.
   */
  async sweepStaleTemps(olderThanMs: number): Promise<number> {
    if (!(olderThanMs >= 0)) throw new RangeError(`invalid age ${olderThanMs}`);
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (const open of await this.multipart.listOpen(TEMP_PREFIX)) {
      if (open.initiated && open.initiated.getTime() > cutoff) continue;
      await this.multipart.abort(open.objectKey.slice(TEMP_PREFIX.length), open.uploadId, open.objectKey);
      removed += 1;
    }
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: TEMP_PREFIX, ContinuationToken: token }));
        for (const object of page.Contents ?? []) {
          if (!object.Key || (object.LastModified && object.LastModified.getTime() > cutoff)) continue;
          await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: object.Key }));
          removed += 1;
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw toStoreError(err);
    }
    return removed;
  }

  /** Size of an object by its full key, or null when there is none. */
  async head(objectKey: string): Promise<{ size: number } | null> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      return { size: Number(res.ContentLength ?? 0) };
    } catch (err) {
      if (isS3NotFound(err)) return null;
      throw toStoreError(err);
    }
  }

  objectKey(key: string): string {
    if (!KEY_PATTERN.test(key)) throw new InvalidBlobKeyError(key);
    return key;
  }

  private tempObjectKey(tempKey: string): string {
    if (!KEY_PATTERN.test(tempKey) || tempKey.includes('/')) throw new InvalidBlobKeyError(tempKey);
    return TEMP_PREFIX + tempKey;
  }

  private copySource(objectKey: string): string {
    return `${this.bucket}/${objectKey.split('/').map(encodeURIComponent).join('/')}`;
  }
}
