/**
 * Byte-level encoders for the ZIP records Ferry writes (APPNOTE.TXT 6.3.x): stored entries only,
 * sizes and CRC known up front, so there are no data descriptors and every header is final.
 *
 * Field widths are fixed by the format; any value that does not fit (>= the all-ones marker, since
 * the marker itself means "see ZIP64") is written as the marker and carried in ZIP64 records.
 */

export const MAX_UINT16 = 0xffff;
export const MAX_UINT32 = 0xffffffff;

const SIG_LOCAL_HEADER = 0x04034b50;
const SIG_CENTRAL_HEADER = 0x02014b50;
const SIG_ZIP64_END = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_END = 0x06054b50;

const EXTRA_ZIP64 = 0x0001;
const EXTRA_TIMESTAMP = 0x5455;

/** Bit 11: names are UTF-8. Bit 3 (data descriptor) stays clear: sizes and CRC are in the headers. */
const FLAGS = 0x0800;
const METHOD_STORED = 0;
const VERSION_DEFAULT = 20;
const VERSION_ZIP64 = 45;
/** Upper byte 3 = Unix, so the external attributes below are read as a file mode by unzip. */
const VERSION_MADE_BY = (3 << 8) | VERSION_ZIP64;
/** Regular file, rw-r--r--. */
const EXTERNAL_ATTRIBUTES = (0o100644 << 16) >>> 0;

export const LOCAL_HEADER_FIXED = 30;
export const CENTRAL_HEADER_FIXED = 46;
export const ZIP64_END_LENGTH = 56;
export const ZIP64_LOCATOR_LENGTH = 20;
export const END_LENGTH = 22;

export interface HeaderInput {
  name: Buffer;
  size: number;
  crc32: number;
  mtime: Date;
}

/** Whether an entry needs ZIP64 extras: in both headers for its sizes, in the central one for its offset. */
export function entryZip64(size: number, localHeaderOffset: number): { sizes: boolean; offset: boolean } {
  return { sizes: size >= MAX_UINT32, offset: localHeaderOffset >= MAX_UINT32 };
}

/** Whether the archive needs the ZIP64 end record and locator (0xFFFF entries is already the marker). */
export function archiveZip64(entryCount: number, cdOffset: number, cdSize: number): boolean {
  return entryCount >= MAX_UINT16 || cdOffset >= MAX_UINT32 || cdSize >= MAX_UINT32;
}

/** MS-DOS date and time of `mtime` read as UTC, clamped to the representable 1980..2107. */
export function dosDateTime(mtime: Date): { date: number; time: number } {
  const year = mtime.getUTCFullYear();
  if (year < 1980) return { date: (1 << 5) | 1, time: 0 };
  if (year > 2107) return { date: (127 << 9) | (12 << 5) | 31, time: (23 << 11) | (59 << 5) | 29 };
  return {
    date: ((year - 1980) << 9) | ((mtime.getUTCMonth() + 1) << 5) | mtime.getUTCDate(),
    time: (mtime.getUTCHours() << 11) | (mtime.getUTCMinutes() << 5) | (mtime.getUTCSeconds() >> 1),
  };
}

/** Unix seconds for the 0x5455 field, or null when outside its signed 32-bit range. */
function unixSeconds(mtime: Date): number | null {
  const seconds = Math.floor(mtime.getTime() / 1000);
  return seconds >= -0x80000000 && seconds <= 0x7fffffff ? seconds : null;
}

function zip64Extra(values: number[]): Buffer {
  const extra = Buffer.alloc(4 + 8 * values.length);
  extra.writeUInt16LE(EXTRA_ZIP64, 0);
  extra.writeUInt16LE(8 * values.length, 2);
  values.forEach((value, i) => extra.writeBigUInt64LE(BigInt(value), 4 + 8 * i));
  return extra;
}

/** Extended timestamp with mtime only; the same 9 bytes are valid in local and central headers. */
function timestampExtra(mtime: Date): Buffer {
  const seconds = unixSeconds(mtime);
  if (seconds === null) return Buffer.alloc(0);
  const extra = Buffer.alloc(9);
  extra.writeUInt16LE(EXTRA_TIMESTAMP, 0);
  extra.writeUInt16LE(5, 2);
  extra.writeUInt8(1, 4);
  extra.writeInt32LE(seconds, 5);
  return extra;
}

/**
 * Writes the fields shared by local and central headers, from "version needed" to "extra length",
 * at `at` (26 bytes).
 */
function writeCommon(buf: Buffer, at: number, input: HeaderInput, zip64: boolean, extraLength: number): void {
  const { date, time } = dosDateTime(input.mtime);
  const size32 = input.size >= MAX_UINT32 ? MAX_UINT32 : input.size;
  buf.writeUInt16LE(zip64 ? VERSION_ZIP64 : VERSION_DEFAULT, at);
  buf.writeUInt16LE(FLAGS, at + 2);
  buf.writeUInt16LE(METHOD_STORED, at + 4);
  buf.writeUInt16LE(time, at + 6);
  buf.writeUInt16LE(date, at + 8);
  buf.writeUInt32LE(input.crc32, at + 10);
  buf.writeUInt32LE(size32, at + 14); // compressed == uncompressed for stored entries
  buf.writeUInt32LE(size32, at + 18);
  buf.writeUInt16LE(input.name.length, at + 22);
  buf.writeUInt16LE(extraLength, at + 24);
}

