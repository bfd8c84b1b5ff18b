import { createTransport, type NodemailerError, type SMTPTransportOptions, type Transporter } from 'nodemailer';
import { MailError, toMailOptions, type Mailer, type OutgoingEmail, type SentEmail } from './mailer.ts';
import type { MailFrom } from './mail-from.ts';

export interface SmtpMailerOptions {
  /** `smtp://` (STARTTLS when offered) or `smtps://` (TLS from the start), credentials included. */
  url: string;
  from: MailFrom;
  /** Milliseconds to open the connection, to get the greeting, and of silence on the socket. */
  timeouts?: { connectionMs?: number; greetingMs?: number; socketMs?: number };
}

/**
 * Waits a mail server may take at each step. A job's send is bounded by these, so a server that
 * stops answering fails the attempt (to be retried) instead of holding a worker for ever.
 */
const DEFAULT_TIMEOUTS = { connectionMs: 15_000, greetingMs: 15_000, socketMs: 30_000 };

/**
 * Sends through one SMTP server (FERRY_SMTP_URL). Each send opens its own connection, so a job
 * worker never shares a half-broken session with another; failures become `MailError`s that say
 * whether a retry can help.
 */
export class SmtpMailer implements Mailer {
  private readonly transport: Transporter;

  constructor(private readonly options: SmtpMailerOptions) {
    const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    const transportOptions: SMTPTransportOptions & { url: string } = {
      url: options.url,
      connectionTimeout: timeouts.connectionMs,
      greetingTimeout: timeouts.greetingMs,
      socketTimeout: timeouts.socketMs,
      dnsTimeout: timeouts.connectionMs,
      disableFileAccess: true,
      disableUrlAccess: true,
    };
    this.transport = createTransport(transportOptions);
  }

  async send(message: OutgoingEmail): Promise<SentEmail> {
    const mailOptions = toMailOptions(this.options.from, message);
    try {
      const info = await this.transport.sendMail(mailOptions);
      return { messageId: String(info.messageId) };
    } catch (error) {
      throw classifySmtpError(error);
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

// Failures on our side of the conversation: the server never judged the message.
const CREDENTIAL_CODES = new Set(['EAUTH', 'ENOAUTH', 'EOAUTH2']);

/**
 * Maps a nodemailer failure to a `MailError`. A 5xx reply (but 503, a session out of step) is
 * the server refusing this message or recipient for good; refused credentials are not the
 * recipient's fault and stay temporary, as does everything without a reply (connection refused,
 * DNS, TLS, timeouts) and every 4xx. The message keeps the server's reply, never the URL.
 */
export function classifySmtpError(error: unknown): MailError {
  if (error instanceof MailError) return error;
  const failure = (error ?? {}) as NodemailerError;
  const responseCode = typeof failure.responseCode === 'number' ? failure.responseCode : null;
  const code = typeof failure.code === 'string' ? failure.code : null;
  const permanent =
    responseCode !== null &&
    !CREDENTIAL_CODES.has(code ?? '') &&
    responseCode >= 500 &&
    responseCode < 600 &&
    responseCode !== 503;
  const what = code ?? 'error';
  const reply = failure.response ? `: ${oneLine(failure.response)}` : failure.message ? `: ${oneLine(failure.message)}` : '';
  return new MailError(`SMTP ${what}${reply}`, permanent, responseCode, { cause: error });
}

const oneLine = (text: string): string => text.replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ').trim().slice(0, 300);
