/**
 * Email end to end, over real HTTP and a real SMTP server: each recipient's email is parsed, the
 * link in it is followed to a byte-identical download that then shows on their receipt; the
 * sender's confirmation comes once, and Filemail's notify sends one email at the first download
 * (naming the recipient) and a summary after the second, and nothing after that. Reminders go a
 * day before expiry to recipients who have not downloaded; a bounce shows on the recipient.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { readyTransfer } from '../support/transfers.ts';
import { bytes, expectData } from '../support/http.ts';
import { sha256 } from '../support/hashing.ts';
import { readZip } from '../support/zip.ts';
import { linksIn, startSmtpServer, type ReceivedEmail, type TestSmtpServer } from '../support/smtp.ts';

let h: Harness;
let smtp: TestSmtpServer;
let key: string;
let base: string;

beforeAll(async () => {
  smtp = await startSmtpServer();
  h = await startHarness({ FERRY_SMTP_URL: smtp.url, FERRY_MAIL_FROM: 'Ferry <ferry@example.com>' });
  base = await h.listen();
  ({ key } = await createAccount(h.app, 'sender@example.com'));
});
afterAll(async () => {
  await h.close();
  await smtp.close();
});

const mailsTo = (to: string, title: string) => smtp.messages.filter((m) => m.to === to && m.subject.includes(title));
const recipientLink = (email: ReceivedEmail): string => {
  const link = linksIn(email).find((l) => l.includes('/d/'));
  expect(link).toBeDefined();
  return new URL(link!).pathname;
};
const listRecipients = async (transferId: string) => expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${transferId}/recipients`, headers: bearer(key) }));
const receipts = async (transferId: string) => {
  await h.app.services.receipts.idle();
  return expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${transferId}/receipts?limit=100`, headers: bearer(key) }));
};
/** Settles receipts, then runs every job they and the request caused. */
const settle = async () => {
  await h.app.services.receipts.idle();
  await h.jobs.drain();
};

