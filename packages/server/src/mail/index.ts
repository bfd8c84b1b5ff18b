/** The mail module's public surface: addresses, mailers and the emails themselves. */
export { parseEmailAddress, normalizeEmail, isEmailAddress, emailAddressProblem, quoteForMessage, MAX_EMAIL_BYTES } from './email-address.ts';
export { MailError, type EmailAttachment, type Mailer, type MailLog, type OutgoingEmail, type SentEmail } from './mailer.ts';
export type { MailFrom } from './mail-from.ts';
export { createMailer } from './create-mailer.ts';
export { SmtpMailer } from './smtp-mailer.ts';
export { OutboxMailer } from './outbox-mailer.ts';
export * from './templates/index.ts';
