import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createMailer } from '../../src/mail/create-mailer.ts';
import { MailError } from '../../src/mail/mailer.ts';
import { OutboxMailer } from '../../src/mail/outbox-mailer.ts';
import { startSmtpServer } from '../support/smtp.ts';

let dataDir: string;
let lines: { fields: Record<string, unknown>; message: string }[];
const log = { info: (fields: object, message: string) => lines.push({ fields: fields as Record<string, unknown>, message }) };
const from = { name: 'Ferry', address: 'ferry@files.example.com' };
const email = {
  to: 'ann@example.com',
  subject: 'Your files: Ünïcode “title”',
  text: 'Secret body text\nhttps://files.example.com/d/abc',
  html: '<p>Secret body html</p>',
};

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-outbox-'));
  lines = [];
});
afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe('OutboxMailer', () => {
  it('writes each email as a private, parseable .eml file and logs the file name only', async () => {
    const dir = path.join(dataDir, 'outbox');
    const mailer = new OutboxMailer({ dir, from, log, clock: { now: () => new Date('2030-01-02T03:04:05.678Z') } });
    const sent = await mailer.send(email);

    const names = fs.readdirSync(dir);
    expect(names).toHaveLength(1);
    const name = names[0]!;
    expect(name).toMatch(/^20300102T030405678Z-[A-Za-z0-9._@-]+\.eml$/);
    expect(name).toContain(sent.messageId.replace(/^<|>$/g, ''));
    const file = path.join(dir, name);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);

    const raw = fs.readFileSync(file);
    expect(raw.toString('latin1')).toMatch(/\r\n\r\n/);
    const parsed = await simpleParser(raw);
    expect(parsed.from?.value).toEqual([{ name: 'Ferry', address: 'ferry@files.example.com' }]);
    expect(parsed.subject).toBe(email.subject);
    expect(parsed.text?.trim()).toBe(email.text);
    expect(parsed.html).toContain('Secret body html');
    expect(parsed.messageId).toBe(sent.messageId);
    const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
    expect(to?.value[0]?.address).toBe('ann@example.com');

    expect(lines).toHaveLength(1);
    expect(lines[0]!.fields.file).toBe(file);
    expect(JSON.stringify(lines)).not.toMatch(/Secret body|ann@example\.com/);
  });

  it('names files so they sort in sending order, and leaves no temporary file behind', async () => {
    const dir = path.join(dataDir, 'outbox');
    let now = Date.parse('2030-01-01T00:00:00.000Z');
    const mailer = new OutboxMailer({ dir, from, log, clock: { now: () => new Date((now += 1500)) } });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await mailer.send({ ...email, subject: `message ${i}` })).messageId);
    const names = fs.readdirSync(dir).sort();
    expect(names).toHaveLength(5);
    expect(names.every((n) => n.endsWith('.eml') && !n.startsWith('.'))).toBe(true);
    const subjects = await Promise.all(names.map(async (n) => (await simpleParser(fs.readFileSync(path.join(dir, n)))).subject));
    expect(subjects).toEqual(['message 0', 'message 1', 'message 2', 'message 3', 'message 4']);
  });

  it('writes nothing for a message that could inject headers', async () => {
    const dir = path.join(dataDir, 'outbox');
    const mailer = new OutboxMailer({ dir, from, log });
    const error = await mailer.send({ ...email, subject: 'x\r\nBcc: victim@example.com' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailError);
    expect((error as MailError).permanent).toBe(true);
    expect(fs.existsSync(dir) ? fs.readdirSync(dir) : []).toEqual([]);
  });

  it('fails temporarily when the outbox cannot be written', async () => {
    const blocked = path.join(dataDir, 'not-a-folder');
    fs.writeFileSync(blocked, '');
    const mailer = new OutboxMailer({ dir: path.join(blocked, 'outbox'), from, log });
    const error = await mailer.send(email).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailError);
    expect((error as MailError).permanent).toBe(false);
  });
});

describe('createMailer', () => {
  it('writes to <dataDir>/outbox when FERRY_SMTP_URL is unset', async () => {
    const config = loadConfig({ FERRY_DATA_DIR: dataDir, FERRY_PUBLIC_URL: 'https://files.example.com' });
    const mailer = createMailer(config, log);
    await mailer.send(email);
    const names = fs.readdirSync(path.join(dataDir, 'outbox'));
    expect(names).toHaveLength(1);
    const parsed = await simpleParser(fs.readFileSync(path.join(dataDir, 'outbox', names[0]!)));
    expect(parsed.from?.value).toEqual([{ name: 'Ferry', address: 'ferry@files.example.com' }]);
  });

  it('sends through FERRY_SMTP_URL with FERRY_MAIL_FROM and never logs the credentials', async () => {
    const server = await startSmtpServer({ auth: { user: 'mailer', pass: 'sup3r-s3cret' } });
    try {
      const config = loadConfig({ FERRY_DATA_DIR: dataDir, FERRY_SMTP_URL: server.url, FERRY_MAIL_FROM: 'Files Team <files@example.org>' });
      const mailer = createMailer(config, log);
      await mailer.send(email);
      await mailer.close();
      const got = await server.waitFor();
      expect(got.parsed.from?.value).toEqual([{ name: 'Files Team', address: 'files@example.org' }]);
      expect(server.logins).toHaveLength(1);
      expect(JSON.stringify(lines)).toContain(`smtp://127.0.0.1:${server.port}`);
      expect(JSON.stringify(lines)).not.toContain('sup3r-s3cret');
      expect(fs.existsSync(path.join(dataDir, 'outbox'))).toBe(false);
    } finally {
      await server.close();
    }
  });
});
