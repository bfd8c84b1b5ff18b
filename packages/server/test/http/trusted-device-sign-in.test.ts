import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, startHarness, type Harness } from '../support/harness.ts';
import { PASSWORD } from '../support/accounts.ts';
import { expectData, expectError, type Injected } from '../support/http.ts';

/**
 * Device cookies: a browser that signed in to an account before keeps getting in while someone
 * else holds that email's delay, and only for that account; a device that keeps failing is
 * delayed on its own and then no longer trusted.
 */

const DEVICE_COOKIE = 'ferry_device';
const YEAR_SECONDS = 365 * 86400;

let h: Harness;
let address = 0;

beforeAll(async () => {
  h = await startHarness();
  await createAccount(h.app, 'owner@example.com');
  await createAccount(h.app, 'other@example.com');
});
afterAll(() => h.close());

/** A sign-in from a fresh address each time, so the per-address limit stays out of the way. */
const login = (email: string, password: string, device?: string) =>
  h.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    remoteAddress: `198.51.100.${++address % 250}`,
    payload: { email, password },
    ...(device === undefined ? {} : { cookies: { [DEVICE_COOKIE]: device } }),
  });

const deviceOf = (res: Injected): string => {
  expectData(res);
  const cookie = res.cookies.find((c) => c.name === DEVICE_COOKIE);
  expect(cookie, 'a successful sign-in sets the device cookie').toBeDefined();
  return cookie!.value;
};

const retryAfter = (res: Injected): number => {
  const body = expectError(res, 429, 'rate_limited');
  expect(body.retry_after).toBe(Number(res.headers['retry-after']));
  return Number(res.headers['retry-after']);
};

/** An attacker without the cookie: five wrong guesses, so the email's delay is on. */
async function startGuessing(email: string): Promise<void> {
  for (let i = 0; i < 5; i++) expectError(await login(email, 'wrong guess'), 401, 'invalid_credentials');
}

/** Lets the email's delay run out, makes one more wrong guess and answers the new delay. */
async function guessAgain(email: string, wait: number): Promise<number> {
  h.clock.advance(wait * 1000);
  expectError(await login(email, 'wrong guess'), 401, 'invalid_credentials');
  return retryAfter(await login(email, 'wrong guess'));
}

/** Lets every delay and failure of the previous test run out. */
const quiet = () => h.clock.advance(16 * 60_000);

describe('a device cookie keeps the owner in while a guesser holds the email delayed', () => {
  it('is set at sign-in: HttpOnly, SameSite=Lax, a year long, sent only to the sign-in route', async () => {
    const res = await login('owner@example.com', PASSWORD);
    deviceOf(res);
    const cookie = res.cookies.find((c) => c.name === DEVICE_COOKIE)!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/api/v1/auth/login', maxAge: YEAR_SECONDS });
    // It names neither the email nor the account.
    expect(cookie.value).not.toContain('owner');
    expect(cookie.value).not.toContain(expectData(res).user.id);
  });

  it('a guesser who makes one wrong guess each time the delay ends holds the email at 429, yet the owner with the cookie signs in every time', async () => {
    const device = deviceOf(await login('owner@example.com', PASSWORD));
    await startGuessing('owner@example.com');
    let wait = retryAfter(await login('owner@example.com', 'wrong guess'));
    const owner: number[] = [];
    for (let round = 0; round < 11; round++) {
      wait = await guessAgain('owner@example.com', wait);
      // Without the cookie the owner is turned away even with the right password, as before.
      retryAfter(await login('owner@example.com', PASSWORD));
      owner.push((await login('owner@example.com', PASSWORD, device)).statusCode);
    }
    expect(wait).toBe(300);
    expect(owner).toEqual(Array(11).fill(200));
    // The owner's sign-ins did not clear the guesser's delay.
    expect(retryAfter(await login('owner@example.com', PASSWORD))).toBe(300);
    quiet();
  });

  it('a forged or altered cookie, one from another account or an expired one gives no way past the delay', async () => {
    const device = deviceOf(await login('owner@example.com', PASSWORD));
    const others = deviceOf(await login('other@example.com', PASSWORD));
    await startGuessing('owner@example.com');
    const [expires, nonce, mac] = device.split('.') as [string, string, string];
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    const forged = [
      others,
      `${expires}.${nonce}.${flip(mac)}`,
      `${expires}.${flip(nonce)}.${mac}`,
      `${Number(expires) + 1}.${nonce}.${mac}`,
      `${expires}.${nonce}`,
      'garbage',
      '',
    ];
    for (const cookie of forged) retryAfter(await login('owner@example.com', PASSWORD, cookie));
    // The real one still works, and the other account's cookie works for the other account.
    expectData(await login('owner@example.com', PASSWORD, device));
    expectData(await login('other@example.com', PASSWORD, others));
    quiet();
    // A year later the cookie has expired: it is no better than none.
    h.clock.advance((YEAR_SECONDS + 60) * 1000);
    await startGuessing('owner@example.com');
    retryAfter(await login('owner@example.com', PASSWORD, device));
    quiet();
  });
});

