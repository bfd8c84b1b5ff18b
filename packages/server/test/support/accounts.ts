import { bearer, call, expectStatus, type Target } from './client.ts';

/**
 * Accounts made the way a user makes them, through the API itself: sign up, sign in (session
 * cookie and CSRF token), create an API key. On the in-process app or a listening server alike.
 * A failed step throws `<step>: <status> <JSON answer>`.
 */

export const PASSWORD = 'correct horse battery staple';

export const ALL_USER_SCOPES = [
  'transfers:read',
  'transfers:write',
  'files:read',
  'files:write',
  'keys:read',
  'keys:write',
  'account:read',
];

export interface Session {
  /** `ferry_session=...`, ready for a Cookie header. */
  cookie: string;
  csrf: string;
  userId: string;
}

export interface Account extends Session {
  email: string;
  /** An API key with the scopes the account was made with. */
  key: string;
}

export interface KeyRecord {
  id: string;
  /** The whole key, shown once. */
  key: string;
  prefix: string;
  name: string;
  scopes: string[];
}

/** The headers of a cookie-authenticated write: the session cookie and its X-CSRF-Token. */
export const sessionHeaders = (session: Pick<Session, 'cookie' | 'csrf'>) => ({ cookie: session.cookie, 'x-csrf-token': session.csrf });

/** POST /api/v1/auth/signup; expects the 202 every sign-up answers. */
export async function signUp(target: Target, email: string, password = PASSWORD): Promise<void> {
  expectStatus('signup', await call(target, 'POST', '/api/v1/auth/signup', { json: { email, password } }), 202);
}

/** POST /api/v1/auth/login; answers the session cookie, its CSRF token and the user's id. */
export async function signIn(target: Target, email: string, password = PASSWORD): Promise<Session> {
  const login = await call(target, 'POST', '/api/v1/auth/login', { json: { email, password } });
  expectStatus('login', login, 200);
  const session = login.headers.getSetCookie().find((c) => c.startsWith('ferry_session='));
  if (!session) throw new Error('login set no ferry_session cookie');
  return { cookie: session.split(';')[0]!, csrf: login.body.data.csrf_token, userId: login.body.data.user.id };
}

/**
 * POST /api/v1/keys, signed in (session cookie and CSRF token) or with an API key; answers the
 * created key's record, whole key included. Defaults: named "test", every user scope.
 */
export async function createKey(
  target: Target,
  credential: Pick<Session, 'cookie' | 'csrf'> | string,
  options: { name?: string; scopes?: string[]; expires_at?: string } = {},
): Promise<KeyRecord> {
  const created = await call(target, 'POST', '/api/v1/keys', {
    headers: typeof credential === 'string' ? bearer(credential) : sessionHeaders(credential),
    json: { name: 'test', scopes: ALL_USER_SCOPES, ...options },
  });
  expectStatus('key', created, 201);
  return created.body.data;
}

/** Signs up, signs in and creates a key named "test" with `scopes`. */
export async function createAccount(target: Target, email: string, scopes: string[] = ALL_USER_SCOPES): Promise<Account> {
  await signUp(target, email);
  const session = await signIn(target, email);
  const { key } = await createKey(target, session, { scopes });
  return { email, key, ...session };
}
