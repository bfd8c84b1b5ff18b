import type { FastifyRequest } from 'fastify';
import { Metadata } from '@tus/utils';
import { badRequest, fail } from '../errors.ts';
import { tusChecksum } from './content-digests.ts';
import type { ExpectedChecksum } from '../services/digest-meter.ts';

export const TUS_VERSION = '1.0.0';
export const TUS_EXTENSIONS = 'creation,creation-with-upload,creation-defer-length,termination,expiration,checksum,concatenation';

const header = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
};

/** tus numbers are strict: digits only, a safe integer (SECURITY B18, B20, B21). */
function strictLength(name: string, raw: string): number {
  if (!/^\d{1,16}$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw badRequest(`${name} must be a whole number of bytes.`, 'invalid_header');
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
    throw badRequest(`Upload-Metadata may be at most ${MAX_METADATA_BYTES} bytes.`, 'metadata_too_large');
  }
  if (raw.split(',').length > MAX_METADATA_KEYS) throw badRequest(`Upload-Metadata may have at most ${MAX_METADATA_KEYS} keys.`, 'metadata_too_large');
  try {
    return Metadata.parse(raw) ?? {};
  } catch {
    throw badRequest('Upload-Metadata must be comma-separated "key base64value" pairs.', 'validation_failed');
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
    throw badRequest('Upload-Concat must be "partial" or "final;<upload URLs>".', 'invalid_header');
  }
  if (concat?.startsWith('final;')) {
    if (length !== undefined || deferred !== undefined) throw badRequest('A final upload takes its length from its partial uploads: send no Upload-Length.', 'invalid_header');
    return { kind: 'final', concat };
  }
  if (deferred !== undefined && deferred !== '1') throw badRequest('Upload-Defer-Length must be 1.', 'invalid_header');
  if ((length === undefined) === (deferred === undefined)) throw badRequest('Send exactly one of Upload-Length and Upload-Defer-Length: 1.', 'invalid_header');
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
  if (offset === undefined) throw badRequest('Upload-Offset is required.', 'invalid_header');
  const length = header(request, 'upload-length');
  return {
    offset: strictLength('Upload-Offset', offset),
    ...(length !== undefined ? { length: strictLength('Upload-Length', length) } : {}),
    checksum: tusChecksum(header(request, 'upload-checksum')),
  };
}
