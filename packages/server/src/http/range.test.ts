import { describe, expect, it } from 'vitest';
import { ifNoneMatchHits, ifRangeAllows, parseRange } from './range.ts';

const NONE = { kind: 'none' };
const UNSATISFIABLE = { kind: 'unsatisfiable' };
const range = (start: number, end: number) => ({ kind: 'range', start, end });

describe('parseRange', () => {
  it.each([
    ['bytes=0-0', range(0, 0)],
    ['bytes=0-99', range(0, 99)],
    ['bytes=10-19', range(10, 19)],
    ['bytes=90-', range(90, 99)],
    ['bytes=0-', range(0, 99)],
    ['bytes=-10', range(90, 99)],
    ['bytes=-1', range(99, 99)],
    ['bytes=99-99', range(99, 99)],
    ['bytes=007-008', range(7, 8)],
    ['BYTES=1-2', range(1, 2)],
    ['  bytes = 1 - 2  ', range(1, 2)],
    ['bytes=\t5-\t6', range(5, 6)],
    ['bytes=1-2,', range(1, 2)], // empty list elements are not a second range
    ['bytes=, 1-2', range(1, 2)],
  ])('%j on 100 bytes -> %j', (header, expected) => {
    expect(parseRange(header, 100)).toEqual(expected);
  });

  it('clamps the end to size - 1', () => {
    expect(parseRange('bytes=50-1000', 100)).toEqual(range(50, 99));
    expect(parseRange('bytes=0-9007199254740991', 100)).toEqual(range(0, 99));
  });

  it('serves a suffix longer than the file as the whole file', () => {
    expect(parseRange('bytes=-500', 100)).toEqual(range(0, 99));
    expect(parseRange('bytes=-100', 100)).toEqual(range(0, 99));
  });

  it('G81: start at or past the end of file is unsatisfiable', () => {
    expect(parseRange('bytes=100-', 100)).toEqual(UNSATISFIABLE);
    expect(parseRange('bytes=100-200', 100)).toEqual(UNSATISFIABLE);
    expect(parseRange('bytes=5000-5001', 100)).toEqual(UNSATISFIABLE);
  });

  it('a zero-length suffix is unsatisfiable', () => {
    expect(parseRange('bytes=-0', 100)).toEqual(UNSATISFIABLE);
  });

  it.each(['bytes=0-0', 'bytes=0-', 'bytes=-1', 'bytes=5-10'])('an empty file makes %j unsatisfiable', (header) => {
    expect(parseRange(header, 0)).toEqual(UNSATISFIABLE);
  });

  it('G81: ignores multi-range requests, including 1 000 ranges', () => {
    expect(parseRange('bytes=0-0,1-1', 100)).toEqual(NONE);
    expect(parseRange('bytes=0-9, 20-29', 100)).toEqual(NONE);
    expect(parseRange('bytes=0-0,0-0', 100)).toEqual(NONE);
    const many = 'bytes=' + Array.from({ length: 1000 }, (_, i) => `${i}-${i}`).join(',');
    expect(parseRange(many, 10_000)).toEqual(NONE);
  });

  it.each([
    undefined,
    '',
    'bytes',
    'bytes=',
    'bytes=-',
    'bytes 0-1',
    'bytes=0_1',
    'items=0-1', // other units
    'none',
    'bytes=1e3-',
    'bytes=0x10-',
    'bytes=+1-2',
    'bytes=1-+2',
    'bytes=-+5',
    'bytes=--5',
    'bytes=1.5-2',
    'bytes=1-2.0',
    'bytes=a-b',
    'bytes=1-2-3',
    'bytes=５-６', // non-ASCII digits
    'bytes=5-3', // last < first
    'bytes=9007199254740992-', // 2^53, not a safe integer
    'bytes=0-9007199254740992',
    'bytes=-9007199254740992',
    'bytes=00000000000000001-', // 17 digits
    `bytes=0-${'9'.repeat(40)}`,
    'bytes=0-1;x',
  ])('ignores invalid header %j', (header) => {
    expect(parseRange(header, 100)).toEqual(NONE);
  });

  it('ignores an invalid header even for an empty file', () => {
    expect(parseRange('bytes=0-0,1-1', 0)).toEqual(NONE);
    expect(parseRange(undefined, 0)).toEqual(NONE);
  });

  it('rejects an invalid representation size as a programming error', () => {
    expect(() => parseRange('bytes=0-0', -1)).toThrow(RangeError);
    expect(() => parseRange('bytes=0-0', 1.5)).toThrow(RangeError);
    expect(() => parseRange('bytes=0-0', Number.NaN)).toThrow(RangeError);
  });

  it('handles files beyond 4 GiB without precision loss', () => {
    const size = 5 * 2 ** 30;
    expect(parseRange('bytes=4294967296-', size)).toEqual(range(2 ** 32, size - 1));
    expect(parseRange('bytes=-1', size)).toEqual(range(size - 1, size - 1));
  });
});