describe('a device that keeps failing is delayed on its own, then no longer trusted', () => {
  it('five failures are free, then 1, 2, 4, 8, 16 s; the email is not delayed by them; after ten the cookie counts as none', async () => {
    quiet();
    const device = deviceOf(await login('owner@example.com', PASSWORD));
    for (let i = 0; i < 5; i++) expectError(await login('owner@example.com', 'wrong guess', device), 401, 'invalid_credentials');
    // The device waits now, even with the right password ...
    expect(retryAfter(await login('owner@example.com', PASSWORD, device))).toBe(1);
    // ... while the email itself was not charged for the device's failures.
    deviceOf(await login('owner@example.com', PASSWORD));
    const waits: number[] = [];
    for (let failure = 6; failure <= 10; failure++) {
      const wait = retryAfter(await login('owner@example.com', 'wrong guess', device));
      waits.push(wait);
      h.clock.advance(wait * 1000);
      expectError(await login('owner@example.com', 'wrong guess', device), 401, 'invalid_credentials');
    }
    expect(waits).toEqual([1, 2, 4, 8, 16]);
    // Ten failures: the device is distrusted for good. With a guesser on the email it is turned
    // away like a browser without a cookie, and its attempts count against the email.
    await startGuessing('owner@example.com');
    expect(retryAfter(await login('owner@example.com', PASSWORD, device))).toBe(1);
    h.clock.advance(1000);
    expectError(await login('owner@example.com', 'wrong guess', device), 401, 'invalid_credentials');
    expect(retryAfter(await login('owner@example.com', PASSWORD))).toBe(2);
    quiet();
    // Once in again through the email's way, the browser gets a fresh cookie that is trusted.
    const fresh = deviceOf(await login('owner@example.com', PASSWORD, device));
    expect(fresh).not.toBe(device);
    await startGuessing('owner@example.com');
    expectData(await login('owner@example.com', PASSWORD, fresh));
    retryAfter(await login('owner@example.com', PASSWORD, device));
    quiet();
  });

  it('ten wrong guesses at once with one cookie: five are checked, five answer 429 (the count is race-free)', async () => {
    const device = deviceOf(await login('owner@example.com', PASSWORD));
    const answers = await Promise.all(Array.from({ length: 10 }, () => login('owner@example.com', 'wrong guess', device)));
    expect(answers.map((r) => r.statusCode).sort()).toEqual([401, 401, 401, 401, 401, 429, 429, 429, 429, 429]);
    // The email was not charged: a browser without the cookie signs in at once.
    deviceOf(await login('owner@example.com', PASSWORD));
    quiet();
  });

  it('a device that failed a few times leaves nothing behind after a quiet day', async () => {
    const subjects = async () => (await h.database.db.selectFrom('login_throttles').select('subject').execute()).map((r) => r.subject);
    const device = deviceOf(await login('owner@example.com', PASSWORD));
    const before = new Set(await subjects());
    expectError(await login('owner@example.com', 'wrong guess', device), 401, 'invalid_credentials');
    const added = (await subjects()).filter((s) => !before.has(s));
    expect(added).toHaveLength(1);
    h.clock.advance(86_400_000 + 1000);
    await h.sweeper.sweep();
    expect(await subjects()).not.toContain(added[0]);
    // The failure was forgotten with its row: the device is trusted and undelayed.
    deviceOf(await login('owner@example.com', PASSWORD, device));
  });
});
