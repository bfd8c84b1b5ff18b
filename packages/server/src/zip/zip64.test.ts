import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveZip64 } from './zip-format.ts';
import { planZip, type ZipEntrySource } from './zip-plan.ts';
import { streamZip } from './zip-stream.ts';
import {
  collect,
  memorySource,
  MTIME,
  readZipBuffer,
  readZipPlan,
  sha256,
  streamToFile,
  zeroStream,
  zerosCrc32,
  type OpenCall,
} from './zip-test-helpers.ts';

const UNZIP = ['/usr/bin/unzip', '/bin/unzip', '/usr/local/bin/unzip'].find((path) => existsSync(path));
const FOUR_GIB = 2 ** 32;
const HUGE = FOUR_GIB + 10;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-zip64-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function zeroSource(name: string, size: number, crc32: number, calls: OpenCall[]): ZipEntrySource {
  return {
    name,
    size,
    crc32,
    mtime: MTIME,
    async open(start, end) {
      calls.push({ name, start, end });
      return zeroStream(end - start + 1);
    },
  };
}

/** Plan-only source: never streamed, so its CRC is irrelevant. */
function sized(name: string, size: number): ZipEntrySource {
  return { name, size, crc32: 0, mtime: MTIME, open: () => Promise.reject(new Error('not streamed')) };
}

describe('ZIP64: an entry just over 4 GiB, never materialised', () => {
  const calls: OpenCall[] = [];
  const before = Buffer.from('before the big one');
  const after = Buffer.from('after the big one, at an offset past 4 GiB');
  let crc: number;
  let plan: ReturnType<typeof planZip>;

  beforeAll(() => {
    crc = zerosCrc32(HUGE);
    expect(crc).toBe(0x6b87b1ec); // cross-checked with Python's zlib
    plan = planZip([
      memorySource('before.txt', before, calls),
      zeroSource('huge.bin', HUGE, crc, calls),
      memorySource('after.txt', after, calls),
    ]);
  });

  it('plans ZIP64 extras exactly where sizes or offsets need them, and the right total size', () => {
    const [a, huge, c] = plan.entries;
    expect([a!.zip64Sizes, a!.zip64Offset]).toEqual([false, false]);
    expect([huge!.zip64Sizes, huge!.zip64Offset]).toEqual([true, false]);
    expect([c!.zip64Sizes, c!.zip64Offset]).toEqual([false, true]);
    expect(plan.zip64).toBe(true);

    // Local: 30 + name + UT(9) [+ ZIP64 sizes 20]. Central: 46 + name + UT(9) [+ 4 + 8 per ZIP64 value].
    const local = 30 + 10 + 9 + (30 + 8 + 9 + 20) + (30 + 9 + 9);
    const central = 46 + 10 + 9 + (46 + 8 + 9 + 20) + (46 + 9 + 9 + 12);
    const data = before.length + HUGE + after.length;
    expect(plan.centralDirectoryOffset).toBe(local + data);
    expect(plan.centralDirectorySize).toBe(central);
    expect(plan.size).toBe(local + data + central + 56 + 20 + 22);
    expect(c!.headerOffset).toBe(30 + 10 + 9 + before.length + (30 + 8 + 9 + 20) + HUGE);
  });

  it('writes ZIP64 end record, locator, central headers and end record correctly in the tail', async () => {
    const start = plan.size - 1024;
    const tail = await collect(streamZip(plan, { start, end: plan.size - 1 }));
    expect(tail.length).toBe(1024);
    const at = (offset: number): number => offset - start;

    const end = tail.subarray(1024 - 22);
    expect(end.readUInt32LE(0)).toBe(0x06054b50);
    expect([end.readUInt16LE(8), end.readUInt16LE(10)]).toEqual([0xffff, 0xffff]);
    expect([end.readUInt32LE(12), end.readUInt32LE(16), end.readUInt16LE(20)]).toEqual([0xffffffff, 0xffffffff, 0]);

    const locator = tail.subarray(1024 - 42, 1024 - 22);
    expect(locator.readUInt32LE(0)).toBe(0x07064b50);
    const zip64EndOffset = Number(locator.readBigUInt64LE(8));
    expect(zip64EndOffset).toBe(plan.centralDirectoryOffset + plan.centralDirectorySize);
    expect(locator.readUInt32LE(16)).toBe(1);

    const record = tail.subarray(at(zip64EndOffset), at(zip64EndOffset) + 56);
    expect(record.readUInt32LE(0)).toBe(0x06064b50);
    expect(record.readBigUInt64LE(4)).toBe(44n);
    expect(record.readUInt16LE(14)).toBe(45);
    expect([record.readUInt32LE(16), record.readUInt32LE(20)]).toEqual([0, 0]);
    expect(record.readBigUInt64LE(24)).toBe(3n);
    expect(record.readBigUInt64LE(32)).toBe(3n);
    expect(Number(record.readBigUInt64LE(40))).toBe(plan.centralDirectorySize);
    expect(Number(record.readBigUInt64LE(48))).toBe(plan.centralDirectoryOffset);

    // Central header of huge.bin: sizes are markers, the ZIP64 extra carries both real sizes.
    const hugeHeader = tail.subarray(at(plan.centralDirectoryOffset) + 46 + 10 + 9);
    expect(hugeHeader.readUInt32LE(0)).toBe(0x02014b50);
    expect(hugeHeader.readUInt16LE(6)).toBe(45);
    expect(hugeHeader.readUInt32LE(16)).toBe(crc);
    expect([hugeHeader.readUInt32LE(20), hugeHeader.readUInt32LE(24)]).toEqual([0xffffffff, 0xffffffff]);
    expect(hugeHeader.subarray(46, 54).toString()).toBe('huge.bin');
    const extra = hugeHeader.subarray(54);
    expect([extra.readUInt16LE(0), extra.readUInt16LE(2)]).toEqual([0x0001, 16]);
    expect([Number(extra.readBigUInt64LE(4)), Number(extra.readBigUInt64LE(12))]).toEqual([HUGE, HUGE]);
  });

  it('writes both sizes in the local ZIP64 extra of the big entry', async () => {
    const huge = plan.entries[1]!;
    const header = await collect(streamZip(plan, { start: huge.headerOffset, end: huge.dataOffset - 1 }));
    expect(header.readUInt32LE(0)).toBe(0x04034b50);
    expect([header.readUInt32LE(18), header.readUInt32LE(22)]).toEqual([0xffffffff, 0xffffffff]);
    const extra = header.subarray(30 + 8);
    expect([extra.readUInt16LE(0), extra.readUInt16LE(2)]).toEqual([0x0001, 16]);
    expect([Number(extra.readBigUInt64LE(4)), Number(extra.readBigUInt64LE(12))]).toEqual([HUGE, HUGE]);
  });

  it('streams a range across the end of the big body, opening it for just that tail', async () => {
    const huge = plan.entries[1]!;
    const bodyEnd = huge.dataOffset + HUGE; // first byte after the body
    calls.length = 0;
    const bytes = await collect(streamZip(plan, { start: bodyEnd - 100, end: bodyEnd + 3 }));
    expect(calls).toEqual([{ name: 'huge.bin', start: HUGE - 100, end: HUGE - 1 }]);
    expect(bytes.subarray(0, 100).equals(Buffer.alloc(100))).toBe(true);
    expect(bytes.readUInt32LE(100)).toBe(0x04034b50);
  });

  it('is read by yauzl straight from range streams, including the entry past 4 GiB', async () => {
    const entries = await readZipPlan(plan, (entry) => entry.fileName !== 'huge.bin');
    expect(entries.map((e) => [e.name, e.size])).toEqual([
      ['before.txt', before.length],
      ['huge.bin', HUGE],
      ['after.txt', after.length],
    ]);
    expect(entries[0]!.sha256).toBe(sha256(before));
    expect(entries[1]!.crc32).toBe(crc);
    expect(entries[2]!.offset).toBeGreaterThan(FOUR_GIB);
    expect(entries[2]!.sha256).toBe(sha256(after));
  });
});

