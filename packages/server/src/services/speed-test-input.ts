import { fail } from '../errors.ts';
import { isCountryCode } from '../domain/countries.ts';

/** A speed test result as a client submits it (the Trinsfer fields). */
export interface SpeedTestInput {
  ping_ms: number;
  jitter_ms?: number | null;
  download_mbps: number;
  upload_mbps: number;
  public?: boolean;
  display_name?: string | null;
  isp?: string | null;
  country?: string | null;
  location?: string | null;
}

/** The bounds the API documents; the route schemas and the checks below share them. */
export const SPEED_TEST_LIMITS = {
  /** A minute: no round trip a client would report takes longer. */
  maxMilliseconds: 60_000,
  /** 1 Tbit/s, far above any link a client measures today. */
  maxMbps: 1_000_000,
  displayName: 64,
  isp: 100,
  location: 100,
} as const;

/**
 * Control characters (NUL, CR/LF, ANSI escapes), line and paragraph separators, bidi overrides
 * and lone surrogates: none belongs in a label shown to others, and PostgreSQL refuses NUL and
 * broken UTF-16 (which would be a 500).
 */
const FORBIDDEN_TEXT = /[\p{Cc}\p{Cs}\u2028\u2029\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;

/** The row fields of a submitted result, every value checked again whoever called. */
export function checkSpeedTest(input: SpeedTestInput) {
  const { maxMilliseconds, maxMbps } = SPEED_TEST_LIMITS;
  return {
    ping_ms: checkNumber('ping_ms', input.ping_ms, maxMilliseconds),
    jitter_ms: input.jitter_ms === undefined || input.jitter_ms === null ? null : checkNumber('jitter_ms', input.jitter_ms, maxMilliseconds),
    download_mbps: checkNumber('download_mbps', input.download_mbps, maxMbps),
    upload_mbps: checkNumber('upload_mbps', input.upload_mbps, maxMbps),
    public: input.public === true ? 1 : 0,
    display_name: checkText('display_name', input.display_name, SPEED_TEST_LIMITS.displayName),
    isp: checkText('isp', input.isp, SPEED_TEST_LIMITS.isp),
    country: checkCountry(input.country),
    location: checkText('location', input.location, SPEED_TEST_LIMITS.location),
  };
}

function checkNumber(field: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max) {
    throw fail.validation_failed(`${field} must be a number from 0 to ${max}.`, { details: { field } });
  }
  // -0 is stored and shown as 0.
  return value === 0 ? 0 : value;
}

/** Trimmed; empty means not given (null). */
function checkText(field: string, value: unknown, max: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw fail.validation_failed(`${field} must be a string or null.`, { details: { field } });
  if (FORBIDDEN_TEXT.test(value)) throw fail.validation_failed(`${field} must not contain control characters, line separators or bidi overrides.`, { details: { field } });
  const text = value.trim();
  if ([...text].length > max) throw fail.validation_failed(`${field} must have at most ${max} characters.`, { details: { field } });
  return text === '' ? null : text;
}

/** ISO 3166-1 alpha-2; sent in either case, stored in upper case. */
function checkCountry(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const code = typeof value === 'string' ? value.toUpperCase() : '';
  if (!/^[A-Z]{2}$/.test(code) || !isCountryCode(code)) {
    throw fail.validation_failed('country must be an ISO 3166-1 alpha-2 code such as "US" or "DE", or null.', { details: { field: 'country' } });
  }
  return code;
}
