import path from 'node:path';
import type { Config } from '../config.ts';
import type { Clock } from '../domain/clock.ts';
import type { MailLog, Mailer } from './mailer.ts';
import { OutboxMailer } from './outbox-mailer.ts';
import { SmtpMailer } from './smtp-mailer.ts';

/**
 * The mailer the configuration asks for: SMTP when FERRY_SMTP_URL is set, else the outbox folder
 * `<dataDir>/outbox`. Says once which one, naming the server by scheme, host and port only (the
 * URL's credentials never reach a log).
 */
export function createMailer(config: Pick<Config, 'mail' | 'dataDir'>, log: MailLog, clock?: Clock): Mailer {
  const { smtpUrl, from } = config.mail;
  if (smtpUrl !== null) {
    log.info({ smtp: smtpServerName(smtpUrl), from: from.address }, 'email goes out through SMTP');
    return new SmtpMailer({ url: smtpUrl, from });
  }
  const dir = path.join(config.dataDir, 'outbox');
  log.info({ outbox: dir, from: from.address }, 'no FERRY_SMTP_URL: emails are written as .eml files to the outbox folder');
  return new OutboxMailer({ dir, from, log, ...(clock ? { clock } : {}) });
}

/** `smtps://mail.example.com:465`, without user, password, path or query. */
export function smtpServerName(smtpUrl: string): string {
  try {
    const url = new URL(smtpUrl);
    const port = url.port || (url.protocol === 'smtps:' ? '465' : '587');
    return `${url.protocol}//${url.hostname}:${port}`;
  } catch {
    return 'smtp';
  }
}
