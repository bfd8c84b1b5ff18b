import { renderEmail, type RenderedEmail } from './layout.ts';
import { count } from './text.ts';

export interface ScheduledReportInput {
  type: string;
  interval: string;
  /** First and last day covered, YYYY-MM-DD. */
  firstDay: string;
  lastDay: string;
  rows: number;
  /** The report had more rows than an email carries. */
  truncated: boolean;
  filename: string;
  /** Where the owner manages their schedules (the API docs). */
  link?: string;
}

/** A scheduled report, attached. */
export function scheduledReport(input: ScheduledReportInput): RenderedEmail {
  const span = input.firstDay === input.lastDay ? input.firstDay : `${input.firstDay} to ${input.lastDay}`;
  return renderEmail({
    subject: `Your ${input.interval} Ferry ${input.type} report: ${span}`,
    heading: `Your ${input.type} report`,
    blocks: [
      { kind: 'paragraph', text: `The ${input.type} report for ${span} is attached as ${input.filename} (${count(input.rows, 'row')}).` },
      ...(input.truncated
        ? [{ kind: 'paragraph' as const, text: `The report was longer than an email carries and stops after ${count(input.rows, 'row')}; GET /api/v1/reports gives it whole.` }]
        : []),
      { kind: 'facts', rows: [['Report', input.type], ['Period', span], ['Rows', String(input.rows)]] },
      ...(input.link ? [{ kind: 'button' as const, label: 'Manage scheduled reports', url: input.link }] : []),
    ],
    footer: `You get this email because you scheduled a ${input.interval} report for your Ferry account. Delete the schedule (DELETE /api/v1/reports/schedules/{id}) to stop it.`,
  });
}
