import { Type } from '@sinclair/typebox';
import { USER_METRICS } from '../analytics/analytics-service.ts';
import { INTERVALS, MAX_BUCKETS, MAX_RANGE_DAYS } from '../analytics/time-range.ts';
import { DateTime, Nullable } from './schemas.ts';

/** Analytics and report views and inputs for routes and /openapi.json. */

export const GEOIP_ATTRIBUTION = 'IP Geolocation by DB-IP (https://db-ip.com), CC BY 4.0, unless the operator set FERRY_GEOIP_DB to a database of their own.';

const DateParam = (which: 'from' | 'to') =>
  Type.String({
    maxLength: 40,
    description:
      which === 'from'
        ? 'Start: YYYY-MM-DD or an ISO 8601 date-time with a zone. Default: 30 days before `to`.'
        : 'End: YYYY-MM-DD (that whole day) or an ISO 8601 date-time with a zone (exclusive). Default: now.',
  });

export const RangeQuery = {
  from: Type.Optional(DateParam('from')),
  to: Type.Optional(DateParam('to')),
};

export const AnalyticsQuery = Type.Object(
  {
    ...RangeQuery,
    interval: Type.Optional(
      Type.Union(
        INTERVALS.map((i) => Type.Literal(i)),
        { description: `Bucket size (default day; weeks start on Monday, UTC). At most ${MAX_BUCKETS} buckets and ${MAX_RANGE_DAYS} days per query.` },
      ),
    ),
  },
  { additionalProperties: false },
);

export const UserAnalyticsQuery = Type.Object(
  {
    ...AnalyticsQuery.properties,
    metrics: Type.Optional(Type.String({ maxLength: 500, description: `Comma-separated, default all: ${USER_METRICS.join(', ')}. An unknown name answers 400 naming it.` })),
  },
  { additionalProperties: false },
);

const Figures = {
  downloads: Type.Integer({ description: 'Downloads whose last byte reached the client (as the *.downloaded events count them).' }),
  started: Type.Integer({ description: 'Download responses begun through a link, finished or not (resumes and ranges each count).' }),
  completion_rate: Type.Number({ description: 'downloads / started; 0 when nothing started.' }),
  bytes: Type.Integer({ description: 'Bytes sent.' }),
};

const Bucket = Type.Object({ start: DateTime, ...Figures });
const Country = Type.Object({ country: Nullable(Type.String({ description: 'ISO 3166 alpha-2; null for private addresses or ones not in the database.' })), ...Figures });
const ByRecipient = Type.Object({ recipient_id: Nullable(Type.String({ description: 'null: the shared link' })), email: Nullable(Type.String()), ...Figures });
const ByClient = Type.Object({ family: Nullable(Type.String({ description: 'Browser or client family: Chrome, Firefox, Safari, Edge, curl, python-requests...' })), ...Figures });

const Common = {
  from: DateTime,
  to: Type.String({ format: 'date-time', description: 'Exclusive.' }),
  interval: Type.String(),
  totals: Type.Object(Figures),
  series: Type.Array(Bucket),
  by_country: Type.Array(Country),
  by_recipient: Type.Array(ByRecipient),
  by_user_agent: Type.Array(ByClient),
};

export const TransferAnalyticsView = Type.Object(
  {
    transfer_id: Type.String(),
    ...Common,
    by_file: Type.Array(Type.Object({ file_id: Nullable(Type.String({ description: 'null: the whole transfer as a ZIP' })), name: Nullable(Type.String()), ...Figures })),
  },
  { $id: 'TransferAnalytics', description: `Downloads through the transfer's links (the owner's own are not counted). Country: ${GEOIP_ATTRIBUTION}` },
);

export const FileAnalyticsView = Type.Object(
  { file_id: Type.String(), transfer_id: Type.String(), name: Type.String(), ...Common },
  { $id: 'FileAnalytics', description: `Downloads of one file through links. Country: ${GEOIP_ATTRIBUTION}` },
);

const Optional = <T extends Parameters<typeof Type.Optional>[0]>(t: T) => Type.Optional(t);

export const UserAnalyticsView = Type.Object(
  {
    from: DateTime,
    to: DateTime,
    interval: Type.String(),
    metrics: Type.Array(Type.String()),
    totals: Type.Object({
      ...Object.fromEntries(Object.entries(Figures).map(([k, v]) => [k, Optional(v)])),
      uploads: Optional(Type.Integer({ description: 'Files whose upload completed.' })),
      upload_bytes: Optional(Type.Integer()),
      api_requests: Optional(Type.Integer({ description: 'Authenticated API requests (from the metering counters).' })),
    }),
    series: Type.Array(
      Type.Object({
        start: DateTime,
        ...Object.fromEntries(Object.entries(Figures).map(([k, v]) => [k, Optional(v)])),
        uploads: Optional(Type.Integer()),
        upload_bytes: Optional(Type.Integer()),
        api_requests: Optional(Type.Integer()),
      }),
    ),
    by_transfer: Optional(Type.Array(Type.Object({ transfer_id: Nullable(Type.String()), title: Nullable(Type.String()), ...Figures }), { description: 'The 100 transfers with most downloads.' })),
    by_country: Optional(Type.Array(Country)),
    by_recipient: Optional(Type.Array(Type.Object({ email: Nullable(Type.String({ description: 'null: shared links' })), ...Figures }), { description: 'Per recipient address across transfers, top 100.' })),
    active_transfers: Optional(Type.Integer({ description: 'Ready transfers not deleted or expired, now.' })),
    storage_bytes: Optional(Type.Integer({ description: 'Bytes of complete files in transfers not yet purged, now.' })),
  },
  { $id: 'UserAnalytics', description: `The account's analytics; only the sections \`metrics\` asked for. Country: ${GEOIP_ATTRIBUTION}` },
);

export const ScheduleView = Type.Object(
  {
    id: Type.String({ description: 'rsc_ id' }),
    type: Type.String(),
    interval: Type.String(),
    format: Type.String(),
    email: Type.String({ description: "The account's address: reports go nowhere else." }),
    next_run_at: DateTime,
    last_run_at: Nullable(DateTime),
    created_at: DateTime,
  },
  { $id: 'ReportSchedule' },
);

export const analyticsSchemas = [TransferAnalyticsView, FileAnalyticsView, UserAnalyticsView, ScheduleView];