/** Local file header + name + extras; the entry's data follows it directly. */
export function encodeLocalHeader(input: HeaderInput, localHeaderOffset: number): Buffer {
  const z = entryZip64(input.size, localHeaderOffset);
  // In a local header the ZIP64 extra must hold both sizes, and only sizes.
  const extra = Buffer.concat([
    z.sizes ? zip64Extra([input.size, input.size]) : Buffer.alloc(0),
    timestampExtra(input.mtime),
  ]);
  const buf = Buffer.alloc(LOCAL_HEADER_FIXED + input.name.length + extra.length);
  buf.writeUInt32LE(SIG_LOCAL_HEADER, 0);
  writeCommon(buf, 4, input, z.sizes || z.offset, extra.length);
  input.name.copy(buf, LOCAL_HEADER_FIXED);
  extra.copy(buf, LOCAL_HEADER_FIXED + input.name.length);
  return buf;
}

/** Central directory header; its ZIP64 extra holds exactly the fields written as markers, in spec order. */
export function encodeCentralHeader(input: HeaderInput, localHeaderOffset: number): Buffer {
  const z = entryZip64(input.size, localHeaderOffset);
  const zip64Values = [
    ...(z.sizes ? [input.size, input.size] : []),
    ...(z.offset ? [localHeaderOffset] : []),
  ];
  const extra = Buffer.concat([
    zip64Values.length > 0 ? zip64Extra(zip64Values) : Buffer.alloc(0),
    timestampExtra(input.mtime),
  ]);
  const buf = Buffer.alloc(CENTRAL_HEADER_FIXED + input.name.length + extra.length);
  buf.writeUInt32LE(SIG_CENTRAL_HEADER, 0);
  buf.writeUInt16LE(VERSION_MADE_BY, 4);
  writeCommon(buf, 6, input, z.sizes || z.offset, extra.length);
  // 32: comment length, 34: disk number start, 36: internal attributes — all zero.
  buf.writeUInt32LE(EXTERNAL_ATTRIBUTES, 38);
  buf.writeUInt32LE(z.offset ? MAX_UINT32 : localHeaderOffset, 42);
  input.name.copy(buf, CENTRAL_HEADER_FIXED);
  extra.copy(buf, CENTRAL_HEADER_FIXED + input.name.length);
  return buf;
}

/**
 * Everything after the central directory: [ZIP64 end record + locator] + end record.
 * When ZIP64 is used, every classic end-record field is set to its marker (as Go's archive/zip
 * does), so readers that only look at one of them still go to the ZIP64 record.
 */
export function encodeEnd(entryCount: number, cdOffset: number, cdSize: number): Buffer {
  const zip64 = archiveZip64(entryCount, cdOffset, cdSize);
  const buf = Buffer.alloc((zip64 ? ZIP64_END_LENGTH + ZIP64_LOCATOR_LENGTH : 0) + END_LENGTH);
  let at = 0;
  if (zip64) {
    const zip64EndOffset = cdOffset + cdSize;
    buf.writeUInt32LE(SIG_ZIP64_END, 0);
    buf.writeBigUInt64LE(BigInt(ZIP64_END_LENGTH - 12), 4); // size of the rest of the record
    buf.writeUInt16LE(VERSION_MADE_BY, 12);
    buf.writeUInt16LE(VERSION_ZIP64, 14);
    // 16: this disk, 20: disk with the central directory — both 0.
    buf.writeBigUInt64LE(BigInt(entryCount), 24);
    buf.writeBigUInt64LE(BigInt(entryCount), 32);
    buf.writeBigUInt64LE(BigInt(cdSize), 40);
    buf.writeBigUInt64LE(BigInt(cdOffset), 48);
    buf.writeUInt32LE(SIG_ZIP64_LOCATOR, 56);
    // 60: disk with the ZIP64 end record — 0.
    buf.writeBigUInt64LE(BigInt(zip64EndOffset), 64);
    buf.writeUInt32LE(1, 72); // total number of disks
    at = ZIP64_END_LENGTH + ZIP64_LOCATOR_LENGTH;
  }
  buf.writeUInt32LE(SIG_END, at);
  // +4: this disk, +6: disk with the central directory — both 0.
  buf.writeUInt16LE(zip64 ? MAX_UINT16 : entryCount, at + 8);
  buf.writeUInt16LE(zip64 ? MAX_UINT16 : entryCount, at + 10);
  buf.writeUInt32LE(zip64 ? MAX_UINT32 : cdSize, at + 12);
  buf.writeUInt32LE(zip64 ? MAX_UINT32 : cdOffset, at + 16);
  // +20: comment length — 0.
  return buf;
}
