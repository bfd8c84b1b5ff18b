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
    this.transport = createTransport(smtpTransportOptions(options.url, options.timeouts));
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

/**
 * The transport options for `url`: Ferry's timeouts, no file or URL loading, and STARTTLS
 * required when the URL carries credentials for a server that is not on this machine, so a
 * network that strips the STARTTLS offer cannot read the password. Query options of the URL
 * (nodemailer's, such as `?requireTLS=false` or `?tls.rejectUnauthorized=false`) win.
 */
export function smtpTransportOptions(url: string, timeouts?: SmtpMailerOptions['timeouts']): SMTPTransportOptions & { url: string } {
  const wait = { ...DEFAULT_TIMEOUTS, ...timeouts };
  const parsed = new URL(url);
  const hasCredentials = parsed.username !== '' || parsed.password !== '';
  const loopback = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i.test(parsed.hostname);
  return {
    url,
    connectionTimeout: wait.connectionMs,
    greetingTimeout: wait.greetingMs,
    socketTimeout: wait.socketMs,
    dnsTimeout: wait.connectionMs,
    requireTLS: parsed.protocol === 'smtp:' && hasCredentials && !loopback,
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

// The steps where a reply judges this message or its recipient (RCPT TO, MAIL FROM, DATA).
const MESSAGE_CODES = new Set(['EENVELOPE', 'EMESSAGE']);

/**
 * Maps a nodemailer failure to a `MailError`. A 5xx reply (but 503, a session out of step) to the
 * envelope or the message is the server refusing it for good: permanent. A 5xx to anything else
 * (refused credentials, STARTTLS not offered) is the operator's to fix, not the recipient's
 * fault, and stays temporary, as does everything without a reply (connection refused, DNS, TLS,
 * timeouts) and every 4xx. The message keeps the server's reply, never the URL.
 */
export function classifySmtpError(error: unknown): MailError {
  if (error instanceof MailError) return error;
  const failure = (error ?? {}) as NodemailerError;
  const responseCode = typeof failure.responseCode === 'number' ? failure.responseCode : null;
  const code = typeof failure.code === 'string' ? failure.code : null;
  const permanent =
    responseCode !== null &&
    MESSAGE_CODES.has(code ?? '') &&
    responseCode >= 500 &&
    responseCode < 600 &&
    responseCode !== 503;
  const what = code ?? 'error';
  const reply = failure.response ? `: ${oneLine(failure.response)}` : failure.message ? `: ${oneLine(failure.message)}` : '';
  return new MailError(`SMTP ${what}${reply}`, permanent, responseCode, { cause: error });
}

const oneLine = (text: string): string => text.replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ').trim().slice(0, 300);
