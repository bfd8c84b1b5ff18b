import { fail } from '../errors.ts';
import type { ChecksumAlgorithm, ExpectedChecksum } from '../services/digest-meter.ts';

type Headers = Record<string, string | string[] | undefined>;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const LENGTHS: Record<ChecksumAlgorithm, number> = { md5: 16, sha1: 20, sha256: 32, sha512: 64 };

function decode(value: string, algorithm: ChecksumAlgorithm, header: string): Buffer {
  const digest = BASE64.test(value) && value.length % 4 === 0 ? Buffer.from(value, 'base64') : null;
  if (!digest || digest.length !== LENGTHS[algorithm]) throw fail.invalid_checksum(`${header} is not a base64 ${algorithm} digest.`);
  return digest;
}

function single(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * Digests a client sent for a part or chunk body: Content-MD5 (RFC 1864, as S3) and
 * Content-Digest (RFC 9530: sha-256, sha-512, md5). Every supported digest present is checked;
 * a malformed one is 400, and RFC 9530 algorithms we do not know are ignored as the RFC allows.
 */
export function partChecksums(headers: Headers): ExpectedChecksum[] {
  const out: ExpectedChecksum[] = [];
  const md5 = single(headers, 'content-md5');
  if (md5 !== undefined) out.push({ algorithm: 'md5', digest: decode(md5.trim(), 'md5', 'Content-MD5'), header: 'Content-MD5' });
  const contentDigest = single(headers, 'content-digest');
  if (contentDigest !== undefined) {
    for (const member of contentDigest.split(',')) {
      const match = /^\s*([a-z0-9-]+)\s*=\s*:([^:]*):\s*$/.exec(member);
      if (!match) throw fail.invalid_checksum('Content-Digest must be a list of algorithm=:base64: members (RFC 9530).');
      const algorithm = ({ 'sha-256': 'sha256', 'sha-512': 'sha512', md5: 'md5' } as const)[match[1] as 'sha-256'];
      if (algorithm) out.push({ algorithm, digest: decode(match[2]!, algorithm, 'Content-Digest'), header: 'Content-Digest' });
    }
  }
  return out;
}

/** tus checksum extension algorithms, as announced in Tus-Checksum-Algorithm. */
export const TUS_CHECKSUM_ALGORITHMS = ['sha1', 'sha256', 'md5'] as const;

/**
 * tus `Upload-Checksum: <algorithm> <base64>`. Algorithm names are lower case as the extension
 * lists them; an unsupported algorithm or a malformed digest is 400 (the chunk is not read).
 */
export function tusChecksum(value: string | undefined): ExpectedChecksum | undefined {
  if (value === undefined) return undefined;
  const match = /^([A-Za-z0-9-]+) ([^ ]+)$/.exec(value.trim());
  if (!match) throw fail.invalid_checksum('Upload-Checksum must be "<algorithm> <base64 digest>".');
  const algorithm = match[1] as ChecksumAlgorithm;
  if (!(TUS_CHECKSUM_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw fail.unsupported_checksum_algorithm(`Upload-Checksum algorithm must be one of ${TUS_CHECKSUM_ALGORITHMS.join(', ')}.`);
  }
  return { algorithm, digest: decode(match[2]!, algorithm, 'Upload-Checksum'), header: 'Upload-Checksum' };
}
