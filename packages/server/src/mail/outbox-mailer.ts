import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { createTransport } from 'nodemailer';
import { systemClock, type Clock } from '../domain/clock.ts';
import { makePrivateDir, PRIVATE_FILE_MODE } from '../storage/private-paths.ts';
import { MailError, toMailOptions, type MailLog, type Mailer, type OutgoingEmail, type SentEmail } from './mailer.ts';
import type { MailFrom } from './mail-from.ts';

export interface OutboxMailerOptions {
  /** `<dataDir>/outbox`: created private (0700) on first use. */
  dir: string;
  from: MailFrom;
  log: MailLog;
  clock?: Clock;
}

/**
 * The mailer of an install without SMTP: each email becomes one RFC 5322 `.eml` file (CRLF line
 * ends, exactly what would go over the wire) in the outbox folder, readable by Ferry's account
 * only, so an operator sees what Ferry would send and can open it in any mail client.
 *
 * Files are named `<UTC time>-<Message-ID>.eml`, so `ls` lists them in the order they were sent.
 * Each is written under a dot-prefixed temporary name and renamed when complete, so the folder
 * never shows a half-written email.
 */
export class OutboxMailer implements Mailer {
  // nodemailer's own message builder, handing back the finished message instead of sending it.
  private readonly composer = createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  private ready: Promise<void> | null = null;
  private readonly clock: Clock;

  constructor(private readonly options: OutboxMailerOptions) {
    this.clock = options.clock ?? systemClock;
  }

  async send(message: OutgoingEmail): Promise<SentEmail> {
    const mailOptions = toMailOptions(this.options.from, message);
    const info = await this.composer.sendMail(mailOptions);
    if (!Buffer.isBuffer(info.message)) throw new MailError('the outbox got no message to write', false);
    const messageId = String(info.messageId);
    const file = path.join(this.options.dir, `${fileTimestamp(this.clock.now())}-${fileSafe(messageId)}.eml`);
    try {
      await this.ensureDir();
      await writeAtomically(file, info.message);
    } catch (error) {
      // A full or read-only disk may pass; the job layer retries.
      throw new MailError(`could not write the outbox file: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, false, null, { cause: error });
    }
    this.options.log.info({ file, messageId }, 'email written to the outbox (no FERRY_SMTP_URL set)');
    return { messageId };
  }

  async close(): Promise<void> {}

  private ensureDir(): Promise<void> {
    this.ready ??= makePrivateDir(this.options.dir).catch((error: unknown) => {
      this.ready = null;
      throw error;
    });
    return this.ready;
  }
}

/** Writes `data` to a private temporary file beside `file`, flushes it and renames it into place. */
async function writeAtomically(file: string, data: Buffer): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fsp.open(temp, 'wx', PRIVATE_FILE_MODE);
  try {
    // open's mode is reduced by the umask; chmod states it exactly.
    await handle.chmod(PRIVATE_FILE_MODE);
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await fsp.rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await fsp.rename(temp, file);
  } catch (error) {
    await fsp.rm(temp, { force: true });
    throw error;
  }
}

/** `2025-01-31T12:00:00.123Z` as `20250131T120000123Z`: sorts as text in time order. */
const fileTimestamp = (date: Date): string => date.toISOString().replace(/[-:.]/g, '');

/** The Message-ID without `<>` and with anything unusual in a file name replaced. */
const fileSafe = (messageId: string): string => messageId.replace(/^<|>$/g, '').replace(/[^A-Za-z0-9._@-]/g, '_').slice(0, 150);
