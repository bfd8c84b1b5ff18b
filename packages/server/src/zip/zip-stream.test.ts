import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dosDateTime } from './zip-format.ts';
import { planZip, type ZipEntrySource, type ZipPlan } from './zip-plan.ts';
import { streamZip } from './zip-stream.ts';
import {
  collect,
  fileSource,
  memorySource,
  MTIME,
  randomData,
  readZipFile,
  sha256,
  streamToFile,
  type OpenCall,
} from './zip-test-helpers.ts';

const UNZIP = ['/usr/bin/unzip', '/bin/unzip', '/usr/local/bin/unzip'].find((path) => existsSync(path));

let dir: string;
let calls: OpenCall[];
let contents: Map<string, Buffer>;
let plan: ZipPlan;
let whole: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-zip-'));
  calls = [];
  contents = new Map([
    ['small.bin', randomData(1000)],
    ['empty.txt', Buffer.alloc(0)],
    ['Résumé 履歴書.pdf', randomData(150_000)],
    ['🎉 party 👨‍👩‍👧.png', randomData(3)],
    ['also-empty', Buffer.alloc(0)],
    ['big.dat', randomData(2_500_000)],
  ]);
  const sources: ZipEntrySource[] = [];
  for (const [name, data] of contents) {
    sources.push(name === 'big.dat' ? await fileSource(dir, name, data) : memorySource(name, data, calls));
  }
  plan = planZip(sources);
  whole = await collect(streamZip(plan));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('streamZip: whole archive', () => {
  it('streams exactly plan.size bytes, readable by yauzl with the right names, sizes and content', async () => {
    const path = join(dir, 'whole.zip');
    expect(await streamToFile(streamZip(plan), path)).toBe(plan.size);
    expect(whole.length).toBe(plan.size);

    const entries = await readZipFile(path);
    expect(entries.map((e) => e.name)).toEqual([...contents.keys()]);
    for (const entry of entries) {
      const data = contents.get(entry.name)!;
      expect(entry.size).toBe(data.length);
      expect(entry.sha256).toBe(sha256(data));
      expect(entry.method).toBe(0);
      expect(entry.flags).toBe(0x0800); // UTF-8 names, no data descriptor
      expect(entry.mtime.getTime()).toBe(Math.floor(MTIME.getTime() / 1000) * 1000); // from the 0x5455 field
      const dos = dosDateTime(MTIME);
      expect([entry.dosDate, entry.dosTime]).toEqual([dos.date, dos.time]);
      expect(entry.extraIds).toEqual([0x5455]);
    }
  });

  it.skipIf(!UNZIP)('passes `unzip -t` (CRC and local/central header consistency)', async () => {
    const path = join(dir, 'whole.zip');
    const { stdout } = await promisify(execFile)(UNZIP!, ['-t', path]);
    expect(stdout).toMatch(/No errors detected/);
  });

  it('lays out the segments contiguously over 0..size-1 and matches the plan', () => {
    let offset = 0;
    for (const segment of plan.segments) {
      expect(segment.offset).toBe(offset);
      expect(segment.length).toBeGreaterThan(0);
      offset += segment.length;
    }
    expect(offset).toBe(plan.size);
    for (const entry of plan.entries) {
      expect(whole.readUInt32LE(entry.headerOffset)).toBe(0x04034b50);
      expect(whole.subarray(entry.dataOffset, entry.dataOffset + entry.size).equals(contents.get(entry.name)!)).toBe(true);
    }
    expect(whole.readUInt32LE(plan.centralDirectoryOffset)).toBe(0x02014b50);
    expect(whole.readUInt32LE(plan.size - 22)).toBe(0x06054b50);
    expect(plan.zip64).toBe(false);
  });

  it('serves one plan to several concurrent streams', async () => {
    const copies = await Promise.all([collect(streamZip(plan)), collect(streamZip(plan)), collect(streamZip(plan))]);
    for (const copy of copies) expect(copy.equals(whole)).toBe(true);
  });

  it('handles an archive with no entries, and one of only empty entries without opening any', async () => {
    const empty = planZip([]);
    expect(empty.size).toBe(22);
    expect(await readZipFile(await writeTmp(empty, 'none.zip'))).toEqual([]);

    const opened: OpenCall[] = [];
    const zeros = planZip([memorySource('a', Buffer.alloc(0), opened), memorySource('b', Buffer.alloc(0), opened)]);
    const entries = await readZipFile(await writeTmp(zeros, 'zeros.zip'));
    expect(entries.map((e) => [e.name, e.size, e.sha256])).toEqual([
      ['a', 0, sha256(Buffer.alloc(0))],
      ['b', 0, sha256(Buffer.alloc(0))],
    ]);
    expect(opened).toEqual([]);
  });
});

