import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_USER_SCOPES, bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { expectData, expectError } from '../support/http.ts';
import { PermanentJobError } from '../../src/jobs/job-kind.ts';

/** Failed jobs stay visible to the instance's administrators, who can run them again. */
let h: Harness;
let admin: string;
let user: string;
let fixed = false;

beforeAll(async () => {
  h = await startHarness();
  ({ key: admin } = await createAccount(h.app, 'admin@example.com', [...ALL_USER_SCOPES, 'admin']));
  ({ key: user } = await createAccount(h.app, 'user@example.com'));
  h.app.services.worker.register({
    kind: 'test.mail_server_down',
    concurrency: 1,
    maxAttempts: 1,
    retryDelayMs: () => 0,
    run: async () => {
      if (!fixed) throw new PermanentJobError('550 mailbox unavailable');
    },
  });
});
afterAll(() => h.close());

describe('admin view of jobs', () => {
  it('lists a failed job with its error, retries it once the cause is fixed, and refuses non-admins', async () => {
    const id = (await h.app.services.jobQueue.enqueue({ kind: 'test.mail_server_down', payload: { to: 'someone@example.com' }, maxAttempts: 1 }))!;
    await h.jobs.drain();
    const list = await h.app.inject({ method: 'GET', url: '/api/v1/admin/jobs?state=failed', headers: bearer(admin) });
    const body = list.json();
    expect(list.statusCode).toBe(200);
    expect(body.data).toEqual([expect.objectContaining({ id, kind: 'test.mail_server_down', state: 'failed', attempts: 1, last_error: '550 mailbox unavailable' })]);
    expect(body.counts.failed).toBe(1);
    // Payloads may name other accounts' recipients: never shown.
    expect(JSON.stringify(body)).not.toContain('someone@example.com');
    expectError(await h.app.inject({ method: 'GET', url: '/api/v1/admin/jobs', headers: bearer(user) }), 403, 'insufficient_scope');
    expectError(await h.app.inject({ method: 'POST', url: `/api/v1/admin/jobs/${id}/retry`, headers: bearer(user) }), 403, 'insufficient_scope');

    fixed = true;
    expect(expectData(await h.app.inject({ method: 'POST', url: `/api/v1/admin/jobs/${id}/retry`, headers: bearer(admin) }), 202)).toMatchObject({ id, state: 'queued', attempts: 0 });
    expectError(await h.app.inject({ method: 'POST', url: `/api/v1/admin/jobs/${id}/retry`, headers: bearer(admin) }), 409, 'job_not_finished');
    await h.jobs.drain();
    const done = await h.app.inject({ method: 'GET', url: '/api/v1/admin/jobs?kind=test.mail_server_down', headers: bearer(admin) });
    expect(done.json().data[0]).toMatchObject({ id, state: 'done', attempts: 1 });
    expectError(await h.app.inject({ method: 'POST', url: `/api/v1/admin/jobs/job_${'A'.repeat(22)}/retry`, headers: bearer(admin) }), 404, 'not_found');
    expectError(await h.app.inject({ method: 'GET', url: '/api/v1/admin/jobs?state=exploded', headers: bearer(admin) }), 400, 'validation_failed');
  });

  it('forgets done jobs after 7 days and failed ones after 30, at the sweep', async () => {
    h.app.services.worker.register({ kind: 'test.outcome', concurrency: 1, maxAttempts: 1, retryDelayMs: () => 0, run: async (ok: boolean) => { if (!ok) throw new PermanentJobError('no'); } });
    const done = (await h.app.services.jobQueue.enqueue({ kind: 'test.outcome', payload: true, maxAttempts: 1 }))!;
    const failed = (await h.app.services.jobQueue.enqueue({ kind: 'test.outcome', payload: false, maxAttempts: 1 }))!;
    await h.jobs.drain();
    const ids = async () => (await h.app.inject({ method: 'GET', url: '/api/v1/admin/jobs?kind=test.outcome', headers: bearer(admin) })).json().data.map((j: any) => j.id).sort();
    expect(await ids()).toEqual([done, failed].sort());
    h.clock.advance(8 * 86_400_000);
    await h.sweeper.sweep();
    expect(await ids()).toEqual([failed]);
    h.clock.advance(23 * 86_400_000);
    await h.sweeper.sweep();
    expect(await ids()).toEqual([]);
  });
});
