import { Type } from '@sinclair/typebox';
import type { SpeedTestRow } from '../repositories/speed-tests-repository.ts';
import { SPEED_TEST_LIMITS } from '../services/speed-test-input.ts';
import { DateTime, Nullable } from './schemas.ts';

/** Speed test views and inputs for routes and /openapi.json (registered with the shared schemas). */

const { maxMilliseconds, maxMbps } = SPEED_TEST_LIMITS;
const Milliseconds = (description: string) => Type.Number({ minimum: 0, maximum: maxMilliseconds, description: `${description} (0 to ${maxMilliseconds}).` });
const Mbps = (description: string) => Type.Number({ minimum: 0, maximum: maxMbps, description: `${description}, in megabits (10^6 bits) per second (0 to ${maxMbps}).` });
const Label = (max: number, description: string) =>
  Type.String({ maxLength: max, description: `${description}: at most ${max} characters, trimmed (empty = null), no control characters, line separators or bidi overrides.` });
const Country = Type.String({ minLength: 2, maxLength: 2, pattern: '^[A-Za-z]{2}$', description: 'ISO 3166-1 alpha-2 code ("US"); any case is accepted and stored in upper case.' });

export const SpeedTestBody = Type.Object(
  {
    ping_ms: Milliseconds('Round-trip latency in milliseconds'),
    jitter_ms: Type.Optional(Nullable(Milliseconds('Variation of the latency in milliseconds'))),
    download_mbps: Mbps('Download rate'),
    upload_mbps: Mbps('Upload rate'),
    public: Type.Optional(Type.Boolean({ description: 'List the result in GET /api/v1/speed-tests/public (without its owner). Default false.' })),
    display_name: Type.Optional(Nullable(Label(SPEED_TEST_LIMITS.displayName, 'A name to show with a public result'))),
    isp: Type.Optional(Nullable(Label(SPEED_TEST_LIMITS.isp, 'The network provider'))),
    country: Type.Optional(Nullable(Country)),
    location: Type.Optional(Nullable(Label(SPEED_TEST_LIMITS.location, 'Where the test ran, as the submitter names it'))),
  },
  { additionalProperties: false },
);

const measured = {
  id: Type.String({ description: 'spd_ id' }),
  ping_ms: Type.Number(),
  jitter_ms: Nullable(Type.Number()),
  download_mbps: Type.Number(),
  upload_mbps: Type.Number(),
};
const labels = {
  display_name: Nullable(Type.String()),
  isp: Nullable(Type.String()),
  country: Nullable(Type.String({ description: 'ISO 3166-1 alpha-2, upper case.' })),
  location: Nullable(Type.String()),
  created_at: DateTime,
};

export const SpeedTestView = Type.Object({ ...measured, public: Type.Boolean(), ...labels }, { $id: 'SpeedTest', description: 'A stored speed test result.' });

export const PublicSpeedTestView = Type.Object(
  { ...measured, ...labels },
  { $id: 'PublicSpeedTest', description: 'A result its submitter made public: the numbers and the labels they chose, nothing about who they are.' },
);

export const speedTestSchemas = [SpeedTestView, PublicSpeedTestView];

export function speedTestView(row: SpeedTestRow) {
  return { ...publicSpeedTestView(row), public: row.public === 1 };
}

/** Only these fields: no user id, email or account name, whatever the row holds. */
export function publicSpeedTestView(row: SpeedTestRow) {
  return {
    id: row.id,
    ping_ms: row.ping_ms,
    jitter_ms: row.jitter_ms,
    download_mbps: row.download_mbps,
    upload_mbps: row.upload_mbps,
    display_name: row.display_name,
    isp: row.isp,
    country: row.country,
    location: row.location,
    created_at: row.created_at,
  };
}
