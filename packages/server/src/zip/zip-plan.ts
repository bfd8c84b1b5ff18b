import type { Readable } from 'node:stream';
import {
  archiveZip64,
  encodeCentralHeader,
  encodeEnd,
  encodeLocalHeader,
  entryZip64,
  MAX_UINT16,
  MAX_UINT32,
} from './zip-format.ts';

/** One file of the archive. Stored as-is (no compression), so `size` and `crc32` fix its layout. */
export interface ZipEntrySource {
  /** Already sanitised and unique (see sanitizeZipEntryNames); written as UTF-8. */
  name: string;
  /** Bytes. */
  size: number;
  /** Unsigned 32-bit CRC of the content. Not verified here: a wrong value yields a corrupt entry. */
  crc32: number;
  mtime: Date;
  /**
   * Opens the entry's content for the inclusive byte range start..end (0 <= start <= end < size).
   * The stream must yield exactly end - start + 1 bytes; never called for zero-size entries.
   */
  open(start: number, end: number): Promise<Readable>;
}

/** Where one entry landed in the archive. */
export interface ZipPlannedEntry {
  readonly name: string;
  readonly size: number;
  readonly headerOffset: number;
  /** Offset of the first content byte (right after the local header). */
  readonly dataOffset: number;
  /** ZIP64 extra field written: in both headers for sizes, in the central header for the offset. */
  readonly zip64Sizes: boolean;
  readonly zip64Offset: boolean;
}

/**
 * A contiguous run of the archive: either bytes fixed at planning time (headers, central
 * directory, end records) or an entry's content, read through `entry.open` when streamed.
 * Segments are sorted, contiguous, non-empty and cover 0..size-1.
 */
export type ZipSegment =
  | { readonly kind: 'bytes'; readonly offset: number; readonly length: number; readonly bytes: Buffer }
  | { readonly kind: 'body'; readonly offset: number; readonly length: number; readonly entry: ZipEntrySource };

/**
 * The complete byte layout of an archive, computed before any byte is sent. Immutable and holds
 * no open resources, so one plan may serve any number of (range) streams, concurrently.
 * Memory is O(entries + total name length), independent of the content size.
 */
export interface ZipPlan {
  /** Total archive length in bytes. */
  readonly size: number;
  readonly entries: readonly ZipPlannedEntry[];
  readonly centralDirectoryOffset: number;
  readonly centralDirectorySize: number;
  /** ZIP64 end-of-central-directory record and locator present. */
  readonly zip64: boolean;
  readonly segments: readonly ZipSegment[];
}

function validate(entry: ZipEntrySource, name: Buffer, index: number): void {
  const what = `zip entry #${index}`;
  if (name.length === 0 || name.length > MAX_UINT16) {
    throw new RangeError(`${what}: name must be 1..${MAX_UINT16} UTF-8 bytes`);
  }
  if (!Number.isSafeInteger(entry.size) || entry.size < 0) {
    throw new RangeError(`${what}: size must be a non-negative safe integer`);
  }
  if (!Number.isInteger(entry.crc32) || entry.crc32 < 0 || entry.crc32 > MAX_UINT32) {
    throw new RangeError(`${what}: crc32 must be an unsigned 32-bit integer`);
  }
  if (!(entry.mtime instanceof Date) || Number.isNaN(entry.mtime.getTime())) {
    throw new RangeError(`${what}: mtime must be a valid Date`);
  }
  if (typeof entry.open !== 'function') throw new TypeError(`${what}: open must be a function`);
}

/**
 * Lays out a stored-only archive: local header + content per entry, in the given order, then the
 * central directory and end records. Throws on invalid sources; never calls `open`.
 */
export function planZip(entries: ZipEntrySource[]): ZipPlan {
  const segments: ZipSegment[] = [];
  const planned: ZipPlannedEntry[] = [];
  const central: Buffer[] = [];
  let offset = 0;

  entries.forEach((entry, index) => {
    const input = { name: Buffer.from(entry.name, 'utf8'), size: entry.size, crc32: entry.crc32, mtime: entry.mtime };
    validate(entry, input.name, index);
    const local = encodeLocalHeader(input, offset);
    segments.push({ kind: 'bytes', offset, length: local.length, bytes: local });
    const dataOffset = offset + local.length;
    if (entry.size > 0) segments.push({ kind: 'body', offset: dataOffset, length: entry.size, entry });
    central.push(encodeCentralHeader(input, offset));
    const z = entryZip64(entry.size, offset);
    planned.push(
      Object.freeze({
        name: entry.name,
        size: entry.size,
        headerOffset: offset,
        dataOffset,
        zip64Sizes: z.sizes,
        zip64Offset: z.offset,
      }),
    );
    offset = dataOffset + entry.size;
  });

  const centralDirectory = Buffer.concat(central);
  const end = encodeEnd(entries.length, offset, centralDirectory.length);
  const tail = Buffer.concat([centralDirectory, end]);
  segments.push({ kind: 'bytes', offset, length: tail.length, bytes: tail });
  const size = offset + tail.length;
  if (!Number.isSafeInteger(size)) throw new RangeError('zip archive would exceed 2^53 - 1 bytes');

  return Object.freeze({
    size,
    entries: Object.freeze(planned),
    centralDirectoryOffset: offset,
    centralDirectorySize: centralDirectory.length,
    zip64: archiveZip64(entries.length, offset, centralDirectory.length),
    segments: Object.freeze(segments.map((segment) => Object.freeze(segment))),
  });
}
