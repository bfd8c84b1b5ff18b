/** Test-only helpers shared by the zip tests (not imported by production code). */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import type { ZipEntrySource, ZipPlan } from './zip-plan.ts';
import { streamZip } from './zip-stream.ts';

export const MTIME = new Date(Date.UTC(2024, 4, 17, 13, 45, 31));

export interface OpenCall {
  name: string;
  start: number;
  end: number;
}

/** A source over an in-memory buffer, delivered in small chunks; records every `open`. */
export function memorySource(name: string, data: Buffer, calls: OpenCall[] = [], mtime = MTIME): ZipEntrySource {
  return {
    name,
    size: data.length,
    crc32: crc32(data),
    mtime,
    async open(start, end) {
      calls.push({ name, start, end });
      const slice = data.subarray(start, end + 1);
      const chunks: Buffer[] = [];
      for (let at = 0; at < slice.length; at += 7919) chunks.push(slice.subarray(at, at + 7919));
      return Readable.from(chunks, { objectMode: false });
    },
  };
}

/** A source over a file on disk, read with fs ranges as a blob store would. */
export async function fileSource(dir: string, name: string, data: Buffer): Promise<ZipEntrySource> {
  const path = join(dir, `src-${createHash('sha1').update(name).digest('hex')}`);
  await writeFile(path, data);
  return {
    name,
    size: data.length,
    crc32: crc32(data),
    mtime: MTIME,
    async open(start, end) {
      return createReadStream(path, { start, end, highWaterMark: 16 * 1024 });
    },
  };
}

export function randomData(size: number): Buffer {
  return randomBytes(size);
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function streamToFile(stream: Readable, path: string): Promise<number> {
  let length = 0;
  stream.on('data', (chunk: Buffer) => (length += chunk.length));
  await pipeline(stream, createWriteStream(path));
  return length;
}

export interface ReadEntry {
  name: string;
  size: number;
  crc32: number;
  flags: number;
  method: number;
  dosDate: number;
  dosTime: number;
  mtime: Date;
  extraIds: number[];
  offset: number;
  sha256?: string;
}

function readStream(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (error, stream) => (error ? reject(error) : collect(stream).then(resolve, reject)));
  });
}

/** Reads every entry of a yauzl zip file; content hashed for entries `wantContent` accepts. */
function readAll(zip: yauzl.ZipFile, wantContent: (entry: yauzl.Entry) => boolean): Promise<ReadEntry[]> {
  return new Promise((resolve, reject) => {
    const entries: ReadEntry[] = [];
    zip.on('error', reject);
    zip.on('end', () => resolve(entries));
    zip.on('entry', (entry: yauzl.Entry) => {
      const read: ReadEntry = {
        name: entry.fileName,
        size: entry.uncompressedSize,
        crc32: entry.crc32,
        flags: entry.generalPurposeBitFlag,
        method: entry.compressionMethod,
        dosDate: entry.lastModFileDate,
        dosTime: entry.lastModFileTime,
        mtime: entry.getLastModDate(),
        extraIds: entry.extraFields.map((field) => field.id),
        offset: entry.relativeOffsetOfLocalHeader,
      };
      entries.push(read);
      if (!wantContent(entry)) return zip.readEntry();
      readStream(zip, entry).then((data) => {
        read.sha256 = sha256(data);
        zip.readEntry();
      }, reject);
    });
    zip.readEntry();
  });
}

export function readZipFile(path: string, wantContent: (entry: yauzl.Entry) => boolean = () => true): Promise<ReadEntry[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true }, (error, zip) => {
      if (error) return reject(error);
      readAll(zip, wantContent).then(resolve, reject).finally(() => zip.close());
    });
  });
}

/** Same as readZipFile from memory: yauzl.open costs two fd reads per entry, slow for 65k entries. */
export function readZipBuffer(buffer: Buffer, wantContent: (entry: yauzl.Entry) => boolean = () => true): Promise<ReadEntry[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true }, (error, zip) => {
      if (error) return reject(error);
      readAll(zip, wantContent).then(resolve, reject).finally(() => zip.close());
    });
  });
}

/** yauzl reading straight from range streams of a plan: reads a huge archive without storing it. */
class PlanReader extends yauzl.RandomAccessReader {
  constructor(private readonly plan: ZipPlan) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    return streamZip(this.plan, { start, end: end - 1 }); // yauzl's end is exclusive
  }
}

export function readZipPlan(plan: ZipPlan, wantContent: (entry: yauzl.Entry) => boolean): Promise<ReadEntry[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromRandomAccessReader(new PlanReader(plan), plan.size, { lazyEntries: true }, (error, zip) => {
      if (error) return reject(error);
      readAll(zip, wantContent).then(resolve, reject).finally(() => zip.close());
    });
  });
}

/** A Readable of `length` zero bytes from one reused buffer: constant memory at any length. */
export function zeroStream(length: number): Readable {
  const zeros = Buffer.alloc(1024 * 1024);
  let left = length;
  return new Readable({
    read() {
      const n = Math.min(left, zeros.length);
      left -= n;
      this.push(n > 0 ? zeros.subarray(0, n) : null);
    },
  });
}

/** CRC-32 of `length` zero bytes, computed incrementally over one reused buffer. */
export function zerosCrc32(length: number): number {
  const zeros = Buffer.alloc(16 * 1024 * 1024);
  let crc = 0;
  for (let left = length; left > 0; left -= zeros.length) crc = crc32(zeros.subarray(0, Math.min(left, zeros.length)), crc);
  return crc;
}
