import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { create as attachmentDisposition } from 'content-disposition';
import { REPORT_COLUMNS, REPORT_FORMATS, REPORT_TYPES, streamReport } from '../../analytics/report-service.ts';
import { MAX_EMAILED_ROWS, MAX_SCHEDULES_PER_ACCOUNT } from '../../analytics/report-schedules.ts';
import { RangeQuery } from '../analytics-schemas.ts';
import { Data, errorResponses, IdParam, Page } from '../schemas.ts';
import type { RouteContext } from './index.ts';

const literals = <T extends string>(values: readonly T[], description: string) => Type.Union(values.map((v) => Type.Literal(v)), { description });
const ReportType = literals(REPORT_TYPES, 'transfers: one row per transfer created in the range; downloads: one row per download through a link (kept FERRY_ANALYTICS_RAW_DAYS); usage: one row per day.');
const Format = literals(REPORT_FORMATS, 'json (default for GET; {"data":[...]}) or csv (a header row, then one row per line).');
const Interval = literals(['daily', 'weekly', 'monthly'] as const, 'Sent after each UTC day, ISO week (Monday to Sunday) or calendar month, covering that period.');

const ReportQuery = Type.Object({ type: ReportType, ...RangeQuery, format: Type.Optional(Format) }, { additionalProperties: false });
const ScheduleBody = Type.Object(
  {
    type: ReportType,
    interval: Interval,
    format: Type.Optional(Type.Union(REPORT_FORMATS.map((v) => Type.Literal(v)), { description: 'Attachment format; default csv.' })),
    email: Type.Optional(Type.String({ maxLength: 320, description: "The account's own address (the default). Any other answers 400: reports are never sent elsewhere." })),
  },
  { additionalProperties: false },
);
const ReportRows = Type.Object({ data: Type.Array(Type.Record(Type.String(), Type.Unknown())) });

const columnsDoc = REPORT_TYPES.map((t) => `${t}: ${REPORT_COLUMNS[t].join(', ')}`).join('; ');

/** Reports, streamed (scope analytics:read), and scheduled reports sent by email. */
export function reportRoutes(server: FastifyInstance, { services }: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['analytics'];
  const auth = { scope: 'analytics:read' as const };

  app.get('/api/v1/reports', {
    config: { auth },
    schema: {
      tags,
      operationId: 'getReport',
      summary: 'A report of the account as JSON or CSV, streamed',
      description:
        `Rows are read from the database in batches and streamed as they come, so a year of downloads never sits in memory. Columns: ${columnsDoc}. ` +
        'CSV answers carry Content-Disposition: attachment. `from`/`to` are whole UTC days, at most 732 days apart.',
      querystring: ReportQuery,
      response: {
        200: {
          description: 'The report.',
          content: { 'application/json': { schema: ReportRows }, 'text/csv': { schema: Type.String() } },
        },
        ...errorResponses(400, 401, 403),
      },
    },
  }, async (request, reply) => {
    const { type, from, to, format = 'json' } = request.query;
    const report = services.reports.report(request.principal!.userId, type, { from, to });
    const body = streamReport(report, format);
    if (format === 'csv') {
      const name = `ferry-${type}-${report.from.slice(0, 10)}-to-${new Date(Date.parse(report.to) - 1).toISOString().slice(0, 10)}.csv`;
      void reply.type('text/csv; charset=utf-8').header('content-disposition', attachmentDisposition(name));
    } else void reply.type('application/json; charset=utf-8');
    // A stream bypasses the response schema's serializer: the rows are written as they come.
    return reply.header('cache-control', 'no-store').send(body as unknown as string);
  });

  app.post('/api/v1/reports/schedules', {
    config: { auth },
    schema: {
      tags,
      operationId: 'createReportSchedule',
      summary: 'Email a report every day, week or month',
      description:
        `The report of each period that ended is emailed to the account's own address with the report attached (at most ${MAX_EMAILED_ROWS} rows), ` +
        `counting against the daily email cap (FERRY_MAX_EMAILS_PER_DAY). At most ${MAX_SCHEDULES_PER_ACCOUNT} schedules per account.`,
      body: ScheduleBody,
      response: { 201: Data(Type.Ref('ReportSchedule')), ...errorResponses(400, 401, 403, 415) },
    },
  }, async (request, reply) => {
    const schedule = await services.reportSchedules.create(request.principal!.userId, request.body);
    return reply.code(201).send({ data: scheduleView(schedule) });
  });

  app.get('/api/v1/reports/schedules', {
    config: { auth },
    schema: {
      tags,
      operationId: 'listReportSchedules',
      summary: "The account's scheduled reports",
      response: { 200: Page(Type.Ref('ReportSchedule')), ...errorResponses(401, 403) },
    },
  }, async (request) => {
    const rows = await services.reportSchedules.list(request.principal!.userId);
    return { data: rows.map(scheduleView), pagination: { limit: MAX_SCHEDULES_PER_ACCOUNT, offset: 0, total: rows.length } };
  });

  app.delete('/api/v1/reports/schedules/:id', {
    config: { auth },
    schema: {
      tags,
      operationId: 'deleteReportSchedule',
      summary: 'Stop a scheduled report',
      params: IdParam('id', 'rsc'),
      response: { 204: Type.Null(), ...errorResponses(401, 403, 404) },
    },
  }, async (request, reply) => {
    await services.reportSchedules.remove(request.principal!.userId, request.params.id);
    return reply.code(204).send(null);
  });
}

const scheduleView = (s: { id: string; type: string; interval: string; format: string; email: string; next_run_at: string; last_run_at: string | null; created_at: string }) => ({
  id: s.id,
  type: s.type,
  interval: s.interval,
  format: s.format,
  email: s.email,
  next_run_at: s.next_run_at,
  last_run_at: s.last_run_at,
  created_at: s.created_at,
});
