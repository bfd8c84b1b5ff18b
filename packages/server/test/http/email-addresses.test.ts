import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, startHarness, type Harness } from '../support/harness.ts';
import { expectError, postTransfer } from '../support/http.ts';

/** Accounts and recipients take the one strict address check: nothing that could reach a mail header. */

let h: Harness;
let key: string;

beforeAll(async () => {
  h = await startHarness();
  ({ key } = await createAccount(h.app, 'addresses@example.com'));
});
afterAll(() => h.close());

const signup = (email: string) => h.app.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email, password: 'correct horse battery staple' } });

describe('email addresses', () => {
  it('sign-up refuses line breaks, lists and display names with validation_failed naming the address', async () => {
    for (const email of ['mallory@example.com\n', 'mallory@example.com\r\nBcc: victim@example.com', 'a@example.com,b@example.com', 'Mallory<mallory@example.com>', 'mallory@localhost']) {
      const body = expectError(await signup(email), 400, 'validation_failed');
      expect(body.error.message).toMatch(/^email ".*" is not a valid email address: /);
      expect(body.error.message).not.toMatch(/[\r\n]/);
    }
    expect((await signup('  New.Person@Example.COM ')).statusCode).toBe(202);
  });

  it('transfer recipients refuse the same, and nothing is created', async () => {
    for (const recipient of ['ann@example.com,bob@example.com', 'ann@example.com;bob@example.com', 'ann@example.com\n', 'Ann<ann@example.com>']) {
      expectError(await postTransfer(h.app, key, { title: 'x', recipients: [recipient] }), 400, 'validation_failed');
    }
    const list = await h.app.inject({ method: 'GET', url: '/api/v1/transfers', headers: { authorization: `Bearer ${key}` } });
    expect(list.json().pagination.total).toBe(0);
  });
});
