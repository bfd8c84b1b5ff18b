import { fail } from '../errors.ts';

export const INTERVALS = ['hour', 'day', 'week', 'month'] as const;
export type Interval = (typeof INTERVALS)[number];

/** The longest span one query may cover, and the most buckets one answer may hold. */
export const MAX_RANGE_DAYS = 732;
export const MAX_BUCKETS = 1000;
/** Without `from`, a query covers this many days before `to`. */
export const DEFAULT_RANGE_DAYS = 30;

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

export interface TimeRange {
  /** Inclusive start and exclusive end, aligned to the interval's unit (hours for `hour`, else UTC days). */
  from: Date;
  to: Date;
  interval: Interval;
  /** Every bucket's start, oldest first (the first may begin before `from`: a week or month it cuts into). */
  buckets: Date[];
}

export interface RangeInput {
  from?: string;
  to?: string;
  interval?: Interval;
}

/**
 * Reads `from`, `to` and `interval` of an analytics query. Dates are `YYYY-MM-DD` (a `to` date
 * covers that whole day) or ISO 8601 date-times with a zone. The span is widened to whole units
 * (hours for `interval=hour`, UTC days otherwise) because rollups hold days; it may not exceed
 * MAX_RANGE_DAYS nor make more than MAX_BUCKETS buckets; hour buckets need raw events, so they
 * reach back only `rawDays` days. Every refusal is 400 validation_failed naming the problem.
 */
export function parseRange(input: RangeInput, now: Date, rawDays: number, defaultInterval: Interval = 'day'): TimeRange {
  const interval = input.interval ?? defaultInterval;
  const to = input.to === undefined ? now : parseInstant('to', input.to, true);
  const from = input.from === undefined ? new Date(to.getTime() - DEFAULT_RANGE_DAYS * DAY_MS) : parseInstant('from', input.from, false);
  // A `to` day covers that day, but `from` may not begin after the day starts.
  const toStart = input.to !== undefined && DATE_ONLY.test(input.to) ? to.getTime() - DAY_MS : to.getTime();
  if (from.getTime() > toStart) throw fail.validation_failed('`from` must not be after `to`.', { details: { from: input.from, to: input.to } });
  const unit = interval === 'hour' ? HOUR_MS : DAY_MS;
  const start = new Date(Math.floor(from.getTime() / unit) * unit);
  const end = new Date(Math.max(Math.ceil(to.getTime() / unit) * unit, start.getTime() + unit));
  if (end.getTime() - start.getTime() > MAX_RANGE_DAYS * DAY_MS) {
    throw fail.validation_failed(`The range may cover at most ${MAX_RANGE_DAYS} days.`, { details: { max_days: MAX_RANGE_DAYS } });
  }
  if (interval === 'hour') {
    const oldest = Math.floor(now.getTime() / DAY_MS) * DAY_MS - (rawDays - 1) * DAY_MS;
    if (start.getTime() < oldest) {
      throw fail.validation_failed(
        `Hourly buckets exist only for the last ${rawDays} days (FERRY_ANALYTICS_RAW_DAYS); use interval=day, week or month for older ranges.`,
        { details: { oldest_hour: new Date(oldest).toISOString() } },
      );
    }
  }
  const buckets: Date[] = [];
  for (let b = bucketStart(start, interval); b.getTime() < end.getTime(); b = nextBucket(b, interval)) {
    buckets.push(b);
    if (buckets.length > MAX_BUCKETS) {
      throw fail.validation_failed(`interval=${interval} over this range makes more than ${MAX_BUCKETS} buckets; choose a coarser interval or a shorter range.`, {
        details: { max_buckets: MAX_BUCKETS },
      });
    }
  }
  return { from: start, to: end, interval, buckets };
}

/** The start of the bucket holding `t`: the hour, the UTC day, the ISO week (Monday) or the month. */
export function bucketStart(t: Date, interval: Interval): Date {
  const ms = t.getTime();
  switch (interval) {
    case 'hour':
      return new Date(Math.floor(ms / HOUR_MS) * HOUR_MS);
    case 'day':
      return new Date(Math.floor(ms / DAY_MS) * DAY_MS);
    case 'week': {
      const day = Math.floor(ms / DAY_MS) * DAY_MS;
      const weekday = (new Date(day).getUTCDay() + 6) % 7;
      return new Date(day - weekday * DAY_MS);
    }
    case 'month':
      return new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), 1));
  }
}

export function nextBucket(t: Date, interval: Interval): Date {
  switch (interval) {
    case 'hour':
      return new Date(t.getTime() + HOUR_MS);
    case 'day':
      return new Date(t.getTime() + DAY_MS);
    case 'week':
      return new Date(t.getTime() + 7 * DAY_MS);
    case 'month':
      return new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + 1, 1));
  }
}

function parseInstant(name: 'from' | 'to', raw: string, endOfDay: boolean): Date {
  if (DATE_ONLY.test(raw)) {
    const t = calendarDay(name, raw);
    return new Date(endOfDay ? t + DAY_MS : t);
  }
  if (!DATE_TIME.test(raw)) invalid(name, raw);
  calendarDay(name, raw.slice(0, 10));
  const t = Date.parse(raw);
  if (Number.isNaN(t)) invalid(name, raw);
  return new Date(t);
}

/** Midnight UTC of a `YYYY-MM-DD` that names a real day (Date.parse would roll 02-30 into March). */
function calendarDay(name: string, text: string): number {
  const [y, m, d] = text.split('-').map(Number) as [number, number, number];
  const t = Date.UTC(y, m - 1, d);
  const back = new Date(t);
  if (y < 1970 || back.getUTCFullYear() !== y || back.getUTCMonth() !== m - 1 || back.getUTCDate() !== d) invalid(name, text);
  return t;
}

function invalid(name: string, raw: string): never {
  throw fail.validation_failed(`\`${name}\` must be a date (YYYY-MM-DD) or an ISO 8601 date-time with a time zone (got ${JSON.stringify(raw.slice(0, 40))}).`, {
    details: { field: name },
  });
}
