import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_USER_SCOPES, bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { readyTransfer } from '../support/transfers.ts';
import { bytes, expectData, putContent } from '../support/http.ts';
import { emittedEvents } from '../support/events.ts';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.ts';

/** Filemail's `confirmation` and `notify` flags, through a real SMTP server. */
let h: Harness;
let smtp: TestSmtpServer;
let key: string;

beforeAll(async () => {
  smtp = await startSmtpServer();
  h = await startHarness({ FERRY_SMTP_URL: smtp.url, FERRY_MAIL_FROM: 'Ferry <ferry@example.com>', FERRY_JOBS_BACKOFF_SCALE: '0.01' });
  ({ key } = await createAccount(h.app, 'sender@example.com', [...ALL_USER_SCOPES, 'requests:read', 'requests:write']));
});
afterAll(async () => {
  await h.close();
  await smtp.close();
});

describe('sender notifications', () => {
  it('confirm a ready transfer to its sender once, when asked, and not otherwise', async () => {
    const asked = await readyTransfer(h.app, key, [{ name: 'report.pdf', content: bytes(2048) }], { title: 'Q3 <report>', confirmation: true });
    await readyTransfer(h.app, key, [{ name: 'other.bin', content: bytes(10) }], { title: 'Quiet one' });
    expect(asked.transfer.confirmation).toBe(true);
    // Finalizing again changes nothing, so it confirms nothing.
    expectData(await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${asked.transfer.id}/finalize`, headers: bearer(key) }));
    await h.jobs.drain();
    const mails = smtp.messages.filter((m) => m.to === 'sender@example.com');
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toContain('Q3 <report>');
    expect(mails[0]!.html).toContain('Q3 &lt;report&gt;');
    expect(mails[0]!.text).toContain(asked.transfer.url);
    expect(mails[0]!.parsed.from?.value[0]?.address).toBe('ferry@example.com');
  });

  it('retry a confirmation the mail server deferred, and keep a bounced one as failed', async () => {
    smtp.refuse({ stage: 'rcpt', code: 451, message: 'try later' });
    const t = await readyTransfer(h.app, key, [{ name: 'a.bin', content: bytes(10) }], { title: 'Deferred', confirmation: true });
    await h.jobs.drain();
    const job = () => h.database.db.selectFrom('jobs').selectAll().where('dedupe_key', '=', `email.sender_confirmation:${t.transfer.id}`).executeTakeFirstOrThrow();
    expect(await job()).toMatchObject({ state: 'queued', attempts: 1 });
    expect((await job()).last_error).toContain('451');
    smtp.acceptAll();
    h.clock.advance(60_000);
    await h.jobs.drain();
    expect(await job()).toMatchObject({ state: 'done', attempts: 2 });
    expect(smtp.messages.filter((m) => m.subject.includes('Deferred'))).toHaveLength(1);

    smtp.refuse({ stage: 'rcpt', code: 550, message: 'no such user' });
    const bounced = await readyTransfer(h.app, key, [{ name: 'b.bin', content: bytes(10) }], { title: 'Bounced', confirmation: true });
    await h.jobs.drain();
    smtp.acceptAll();
    const failed = await h.database.db.selectFrom('jobs').selectAll().where('dedupe_key', '=', `email.sender_confirmation:${bounced.transfer.id}`).executeTakeFirstOrThrow();
    expect(failed).toMatchObject({ state: 'failed', attempts: 1 });
  });

  it('take confirmation, notify and reminders at creation and by PATCH', async () => {
    const t = await readyTransfer(h.app, key, [{ name: 'a.bin', content: bytes(10) }], { notify: true, reminders: false }, { finalize: false });
    expect(t.transfer).toMatchObject({ confirmation: false, notify: true, reminders: false });
    const patched = expectData(await h.app.inject({ method: 'PATCH', url: `/api/v1/transfers/${t.transfer.id}`, headers: bearer(key), payload: { confirmation: true, notify: false, reminders: true } }));
    expect(patched).toMatchObject({ confirmation: true, notify: false, reminders: true });
    const bad = await h.app.inject({ method: 'PATCH', url: `/api/v1/transfers/${t.transfer.id}`, headers: bearer(key), payload: { notify: 'yes' } });
    expect(bad.statusCode).toBe(400);
  });

  it('tell a requester once when an uploader finishes, unless the request turned notices off', async () => {
    const sendThrough = async (notify: boolean, title: string) => {
      const request = expectData(await h.app.inject({ method: 'POST', url: '/api/v1/file-requests', headers: bearer(key), payload: { title, notify } }), 201);
      const token = request.url.slice(request.url.lastIndexOf('/') + 1);
      const opened = expectData(await h.app.inject({ method: 'POST', url: `/api/v1/file-requests/${token}/transfers`, payload: { name: 'Alice <b>', email: 'alice@example.org' } }), 201);
      const auth = bearer(opened.upload_token);
      const file = expectData(await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${opened.transfer_id}/files`, headers: auth, payload: { name: 'scan.pdf', size: 300 } }), 201);
      expectData(await putContent(h.app, opened.upload_token, opened.transfer_id, file.id, bytes(300)));
      expectData(await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${opened.transfer_id}/finalize`, headers: auth }));
      expectData(await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${opened.transfer_id}/finalize`, headers: auth }));
      await h.jobs.drain();
      return { request, transferId: opened.transfer_id as string };
    };
    const loud = await sendThrough(true, 'Payslips please');
    await sendThrough(false, 'Quiet request');
    const notices = smtp.messages.filter((m) => m.subject.includes('Payslips please') || m.subject.includes('Quiet request'));
    expect(notices.map((m) => [m.to, m.subject])).toEqual([['sender@example.com', 'New files for “Payslips please”']]);
    expect(notices[0]!.text).toContain('Alice <b> (alice@example.org)');
    expect(notices[0]!.html).toContain('Alice &lt;b&gt;');
    const received = (await emittedEvents(h, 'file_request.received')).filter((e) => e.data.transfer.id === loud.transferId);
    expect(received).toHaveLength(1);
    expect(received[0]!.data).toMatchObject({ file_request: { id: loud.request.id }, uploader: { name: 'Alice <b>', email: 'alice@example.org' } });
  });

  it('hold the per-transfer recipient cap of FERRY_MAX_RECIPIENTS_PER_TRANSFER and the daily email cap of FERRY_MAX_EMAILS_PER_DAY', async () => {
    const small = await startHarness({ FERRY_SMTP_URL: smtp.url, FERRY_MAX_RECIPIENTS_PER_TRANSFER: '2', FERRY_MAX_EMAILS_PER_DAY: '3' });
    try {
      const { key: k } = await createAccount(small.app, 'capped@example.com');
      const tooMany = await small.app.inject({ method: 'POST', url: '/api/v1/transfers', headers: bearer(k), payload: { title: 'Three', recipients: ['a@example.com', 'b@example.com', 'c@example.com'] } });
      expect(tooMany.statusCode).toBe(400);
      expect(tooMany.json().error).toMatchObject({ code: 'validation_failed', details: { max_recipients: 2 } });
      const a = await readyTransfer(small.app, k, [{ name: 'a.bin', content: bytes(10) }], { title: 'Capped one', recipients: ['a@example.com', 'b@example.com'] });
      await readyTransfer(small.app, k, [{ name: 'b.bin', content: bytes(10) }], { title: 'Capped two', recipients: ['c@example.com', 'd@example.com'] });
      await small.jobs.drain();
      // Three emails went out today for this account; the fourth failed and shows as failed.
      expect(smtp.messages.filter((m) => m.subject.includes('Capped'))).toHaveLength(3);
      const rows = [
        ...expectData(await small.app.inject({ method: 'GET', url: `/api/v1/transfers/${a.transfer.id}/recipients`, headers: bearer(k) })),
      ];
      expect(rows.map((r: any) => r.status)).toEqual(['sent', 'sent']);
      const failed = await small.database.db.selectFrom('recipients').select(['email', 'email_status', 'email_error']).where('email_status', '=', 'failed').execute();
      expect(failed).toHaveLength(1);
      expect(failed[0]!.email_error).toContain('3 emails a day');
    } finally {
      await small.close();
    }
  });
});
