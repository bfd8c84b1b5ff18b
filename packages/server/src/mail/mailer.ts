import type { SendMailOptions } from 'nodemailer';
import { emailAddressProblem, quoteForMessage } from './email-address.ts';
import type { MailFrom } from './mail-from.ts';

/** One email to one address. The From is the mailer's (FERRY_MAIL_FROM), never the caller's. */
export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  html: string;
  replyTo?: string;
  /** Extra headers such as `List-Unsubscribe` or `X-Ferry-Transfer`; names are tokens, values one line. */
  headers?: Record<string, string>;
  /** Files built in memory (a scheduled report); never a path or URL to load. */
  attachments?: EmailAttachment[];
}

export interface EmailAttachment {
  /** One line, at most 200 characters. */
  filename: string;
  content: Buffer;
  contentType: string;
}

export interface SentEmail {
  /** The Message-ID header, `<...@domain>`. */
  messageId: string;
}

/**
 * Sends one email or throws a `MailError`. Callers are job handlers: a send may take as long as
 * the mail server does, so it never runs inside an API request.
 */
export interface Mailer {
  send(message: OutgoingEmail): Promise<SentEmail>;
  /** Ends open connections (server shutdown); sends after close still work, opening anew. */
  close(): Promise<void>;
}

/** The little of a logger the mailers use (a Fastify/pino logger fits). Lines never hold a body or a secret. */
export interface MailLog {
  info(fields: object, message: string): void;
}

/**
 * Why a send failed, and whether trying again can help. `permanent` is true when the mail server
 * refused the message for good (a 5xx reply: unknown or blocked recipient, message refused) or
 * the message itself is malformed; the job ends and the recipient shows as bounced. It is false
 * for everything that may pass later: connection refused or cut, timeouts, 4xx replies, and
 * refused credentials (an operator's fix, not the recipient's fault).
 */
export class MailError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    /** The SMTP reply code when the server answered one. */
    readonly responseCode: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MailError';
  }
}

const HEADER_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,75}$/;
// Headers the mailer writes itself; a caller's copy would contradict or duplicate them.
const RESERVED_HEADERS = new Set([
  'from', 'to', 'cc', 'bcc', 'reply-to', 'sender', 'subject', 'date', 'message-id',
  'mime-version', 'content-type', 'content-transfer-encoding', 'return-path',
]);
const MAX_SUBJECT_CHARS = 998;

/**
 * The nodemailer options for `message`, after refusing anything that could change the headers
 * (addresses that are not one plain address, CR/LF or other controls in the subject or a header,
 * header names that are not tokens). A refusal is a permanent `MailError`: the same message
 * would be refused again.
 */
export function toMailOptions(from: MailFrom, message: OutgoingEmail): SendMailOptions {
  const to = checkAddress('to', message.to);
  const replyTo = message.replyTo === undefined ? undefined : checkAddress('replyTo', message.replyTo);
  checkLine('subject', message.subject);
  if ([...message.subject].length > MAX_SUBJECT_CHARS) throw new MailError('subject is too long', true);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (!HEADER_NAME.test(name) || RESERVED_HEADERS.has(name.toLowerCase())) {
      throw new MailError(`header name ${quoteForMessage(name)} is not allowed`, true);
    }
    checkLine(`header ${name}`, value);
    headers[name] = value;
  }
  return {
    from: from.name === null ? from.address : { name: from.name, address: from.address },
    to,
    ...(replyTo === undefined ? {} : { replyTo }),
    subject: message.subject,
    text: message.text,
    html: message.html,
    headers,
    ...(message.attachments?.length ? { attachments: message.attachments.map(checkAttachment) } : {}),
    // Attachments are in-memory buffers only; these shut nodemailer's file and URL loading for good.
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

function checkAttachment(attachment: EmailAttachment): { filename: string; content: Buffer; contentType: string } {
  checkLine('attachment filename', attachment.filename);
  checkLine('attachment content type', attachment.contentType);
  if (attachment.filename.length === 0 || attachment.filename.length > 200) throw new MailError('attachment filename must be 1 to 200 characters', true);
  if (!Buffer.isBuffer(attachment.content)) throw new MailError('attachment content must be bytes', true);
  return { filename: attachment.filename, content: attachment.content, contentType: attachment.contentType };
}

function checkAddress(field: string, value: string): string {
  const problem = typeof value === 'string' ? emailAddressProblem(value) : 'it is not a string';
  if (problem !== null) throw new MailError(`${field} ${quoteForMessage(String(value))} is not a valid email address: ${problem}`, true);
  return value;
}

function checkLine(field: string, value: string): void {
  if (typeof value !== 'string' || /[\p{Cc}\p{Zl}\p{Zp}]/u.test(value)) {
    throw new MailError(`${field} must be one line without control characters`, true);
  }
}
