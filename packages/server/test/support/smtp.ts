import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';

/**
 * A real SMTP server in the test process (the `smtp-server` package on 127.0.0.1, port 0): it
 * takes what Ferry sends, parses every message with `mailparser`, and can be told to refuse at a
 * given step with a given reply code, as a mail server that bounces (5xx) or is busy (4xx) would.
 */

export interface ReceivedEmail {
  /** The SMTP envelope: MAIL FROM and every RCPT TO, as sent. */
  envelope: { from: string; to: string[] };
  raw: Buffer;
  parsed: ParsedMail;
  /** Shortcuts into `parsed`: the first To address, the subject, the text and HTML bodies. */
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface SmtpRefusal {
  /** The SMTP step that answers the error: MAIL FROM, RCPT TO or the end of DATA. */
  stage: 'mail' | 'rcpt' | 'data';
  /** The reply code, e.g. 550 (refused for good) or 451 (try again later). */
  code: number;
  message?: string;
  /** Refuse only for these addresses (the sender at `mail`, the recipient at `rcpt`/`data`); all when left out. */
  match?: (address: string) => boolean;
}

export interface TestSmtpServer {
  /** `smtp://127.0.0.1:<port>`, with `user:password@` when the server requires a login. */
  readonly url: string;
  readonly port: number;
  /** Every message accepted so far, in order. */
  readonly messages: ReceivedEmail[];
  /** Every successful login (username and password the client sent). */
  readonly logins: { username: string; password: string }[];
  /** The first message (already received or still to come) matching `predicate`; rejects after `timeoutMs`. */
  waitFor(predicate?: (email: ReceivedEmail) => boolean, timeoutMs?: number): Promise<ReceivedEmail>;
  /** Adds a refusal; refusals stay until `acceptAll()`. */
  refuse(refusal: SmtpRefusal): void;
  acceptAll(): void;
  close(): Promise<void>;
}

export interface SmtpServerOptions {
  /** Require AUTH PLAIN/LOGIN with these credentials (otherwise no login is offered). */
  auth?: { user: string; pass: string };
}

export async function startSmtpServer(options: SmtpServerOptions = {}): Promise<TestSmtpServer> {
  const messages: ReceivedEmail[] = [];
  const logins: { username: string; password: string }[] = [];
  const refusals: SmtpRefusal[] = [];
  const waiters = new Set<(email: ReceivedEmail) => void>();

  const refusalFor = (stage: SmtpRefusal['stage'], addresses: string[]): Error | null => {
    const rule = refusals.find((r) => r.stage === stage && (!r.match || addresses.some((a) => r.match!(a))));
    if (!rule) return null;
    const error = new Error(rule.message ?? (rule.code >= 500 ? 'Refused by the test server' : 'Try again later')) as Error & { responseCode: number };
    error.responseCode = rule.code;
    return error;
  };
  const auth = options.auth;

  const server = new SMTPServer({
    secure: false,
    // A self-signed STARTTLS would fail nodemailer's certificate check; tests speak plain SMTP.
    disabledCommands: auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !auth,
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    closeTimeout: 2000,
    onAuth(credentials, _session, callback) {
      if (auth && credentials.username === auth.user && credentials.password === auth.pass) {
        logins.push({ username: credentials.username, password: credentials.password ?? '' });
        callback(null, { user: credentials.username });
      } else {
        const error = new Error('Invalid username or password') as Error & { responseCode: number };
        error.responseCode = 535;
        callback(error);
      }
    },
    onMailFrom(address: SMTPServerAddress, _session, callback) {
      callback(refusalFor('mail', [address.address]));
    },
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      callback(refusalFor('rcpt', [address.address]));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (error) => callback(error));
      stream.on('end', () => {
        const to = session.envelope.rcptTo.map((a) => a.address);
        const refused = refusalFor('data', to);
        if (refused) return callback(refused);
        const raw = Buffer.concat(chunks);
        // Parsed before the reply, so a send that resolved has its message in `messages`.
        simpleParser(raw).then(
          (parsed) => {
            const mailFrom = session.envelope.mailFrom;
            const email: ReceivedEmail = {
              envelope: { from: mailFrom ? mailFrom.address : '', to },
              raw,
              parsed,
              to: firstAddress(parsed),
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : '',
            };
            messages.push(email);
            for (const waiter of [...waiters]) waiter(email);
            callback();
          },
          (error: unknown) => callback(error as Error),
        );
      });
    },
  });
  server.on('error', () => {
    // Connection-level errors (a client that hung up) are part of what tests provoke.
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  const credentials = auth ? `${encodeURIComponent(auth.user)}:${encodeURIComponent(auth.pass)}@` : '';

  return {
    url: `smtp://${credentials}127.0.0.1:${port}`,
    port,
    messages,
    logins,
    waitFor(predicate = () => true, timeoutMs = 10_000) {
      const found = messages.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = (email: ReceivedEmail) => {
          if (!predicate(email)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(email);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const got = messages.map((m) => `${m.to}: ${m.subject}`).join('; ') || 'none';
          reject(new Error(`no matching email within ${timeoutMs} ms (received: ${got})`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    refuse(refusal) {
      refusals.push(refusal);
    },
    acceptAll() {
      refusals.length = 0;
    },
    close() {
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function firstAddress(parsed: ParsedMail): string {
  const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
  return to?.value[0]?.address ?? '';
}

/** Every http(s) URL in an email's text body, in order (the links a recipient would follow). */
export function linksIn(email: Pick<ReceivedEmail, 'text'>): string[] {
  return email.text.match(/https?:\/\/[^\s<>"]+/g) ?? [];
}