describe('ZIP64 thresholds', () => {
  it('switches per entry at 0xFFFFFFFF (the marker value itself)', () => {
    const plan = planZip([sized('a', 0xfffffffe), sized('b', 0xffffffff)]);
    expect(plan.entries.map((e) => [e.zip64Sizes, e.zip64Offset])).toEqual([
      [false, false],
      [true, true],
    ]);
    expect(plan.zip64).toBe(true);
  });

  it('needs the ZIP64 end record from 65,535 entries or a 32-bit overflowing directory', () => {
    expect(archiveZip64(65_534, 0xfffffffe, 0)).toBe(false);
    expect(archiveZip64(65_535, 0, 0)).toBe(true);
    expect(archiveZip64(1, 0xffffffff, 0)).toBe(true);
    expect(archiveZip64(1, 0, 0xffffffff)).toBe(true);
  });
});

describe('ZIP64: 65,536 empty entries', () => {
  it('is read back entirely by yauzl and passes unzip -t', async () => {
    const count = 65_536;
    const sources = Array.from({ length: count }, (_, i) => sized(`f${i}.txt`, 0));
    const plan = planZip(sources);
    expect(plan.zip64).toBe(true);

    const path = join(dir, 'many.zip');
    expect(await streamToFile(streamZip(plan), path)).toBe(plan.size);
    const entries = await readZipBuffer(await readFile(path), () => false);
    expect(entries.length).toBe(count);
    expect(entries[0]!.name).toBe('f0.txt');
    expect(entries[count - 1]!.name).toBe(`f${count - 1}.txt`);
    expect(entries.every((e, i) => e.size === 0 && e.name === `f${i}.txt`)).toBe(true);

    if (UNZIP) {
      const { stdout } = await promisify(execFile)(UNZIP, ['-tq', path], { maxBuffer: 1 << 20 });
      expect(stdout).toMatch(/No errors detected/);
    }
  });
});