describe('ifRangeAllows', () => {
  const etag = `"${'ab'.repeat(32)}"`;
  const lastModified = new Date('2024-03-05T10:20:30.789Z');
  const httpDate = 'Tue, 05 Mar 2024 10:20:30 GMT';

  it('allows the range when the header is absent', () => {
    expect(ifRangeAllows(undefined, etag, lastModified)).toBe(true);
  });

  it('matches a strong ETag exactly', () => {
    expect(ifRangeAllows(etag, etag, lastModified)).toBe(true);
    expect(ifRangeAllows(` ${etag} `, etag, lastModified)).toBe(true);
    expect(ifRangeAllows(`"${'cd'.repeat(32)}"`, etag, lastModified)).toBe(false);
    expect(ifRangeAllows(etag.toUpperCase(), etag, lastModified)).toBe(false);
    expect(ifRangeAllows(etag.slice(1, -1), etag, lastModified)).toBe(false);
  });

  it('never matches weak ETags', () => {
    expect(ifRangeAllows(`W/${etag}`, etag, lastModified)).toBe(false);
    expect(ifRangeAllows(`W/${etag}`, `W/${etag}`, lastModified)).toBe(false);
    expect(ifRangeAllows(etag, `W/${etag}`, lastModified)).toBe(false);
  });

  it('never matches when no ETag is known', () => {
    expect(ifRangeAllows('""', '', lastModified)).toBe(false);
    expect(ifRangeAllows('"x"', '', lastModified)).toBe(false);
  });

  it('compares an HTTP-date with Last-Modified at second precision', () => {
    expect(ifRangeAllows(httpDate, etag, lastModified)).toBe(true);
    expect(ifRangeAllows(lastModified.toUTCString(), etag, lastModified)).toBe(true);
    expect(ifRangeAllows('Tue, 05 Mar 2024 10:20:31 GMT', etag, lastModified)).toBe(false);
    expect(ifRangeAllows('Tue, 05 Mar 2024 10:20:29 GMT', etag, lastModified)).toBe(false); // not "<="
  });

  it.each([
    '',
    'garbage',
    'Tuesday, 05-Mar-24 10:20:30 GMT', // RFC 850 form: not recognised, whole file is served
    'Tue Mar  5 10:20:30 2024', // asctime
    '2024-03-05T10:20:30Z',
    'Wed, 05 Mar 2024 10:20:30 GMT', // wrong weekday
    'Tue, 05 Mar 2024 10:20:30 UTC',
    'Fri, 31 Feb 2024 10:20:30 GMT',
    '1709634030',
  ])('treats an unrecognised validator %j as not matching', (value) => {
    expect(ifRangeAllows(value, etag, lastModified)).toBe(false);
  });

  it('does not match against an invalid Last-Modified', () => {
    expect(ifRangeAllows(httpDate, etag, new Date(Number.NaN))).toBe(false);
  });
});

describe('ifNoneMatchHits', () => {
  const etag = `"${'ab'.repeat(32)}"`;
  it.each([
    [etag, true],
    [`W/${etag}`, true],
    [`"other", ${etag}`, true],
    [' * ', true],
    ['"other"', false],
    ['', false],
    [etag.slice(0, -1), false],
  ])('%j against the current tag: %s', (header, hit) => {
    expect(ifNoneMatchHits(header, etag)).toBe(hit);
  });

  it('never matches without a header or without an ETag of ours', () => {
    expect(ifNoneMatchHits(undefined, etag)).toBe(false);
    expect(ifNoneMatchHits('*', undefined)).toBe(false);
  });
});
