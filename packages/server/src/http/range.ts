/**
 * Single byte-range requests (RFC 9110 §14), If-Range (§13.1.5) and If-None-Match (§13.1.2),
 * docs/security-checklist.md G81.
 *
 * Policy: exactly one range is honoured. Multi-range requests, other units and anything
 * syntactically invalid are ignored (`none`: serve the whole file with 200), which RFC 9110
 * allows and which removes the many-ranges amplification. `unsatisfiable` means 416 with the
 * unsatisfied-range Content-Range (see `unsatisfiedRangeHeader` in download-headers.ts).
 */

export type RangeResult =
  | { kind: 'none' }
  | { kind: 'range'; start: number; end: number }
  | { kind: 'unsatisfiable' };

const NONE: RangeResult = Object.freeze({ kind: 'none' });
const UNSATISFIABLE: RangeResult = Object.freeze({ kind: 'unsatisfiable' });

// `bytes=<range-set>`; each range-spec is `first-[last]` or `-suffix`. Optional whitespace
// around each token is tolerated.
const BYTES_UNIT = /^[ \t]*bytes[ \t]*=(.*)$/is;
const RANGE_SPEC = /^[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$/;

// 2^53 - 1 has 16 digits; longer values (even with leading zeros) are refused before Number().
const MAX_DIGITS = 16;

function toPosition(digits: string): number | null {
  if (digits.length === 0 || digits.length > MAX_DIGITS) return null;
  const value = Number(digits);
  return Number.isSafeInteger(value) ? value : null;
}

/**
 * `end` of a `range` result is inclusive and always < size. `size` is the stored length of the
 * file (a non-negative safe integer, else this throws: that is a server bug, not client input).
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`invalid representation size: ${size}`);
  if (typeof header !== 'string') return NONE;

  const rangeSet = BYTES_UNIT.exec(header)?.[1];
  if (rangeSet === undefined) return NONE;
  // RFC 9110 list syntax tolerates empty elements (`bytes=0-1,`); more than one range is ignored.
  const specs = rangeSet.split(',').filter((spec) => spec.trim() !== '');
  if (specs.length !== 1) return NONE;
  const match = RANGE_SPEC.exec(specs[0]!);
  if (!match) return NONE;
  const [, first = '', last = ''] = match;

  if (first === '') {
    const suffix = toPosition(last);
    if (suffix === null) return NONE;
    if (suffix === 0 || size === 0) return UNSATISFIABLE;
    return { kind: 'range', start: Math.max(0, size - suffix), end: size - 1 };
  }

  const start = toPosition(first);
  if (start === null) return NONE;
  let end = size - 1;
  if (last !== '') {
    const lastPos = toPosition(last);
    if (lastPos === null || lastPos < start) return NONE;
    end = Math.min(lastPos, size - 1);
  }
  if (start >= size) return UNSATISFIABLE;
  return { kind: 'range', start, end };
}

// IMF-fixdate, the only HTTP-date form we emit and that browsers echo back.
const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * Whether a Range may be honoured given If-Range. `etag` is the ETag header value as sent
 * (quoted); `lastModified` the file's modification time. Strong comparison only: a weak tag never
 * matches; a date must equal Last-Modified to the second. Absent header → true. Anything not
 * recognised (including obsolete RFC 850 / asctime dates) → false, i.e. send the whole file,
 * which is always a correct answer.
 */
export function ifRangeAllows(ifRange: string | undefined, etag: string, lastModified: Date): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"')) {
    return value.length >= 2 && value.endsWith('"') && !etag.startsWith('W/') && value === etag;
  }
  if (!IMF_FIXDATE.test(value)) return false;
  const parsed = Date.parse(value);
  const modified = lastModified.getTime();
  // The round trip rejects impossible dates (`31 Feb`, `25:00:00`, wrong weekday).
  if (Number.isNaN(parsed) || Number.isNaN(modified) || new Date(parsed).toUTCString() !== value) return false;
  return Math.floor(modified / 1000) === parsed / 1000;
}

/**
 * If-None-Match on a GET or HEAD: true when the client already holds the current representation
 * (answer 304, send nothing). Weak comparison, as §13.1.2 asks: `W/"x"` matches `"x"`; `*` matches
 * whenever there is a representation. Without an ETag of ours nothing matches.
 */
export function ifNoneMatchHits(ifNoneMatch: string | undefined, etag: string | undefined): boolean {
  if (ifNoneMatch === undefined || !etag) return false;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || opaque(tag) === opaque(etag));
}
