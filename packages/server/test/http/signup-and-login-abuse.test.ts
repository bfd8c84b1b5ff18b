import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, startHarness, type Harness } from '../support/harness.ts';
import { call } from '../support/client.ts';
import { PASSWORD } from '../support/accounts.ts';
import { expectData, expectError, type Injected } from '../support/http.ts';

/**
 * Sign-up and sign-in under abuse: racing first sign-ups, password guessing per email, and
 * answers that do not tell which emails have accounts.
 */

const RACERS = 10;

/** Ten sign-ups at once over real HTTP on an empty instance; answers their statuses and who became admin. */
async function raceFirstSignups(signup: 'open' | 'invite' | 'closed') {
  const h = await startHarness({ FERRY_SIGNUP: signup });
  try {
    const base = await h.listen();
    const emails = Array.from({ length: RACERS }, (_, i) => `racer${i}@example.com`);
    const signups = await Promise.all(emails.map((email) => call(base, 'POST', '/api/v1/auth/signup', { json: { email, password: PASSWORD } })));
    const logins = await Promise.all(emails.map((email) => call(base, 'POST', '/api/v1/auth/login', { json: { email, password: PASSWORD } })));
    return {
      statuses: signups.map((r) => r.status),
      refusals: signups.filter((r) => r.status !== 202).map((r) => r.body.error.code as string),
      accounts: logins.filter((r) => r.status === 200).map((r) => r.body.data.user as { email: string; is_admin: boolean }),
      failedLogins: logins.filter((r) => r.status !== 200).map((r) => r.body.error.code as string),
    };
  } finally {
    await h.close();
  }
}

describe('first sign-up race: exactly one administrator, the others follow FERRY_SIGNUP', () => {
  it('open: ten concurrent sign-ups on an empty instance make ten accounts and one administrator', async () => {
    const race = await raceFirstSignups('open');
    expect(race.statuses).toEqual(Array(RACERS).fill(202));
    expect(race.accounts).toHaveLength(RACERS);
    expect(race.accounts.filter((u) => u.is_admin)).toHaveLength(1);
  });

  it('invite: of ten concurrent sign-ups without an invite, one (the administrator) is created; nine answer 403 invite_required', async () => {
    const race = await raceFirstSignups('invite');
    expect(race.statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(race.refusals).toEqual(Array(RACERS - 1).fill('invite_required'));
    expect(race.accounts).toHaveLength(1);
    expect(race.accounts[0]!.is_admin).toBe(true);
    expect(race.failedLogins).toEqual(Array(RACERS - 1).fill('invalid_credentials'));
  });

  it('closed: of ten concurrent sign-ups, one (the administrator) is created; nine answer 403 signup_closed', async () => {
    const race = await raceFirstSignups('closed');
    expect(race.statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(race.refusals).toEqual(Array(RACERS - 1).fill('signup_closed'));
    expect(race.accounts).toHaveLength(1);
    expect(race.accounts[0]!.is_admin).toBe(true);
  });
});

describe('sign-up with an invite answers alike for taken and free emails', () => {
  let h: Harness;
  let admin: Awaited<ReturnType<typeof createAccount>>;
  const newInvite = async () =>
    expectData<{ invite: string }>(
      await h.app.inject({ method: 'POST', url: '/api/v1/admin/invites', headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf } }),
      201,
    ).invite;
  const signup = (email: string, invite?: string) =>
    h.app.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email, password: 'a new password', invite } });

  beforeAll(async () => {
    h = await startHarness({ FERRY_SIGNUP: 'invite' });
    admin = await createAccount(h.app, 'admin@example.com');
  });
  afterAll(() => h.close());

  it('without an invite: the same 403 for a taken and a free email', async () => {
    const taken = await signup('admin@example.com');
    const free = await signup('free@example.com');
    expectError(taken, 403, 'invite_required');
    expect(taken.body).toBe(free.body);
  });

  it('a taken email with a valid invite answers 202 like a free one, creates nothing and uses the invite up', async () => {
    const invite = await newInvite();
    const taken = await signup('admin@example.com', invite);
    expect(taken.statusCode).toBe(202);
    const login = (email: string, password: string) => h.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
    expectError(await login('admin@example.com', 'a new password'), 401, 'invalid_credentials');
    // Spent on the taken email: it cannot test a second one.
    expectError(await signup('invited@example.com', invite), 403, 'invite_required');
    expectError(await login('invited@example.com', 'a new password'), 401, 'invalid_credentials');
    const free = await signup('invited@example.com', await newInvite());
    expect(free.body).toBe(taken.body);
    expect(expectData(await login('invited@example.com', 'a new password')).user.is_admin).toBe(false);
  });

  it('one invite sent with ten emails at once (taken and free) is spent by exactly one of them', async () => {
    const invite = await newInvite();
    const emails = ['admin@example.com', 'invited@example.com', ...Array.from({ length: 8 }, (_, i) => `racer${i}@example.com`)];
    const answers = await Promise.all(emails.map((email) => signup(email, invite)));
    expect(answers.map((r) => r.statusCode).sort()).toEqual([202, 403, 403, 403, 403, 403, 403, 403, 403, 403]);
    for (const refused of answers.filter((r) => r.statusCode === 403)) expectError(refused, 403, 'invite_required');
    const login = (email: string) => h.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password: 'a new password' } });
    const created = (await Promise.all(emails.slice(2).map(login))).filter((r) => r.statusCode === 200);
    expect(created.length).toBeLessThanOrEqual(1);
  });
});

