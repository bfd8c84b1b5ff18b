import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { isS3NotFound, toStoreError } from './s3-errors.ts';
import type { MultipartUploads, OpenMultipartUpload, PresignedGets, StoredPart } from './blob-store.ts';


/** S3's own limit: every part but the last is at least 5 MiB. */
export const S3_MIN_PART_SIZE = 5 * 1024 * 1024;

/**
 * The S3 operations a client uses without Ferry in the path: presigned GETs and presigned
 * UploadPart URLs, plus the multipart bookkeeping around them. Keys are checked by `objectKey`
 * (the blob store's KEY_PATTERN) before any request is signed.
 */
export class S3Multipart implements MultipartUploads, PresignedGets {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly objectKey: (key: string) => string,
  ) {}

  /** A GET that S3 answers itself, for `ttlSeconds`, with the download's headers baked in. */
  async presignGet(key: string, ttlSeconds: number, headers: { contentDisposition: string; contentType: string }): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.objectKey(key),
      ResponseContentDisposition: headers.contentDisposition,
      ResponseContentType: headers.contentType,
      ResponseCacheControl: 'private, no-store',
    });
    return getSignedUrl(this.client, command, { expiresIn: ttlSeconds });
  }

  async create(key: string, contentType = 'application/octet-stream'): Promise<string> {
    try {
      const res = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.objectKey(key), ContentType: contentType }));
      return res.UploadId!;
    } catch (err) {
      throw toStoreError(err);
    }
  }

  /**
   * A PUT URL for one part. Content-Length is signed, so S3 itself refuses a body of any other
   * size; the URL dies after `ttlSeconds` and with the multipart upload it belongs to.
   */
  async presignPart(key: string, uploadId: string, partNumber: number, size: number, ttlSeconds: number): Promise<string> {
    const command = new UploadPartCommand({ Bucket: this.bucket, Key: this.objectKey(key), UploadId: uploadId, PartNumber: partNumber, ContentLength: size });
    return getSignedUrl(this.client, command, { expiresIn: ttlSeconds, signableHeaders: new Set(['content-length']) });
  }

  /** Every part S3 holds for the upload, in part order; null when the upload is gone. */
  async listParts(key: string, uploadId: string): Promise<StoredPart[] | null> {
    const parts: StoredPart[] = [];
    let marker: string | undefined;
    try {
      do {
        const res = await this.client.send(
          new ListPartsCommand({ Bucket: this.bucket, Key: this.objectKey(key), UploadId: uploadId, PartNumberMarker: marker }),
        );
        for (const p of res.Parts ?? []) parts.push({ partNumber: p.PartNumber!, size: Number(p.Size ?? 0), etag: p.ETag ?? '' });
        marker = res.IsTruncated ? String(res.NextPartNumberMarker) : undefined;
      } while (marker);
    } catch (err) {
      if (isS3NotFound(err)) return null;
      throw toStoreError(err);
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  async complete(key: string, uploadId: string, parts: StoredPart[]): Promise<void> {
    try {
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.objectKey(key),
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
        }),
      );
    } catch (err) {
      throw toStoreError(err);
    }
  }

  /**
   * Idempotent: an upload already completed or aborted is not an error. `rawObjectKey` names an
   * object outside the blob key space (a temp object), for the store's own sweeping.
   */
  async abort(key: string, uploadId: string, rawObjectKey?: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: rawObjectKey ?? this.objectKey(key), UploadId: uploadId }));
    } catch (err) {
      if (isS3NotFound(err)) return;
      throw toStoreError(err);
    }
  }

  /** Multipart uploads still open in the bucket under `prefix` (all of them when omitted). */
  async listOpen(prefix?: string): Promise<OpenMultipartUpload[]> {
    const open: OpenMultipartUpload[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    try {
      do {
        const res = await this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        );
        for (const u of res.Uploads ?? []) open.push({ objectKey: u.Key!, uploadId: u.UploadId!, initiated: u.Initiated ?? null });
        keyMarker = res.IsTruncated ? res.NextKeyMarker : undefined;
        uploadIdMarker = res.IsTruncated ? res.NextUploadIdMarker : undefined;
      } while (keyMarker);
    } catch (err) {
      throw toStoreError(err);
    }
    return open;
  }
}