describe('emails to recipients and their sender', () => {
  it('send each recipient their own link, which downloads the files; the sender hears once at ready, at the first download and after the second', async () => {
    const report = bytes(300_000);
    const t = await readyTransfer(h.app, key, [{ name: 'report.pdf', content: report }, { name: 'notes.txt', content: 'notes <b>' }], {
      title: 'Q3 <numbers>',
      message: 'Hi "team" & co',
      recipients: ['ann@example.com', 'bob@example.com'],
      confirmation: true,
      notify: true,
    });
    await settle();
    const [ann] = mailsTo('ann@example.com', 'Q3 <numbers>');
    const [bob] = mailsTo('bob@example.com', 'Q3 <numbers>');
    expect(mailsTo('ann@example.com', 'Q3 <numbers>')).toHaveLength(1);
    expect(mailsTo('bob@example.com', 'Q3 <numbers>')).toHaveLength(1);
    expect(ann!.html).toContain('Q3 &lt;numbers&gt;');
    expect(ann!.html).not.toContain('<numbers>');
    expect(ann!.text).toContain('report.pdf');
    expect(ann!.parsed.replyTo?.value[0]?.address).toBe('sender@example.com');
    const annLink = recipientLink(ann!);
    const bobLink = recipientLink(bob!);
    expect(annLink).not.toBe(bobLink);
    expect(mailsTo('sender@example.com', 'is ready')).toHaveLength(1);
    expect((await listRecipients(t.transfer.id)).map((r: any) => [r.email, r.status])).toEqual([['ann@example.com', 'sent'], ['bob@example.com', 'sent']]);

    // Ann follows her link: the page, then the report, byte for byte.
    const page = await fetch(`${base}${annLink}`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    const fileLink = html.match(new RegExp(`${annLink}/files/fl_[0-9A-Za-z]{22}`))![0];
    const download = await fetch(`${base}${fileLink}`);
    expect(download.status).toBe(200);
    expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(sha256(report));
    await settle();
    const annRow = (await listRecipients(t.transfer.id)).find((r: any) => r.email === 'ann@example.com');
    expect(annRow).toMatchObject({ status: 'downloaded', download_count: 1 });
    expect(annRow.opened_at).not.toBeNull();
    expect(await receipts(t.transfer.id)).toContainEqual(expect.objectContaining({ kind: 'file', recipient: { id: annRow.id, email: 'ann@example.com' }, bytes_sent: report.length, completed: true }));
    const first = mailsTo('sender@example.com', 'was downloaded');
    expect(first).toHaveLength(1);
    expect(first[0]!.text).toContain('ann@example.com');
    expect(first[0]!.text).toContain('report.pdf');

    // Bob takes the ZIP: the summary follows; Ann again: nothing more.
    const zip = await fetch(`${base}${bobLink}/download.zip`);
    expect(zip.status).toBe(200);
    const entries = await readZip(Buffer.from(await zip.arrayBuffer()));
    expect(entries.map((e) => sha256(e.content))).toEqual([sha256(report), sha256('notes <b>')]);
    await settle();
    const summary = mailsTo('sender@example.com', 'so far');
    expect(summary).toHaveLength(1);
    expect(summary[0]!.text).toContain('bob@example.com');
    await (await fetch(`${base}${fileLink}`)).arrayBuffer();
    await settle();
    expect(smtp.messages.filter((m) => m.to === 'sender@example.com' && m.subject.includes('Q3'))).toHaveLength(3);
    // The password, had there been one, and the link tokens never reach the sender's notices.
    for (const m of smtp.messages.filter((x) => x.to === 'sender@example.com')) expect(m.text).not.toContain('/d/');
  });

  it('email a recipient added to a ready transfer and on resend; keep a bounce as bounced', async () => {
    const t = await readyTransfer(h.app, key, [{ name: 'a.bin', content: bytes(100) }], { title: 'Later additions', password: 'open sesame' });
    expectData(await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${t.transfer.id}/recipients`, headers: bearer(key), payload: { email: 'cy@example.com' } }), 201);
    smtp.refuse({ stage: 'rcpt', code: 550, message: 'no such mailbox', match: (address) => address === 'gone@example.com' });
    expectData(await h.app.inject({ method: 'PATCH', url: `/api/v1/transfers/${t.transfer.id}`, headers: bearer(key), payload: { recipients: ['cy@example.com', 'gone@example.com'] } }));
    await settle();
    smtp.acceptAll();
    const [cy] = mailsTo('cy@example.com', 'Later additions');
    expect(mailsTo('cy@example.com', 'Later additions')).toHaveLength(1);
    expect(cy!.text).not.toContain('open sesame');
    expect(cy!.text.toLowerCase()).toContain('password');
    const rows = await listRecipients(t.transfer.id);
    expect(rows.map((r: any) => [r.email, r.status])).toEqual([['cy@example.com', 'sent'], ['gone@example.com', 'bounced']]);
    expect(rows[1].email_error).toContain('550');

    const cyRow = rows[0];
    expect((await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${t.transfer.id}/recipients/${cyRow.id}/resend`, headers: bearer(key) })).statusCode).toBe(202);
    await settle();
    const both = mailsTo('cy@example.com', 'Later additions');
    expect(both).toHaveLength(2);
    expect(recipientLink(both[1]!)).toBe(recipientLink(both[0]!));
  });

  it('remind recipients who have not downloaded a day before expiry, once, unless reminders are off', async () => {
    const soon = new Date(h.clock.now().getTime() + 20 * 3600_000).toISOString();
    const t = await readyTransfer(h.app, key, [{ name: 'r.txt', content: 'remind me' }], { title: 'Expiring soon', recipients: ['dee@example.com', 'eve@example.com'], expires_at: soon });
    const quiet = await readyTransfer(h.app, key, [{ name: 'q.txt', content: 'quiet' }], { title: 'No reminders', recipients: ['dee@example.com'], expires_at: soon, reminders: false });
    await settle();
    const [dee] = mailsTo('dee@example.com', 'Expiring soon');
    await (await fetch(`${base}${recipientLink(dee!)}/files/${t.transfer.files[0].id}`)).arrayBuffer();
    await settle();
    for (let i = 0; i < 2; i += 1) {
      await h.app.services.jobQueue.enqueue({ kind: 'reminders.scan', payload: null, maxAttempts: 1 });
      await settle();
    }
    const reminders = smtp.messages.filter((m) => m.subject.startsWith('Reminder:'));
    expect(reminders.map((m) => m.to)).toEqual(['eve@example.com']);
    expect(reminders[0]!.subject).toContain('Expiring soon');
    expect(linksIn(reminders[0]!).some((l) => l.includes('/d/'))).toBe(true);
    expect(smtp.messages.filter((m) => m.subject.includes('No reminders') && m.subject.startsWith('Reminder:'))).toHaveLength(0);
    expect(quiet.transfer.reminders).toBe(false);
  });
});