describe('failed sign-ins are delayed per email, never locked', () => {
  let h: Harness;
  let address = 0;

  beforeAll(async () => {
    h = await startHarness();
    await createAccount(h.app, 'owner@example.com');
  });
  afterAll(() => h.close());

  /** A sign-in from a fresh address each time: the per-address limit stays out of the way (a distributed guesser). */
  const login = (email: string, password: string) =>
    h.app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress: `203.0.113.${++address % 250}`, payload: { email, password } });
  const retryAfter = (res: Injected) => {
    const body = expectError(res, 429, 'rate_limited');
    const seconds = Number(res.headers['retry-after']);
    expect(body.retry_after).toBe(seconds);
    return seconds;
  };

  it('after five failures the next attempt waits 1 s, then 2 s, doubling: 429 with Retry-After even with the right password', async () => {
    for (let i = 0; i < 5; i++) expectError(await login('owner@example.com', 'wrong guess'), 401, 'invalid_credentials');
    expect(retryAfter(await login('owner@example.com', PASSWORD))).toBe(1);
    h.clock.advance(1000);
    expectError(await login('owner@example.com', 'wrong guess'), 401, 'invalid_credentials');
    expect(retryAfter(await login('owner@example.com', 'wrong guess'))).toBe(2);
    // Attempts during the delay do not lengthen it.
    expect(retryAfter(await login('owner@example.com', PASSWORD))).toBe(2);
    h.clock.advance(2000);
    expectError(await login('owner@example.com', 'wrong guess'), 401, 'invalid_credentials');
    expect(retryAfter(await login('owner@example.com', PASSWORD))).toBe(4);
    h.clock.advance(4000);
    // A success clears the count: five failures are free again.
    expectData(await login('owner@example.com', PASSWORD));
    for (let i = 0; i < 5; i++) expectError(await login('owner@example.com', 'wrong guess'), 401, 'invalid_credentials');
    expect(retryAfter(await login('owner@example.com', 'wrong guess'))).toBe(1);
    h.clock.advance(1000);
    expectData(await login('owner@example.com', PASSWORD));
  });

  it('the delay stops growing at FERRY_LOGIN_MAX_DELAY (300 s): the owner signs in once it has passed', async () => {
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) expectError(await login('owner@example.com', 'wrong guess'), 401, 'invalid_credentials');
    for (let i = 0; i < 11; i++) {
      const wait = retryAfter(await login('owner@example.com', 'wrong guess'));
      waits.push(wait);
      h.clock.advance(wait * 1000);
      expectError(await login('owner@example.com', 'wrong guess'), 401, 'invalid_credentials');
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    h.clock.advance(retryAfter(await login('owner@example.com', PASSWORD)) * 1000);
    expectData(await login('owner@example.com', PASSWORD));
  });

  it('failures are forgotten after 15 quiet minutes', async () => {
    for (let i = 0; i < 5; i++) expectError(await login('owner@example.com', 'wrong guess'), 401, 'invalid_credentials');
    h.clock.advance(15 * 60_000);
    for (let i = 0; i < 5; i++) expectError(await login('owner@example.com', 'wrong guess'), 401, 'invalid_credentials');
    retryAfter(await login('owner@example.com', 'wrong guess'));
    h.clock.advance(1000);
    expectData(await login('owner@example.com', PASSWORD));
  });

  it('an email without an account is delayed exactly like one with: the answers are the same bytes', async () => {
    const sequence = async (email: string) => {
      const answers: string[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await login(email, 'wrong guess');
        answers.push(`${res.statusCode} ${res.headers['retry-after'] ?? '-'} ${res.body}`);
      }
      return answers;
    };
    const known = await sequence('owner@example.com');
    const unknown = await sequence('nobody-here@example.com');
    expect(unknown).toEqual(known);
    expect(known.map((a) => a.slice(0, 3))).toEqual(['401', '401', '401', '401', '401', '429']);
    h.clock.advance(1000);
    expectData(await login('owner@example.com', PASSWORD));
  });

  it('ten concurrent guesses on one email: five are checked, five answer 429 (the count is race-free)', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, () => login('owner@example.com', 'wrong guess')));
    const statuses = answers.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429, 429, 429]);
  });
});
