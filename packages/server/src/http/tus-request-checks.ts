import type { FastifyRequest } from 'fastify';
import { Metadata } from '@tus/utils';
import { fail } from '../errors.ts';
import { tusChecksum } from './content-digests.ts';
import type { ExpectedChecksum } from '../services/digest-meter.ts';
import { TUS_PATH } from '../tus/tus-request.ts';
import { UPLOAD_ID } from '../tus/tus-store.ts';

export const TUS_VERSION = '1.0.0';
export const TUS_EXTENSIONS = 'creation,creation-with-upload,creation-defer-length,termination,expiration,checksum,concatenation';

const header = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
};

/** tus numbers are strict: digits only, a safe integer (docs/security-checklist.md B18, B20, B21). */
function strictLength(name: string, raw: string): number {
  if (!/^\d{1,16}$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw fail.invalid_header(`${name} must be a whole number of bytes.`);
  return Number(raw);
}

/** Every tus request but OPTIONS must speak 1.0.0; anything else is 412 with Tus-Version (C36). */
export function checkTusVersion(request: FastifyRequest): void {
  if (header(request, 'tus-resumable') !== TUS_VERSION) {
    throw fail.unsupported_tus_version('Send Tus-Resumable: 1.0.0.', { headers: { 'tus-version': TUS_VERSION } });
  }
}

/** A file name of 255 UTF-8 bytes and a deep relative path fit with room to spare, base64 and all. */
export const MAX_METADATA_BYTES = 8 * 1024;
export const MAX_METADATA_KEYS = 32;

/**
 * Upload-Metadata within its caps (400 metadata_too_large) and well-formed; answers its pairs
 * (undefined: no header). The upload rules keep only the keys Ferry reads.
 */
export function checkMetadata(request: FastifyRequest): Record<string, string | null> | undefined {
  const raw = header(request, 'upload-metadata');
  if (raw === undefined || raw.trim() === '') return undefined;
  if (Buffer.byteLength(raw) > MAX_METADATA_BYTES) {
    throw fail.metadata_too_large(`Upload-Metadata may be at most ${MAX_METADATA_BYTES} bytes.`);
  }
  if (raw.split(',').length > MAX_METADATA_KEYS) throw fail.metadata_too_large(`Upload-Metadata may have at most ${MAX_METADATA_KEYS} keys.`);
  try {
    return Metadata.parse(raw) ?? {};
  } catch {
    throw fail.validation_failed('Upload-Metadata must be comma-separated "key base64value" pairs.');
  }
}

export interface CreationHeaders {
  kind: 'single' | 'partial' | 'final';
  concat?: string;
  checksum?: ExpectedChecksum;
}

/** POST: exactly one of Upload-Length / Upload-Defer-Length: 1, or a final concatenation. */
export function checkCreation(request: FastifyRequest, maxSize: number): CreationHeaders {
  const length = header(request, 'upload-length');
  const deferred = header(request, 'upload-defer-length');
  const concat = header(request, 'upload-concat');
  if (concat !== undefined && concat !== 'partial' && !concat.startsWith('final;')) {
    throw fail.invalid_header('Upload-Concat must be "partial" or "final;<upload URLs>".');
  }
  if (concat?.startsWith('final;')) {
    if (length !== undefined || deferred !== undefined) throw fail.invalid_header('A final upload takes its length from its partial uploads: send no Upload-Length.');
    return { kind: 'final', concat };
  }
  if (deferred !== undefined && deferred !== '1') throw fail.invalid_header('Upload-Defer-Length must be 1.');
  if ((length === undefined) === (deferred === undefined)) throw fail.invalid_header('Send exactly one of Upload-Length and Upload-Defer-Length: 1.');
  if (length !== undefined && strictLength('Upload-Length', length) > maxSize) {
    throw fail.payload_too_large(`Upload-Length is over Tus-Max-Size (${maxSize} bytes).`, { context: { max_size: maxSize } });
  }
  return { kind: concat === 'partial' ? 'partial' : 'single', checksum: tusChecksum(header(request, 'upload-checksum')) };
}

/** PATCH: the tus media type (C37), a strict offset, an optional checksum (C42). */
export function checkPatch(request: FastifyRequest): { offset: number; length?: number; checksum?: ExpectedChecksum } {
  if (header(request, 'content-type') !== 'application/offset+octet-stream') {
    throw fail.unsupported_media_type('PATCH bodies must be Content-Type: application/offset+octet-stream.');
  }
  const offset = header(request, 'upload-offset');
  if (offset === undefined) throw fail.invalid_header('Upload-Offset is required.');
  const length = header(request, 'upload-length');
  return {
    offset: strictLength('Upload-Offset', offset),
    ...(length !== undefined ? { length: strictLength('Upload-Length', length) } : {}),
    checksum: tusChecksum(header(request, 'upload-checksum')),
  };
}

const UPLOAD_PATH = `${TUS_PATH}/`;
const MAX_PARTIALS = 1000;

const hostOf = (url: string): string => {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
};

/**
 * The upload ids `final;<url> <url>` lists: absolute URLs on one of `allowedHosts` (the request's
 * Host and FERRY_PUBLIC_URL's), or paths. Only this server's uploads are named, never fetched.
 */
export function finalUploadIds(concat: string, allowedHosts: string[]): string[] {
  const list = concat.slice('final;'.length).trim().split(/ +/).filter(Boolean);
  // `Host: example.com:80` and `http://example.com/...` are the same server: compare as URLs do.
  const hosts = new Set(allowedHosts.flatMap((host) => [host, hostOf(`http://${host}`), hostOf(`https://${host}`)]).filter(Boolean));
  if (list.length === 0 || list.length > MAX_PARTIALS) throw fail.invalid_concat(`Upload-Concat: final lists 1 to ${MAX_PARTIALS} partial uploads.`);
  return list.map((raw) => {
    let url: URL;
    try {
      url = new URL(raw, 'http://relative.invalid');
    } catch {
      throw fail.invalid_concat('Upload-Concat lists something that is not an upload URL.');
    }
    const relative = url.host === 'relative.invalid' && raw.startsWith('/');
    if (!relative && ((url.protocol !== 'http:' && url.protocol !== 'https:') || !hosts.has(url.host))) {
      throw fail.invalid_concat('Upload-Concat may only name uploads on this server.');
    }
    const id = url.pathname.startsWith(UPLOAD_PATH) ? url.pathname.slice(UPLOAD_PATH.length) : '';
    if (!UPLOAD_ID.test(id) || url.search || url.hash) throw fail.invalid_concat('Upload-Concat may only name uploads on this server.');
    return id;
  });
}