async function writeTmp(p: ZipPlan, name: string): Promise<string> {
  const path = join(dir, name);
  await streamToFile(streamZip(p), path);
  return path;
}

describe('streamZip: ranges', () => {
  function interestingOffsets(): number[] {
    const offsets = new Set<number>([0, 1, 29, 30, plan.size - 23, plan.size - 22, plan.size - 2]);
    for (const entry of plan.entries) {
      for (const at of [entry.headerOffset, entry.headerOffset + 5, entry.dataOffset - 1, entry.dataOffset]) offsets.add(at);
      if (entry.size > 1) offsets.add(entry.dataOffset + Math.floor(entry.size / 2));
      offsets.add(entry.dataOffset + entry.size - 1);
    }
    offsets.add(plan.centralDirectoryOffset + 17);
    return [...offsets].filter((k) => k >= 0 && k < plan.size - 1).sort((a, b) => a - b);
  }

  it('concatenating [0..k] and [k+1..end] gives the whole archive for splits in headers, bodies and the tail', async () => {
    const splits = interestingOffsets();
    expect(splits.length).toBeGreaterThan(30);
    for (const k of splits) {
      const head = await collect(streamZip(plan, { start: 0, end: k }));
      const tail = await collect(streamZip(plan, { start: k + 1, end: plan.size - 1 }));
      expect(head.length, `split at ${k}`).toBe(k + 1);
      expect(Buffer.concat([head, tail]).equals(whole), `split at ${k}`).toBe(true);
    }
  });

  it('serves arbitrary inner ranges, including single bytes', async () => {
    const offsets = interestingOffsets();
    const ranges: Array<[number, number]> = [[0, 0], [plan.size - 1, plan.size - 1]];
    for (let i = 0; i + 3 < offsets.length; i++) ranges.push([offsets[i]!, offsets[i + 3]!], [offsets[i]!, offsets[i]!]);
    for (const [start, end] of ranges) {
      const part = await collect(streamZip(plan, { start, end }));
      expect(part.equals(whole.subarray(start, end + 1)), `range ${start}..${end}`).toBe(true);
    }
  });

  it('opens only the overlapping entries, each for exactly the needed sub-range', async () => {
    const resume = plan.entries.find((e) => e.name === 'Résumé 履歴書.pdf')!;
    const party = plan.entries.find((e) => e.name.startsWith('🎉'))!;
    calls.length = 0;
    await collect(streamZip(plan, { start: resume.dataOffset + 100, end: party.dataOffset + 1 }));
    expect(calls).toEqual([
      { name: resume.name, start: 100, end: resume.size - 1 },
      { name: party.name, start: 0, end: 1 },
    ]);

    calls.length = 0;
    await collect(streamZip(plan, { start: resume.dataOffset + 10, end: resume.dataOffset + 20 }));
    expect(calls).toEqual([{ name: resume.name, start: 10, end: 20 }]);

    calls.length = 0;
    await collect(streamZip(plan, { start: resume.headerOffset, end: resume.dataOffset - 1 }));
    await collect(streamZip(plan, { start: plan.centralDirectoryOffset, end: plan.size - 1 }));
    expect(calls).toEqual([]);
  });

  it.each([
    [-1, 5],
    [5, 4],
    [0, Number.NaN],
    [0.5, 4],
  ])('rejects the invalid range %d..%d', (start, end) => {
    expect(() => streamZip(plan, { start, end })).toThrow(RangeError);
  });

  it('rejects a range ending past the archive', () => {
    expect(() => streamZip(plan, { start: 0, end: plan.size })).toThrow(RangeError);
  });
});
