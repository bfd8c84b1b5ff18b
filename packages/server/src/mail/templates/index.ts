/** Every email Ferry writes: pure functions of their input, answering `{ subject, text, html }`. */
export type { RenderedEmail } from './layout.ts';
export {
  transferReadyForRecipient,
  transferReadyForSender,
  expiryReminderForRecipient,
  MAX_LISTED_FILES,
  type EmailSender,
  type EmailFile,
  type TransferReadyForRecipientInput,
  type TransferReadyForSenderInput,
  type ExpiryReminderInput,
} from './transfer-emails.ts';
export {
  firstDownloadForSender,
  downloadSummaryForSender,
  fileRequestReceived,
  webhookEndpointDisabled,
  type FirstDownloadInput,
  type DownloadSummaryInput,
  type FileRequestReceivedInput,
  type WebhookEndpointDisabledInput,
} from './owner-notices.ts';
export { formatBytes, formatDate } from './text.ts';
export { scheduledReport, type ScheduledReportInput } from './report-email.ts';
