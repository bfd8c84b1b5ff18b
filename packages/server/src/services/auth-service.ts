import { randomBase62, newId } from '../ids.ts';
import { fail } from '../errors.ts';
import { sha256Hex } from '../domain/secrets.ts';
import { scopesForUser } from '../domain/scopes.ts';
import { addSeconds, iso, type Clock } from '../domain/clock.ts';
import {
  hashPassword,
  verifyPassword,
  verifyAgainstDummy,
  prepareDummyHash,
  MAX_PASSWORD_BYTES,
  MIN_ACCOUNT_PASSWORD_LENGTH,
} from '../domain/passwords.ts';
import type { UsersRepository, UserRow } from '../repositories/users-repository.ts';
import type { Principal } from './principal.ts';
import type { LoginThrottle } from './login-throttle.ts';

export interface AuthServiceOptions {
  signup: 'open' | 'invite' | 'closed';
  sessionTtlSeconds: number;
}

export interface NewSession {
  token: string;
  csrfToken: string;
  expiresAt: Date;
  user: UserRow;
}

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

/** Sign-up, sign-in and sessions. Answers never tell whether an email has an account. */
export class AuthService {
  constructor(
    private readonly users: UsersRepository,
    private readonly clock: Clock,
    private readonly options: AuthServiceOptions,
    private readonly throttle: LoginThrottle,
  ) {
    void prepareDummyHash();
  }

  /**
   * Creates the account when the email is free and sign-up is allowed. The caller answers the
   * same way whether or not a row was created, so the answer is no oracle for registered emails.
   * The first account ever made becomes administrator: claiming "first" and inserting the row
   * are one transaction, so of racing sign-ups on an empty instance exactly one is first and the
   * others follow FERRY_SIGNUP.
   */
  async signup(input: { email: string; password: string; name?: string; invite?: string }): Promise<void> {
    const email = normalizeEmail(input.email);
    checkAccountPassword(input.password);
    // Refuse early, before the password hash, when the policy surely refuses; the transaction decides.
    if (this.options.signup !== 'open' && (await this.users.firstAccountClaimed())) {
      if (this.options.signup === 'closed') throw signupClosed();
      if (!input.invite) throw inviteRequired();
    }
    await this.insertAccount({ email, password: input.password, name: input.name ?? null }, async (first, tx) => {
      if (first) return true;
      if (this.options.signup === 'closed') throw signupClosed();
      if (this.options.signup === 'invite') {
        if (!input.invite || !(await tx.consumeInvite(sha256Hex(input.invite), iso(this.clock.now())))) throw inviteRequired();
      }
      return false;
    });
  }

  /** The operator CLI's way in; answers null when the email is already taken. */
  createUser(input: { email: string; password: string; name: string | null; isAdmin: boolean }): Promise<UserRow | null> {
    return this.insertAccount(input, async () => input.isAdmin);
  }

  /**
   * Hashes the password, then in one transaction takes the first-account claim (whoever makes
   * the first account takes it), lets `decideAdmin` apply the policy (it may throw, or use `tx`)
   * and inserts the row. A taken email rolls everything back (an invite stays unused) and
   * answers null.
   */
  private async insertAccount(
    input: { email: string; password: string; name: string | null },
    decideAdmin: (first: boolean, tx: UsersRepository) => Promise<boolean>,
  ): Promise<UserRow | null> {
    const passwordHash = await hashPassword(input.password);
    try {
      return await this.users.transaction(async (tx) => {
        const now = iso(this.clock.now());
        const isAdmin = await decideAdmin(await tx.claimFirstAccount(now), tx);
        const row: UserRow = {
          id: newId('usr'),
          email: normalizeEmail(input.email),
          name: input.name?.trim().slice(0, 200) || null,
          password_hash: passwordHash,
          is_admin: isAdmin ? 1 : 0,
          created_at: now,
        };
        if (!(await tx.insertIfNew(row))) throw new EmailTaken();
        return row;
      });
    } catch (error) {
      if (error instanceof EmailTaken) return null;
      throw error;
    }
  }

  async createInvite(createdBy: string | null, ttlSeconds = 7 * 86400): Promise<{ token: string; expiresAt: Date }> {
    const token = `inv_${randomBase62(32)}`;
    const now = this.clock.now();
    const expiresAt = addSeconds(now, ttlSeconds);
    await this.users.insertInvite({
      id: newId('inv'),
      token_hash: sha256Hex(token),
      created_by: createdBy,
      created_at: iso(now),
      expires_at: iso(expiresAt),
      used_at: null,
    });
    return { token, expiresAt };
  }

  async login(emailInput: string, password: string): Promise<NewSession> {
    const email = normalizeEmail(emailInput);
    if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) throw passwordTooLong();
    await this.throttle.begin(email);
    // An unknown email costs the same argon2 verification as a known one.
    const user = await this.users.findByEmail(email);
    const ok = user ? await verifyPassword(user.password_hash, password) : await verifyAgainstDummy(password);
    if (!user || !ok) throw fail.invalid_credentials('Email or password is incorrect.');
    await this.throttle.succeeded(email);
    const token = `fys_${randomBase62(43)}`;
    const csrfToken = randomBase62(32);
    const now = this.clock.now();
    const expiresAt = addSeconds(now, this.options.sessionTtlSeconds);
    await this.users.insertSession({
      id: newId('ses'),
      token_hash: sha256Hex(token),
      csrf_hash: sha256Hex(csrfToken),
      user_id: user.id,
      created_at: iso(now),
      expires_at: iso(expiresAt),
    });
    return { token, csrfToken, expiresAt, user };
  }

  logout(token: string): Promise<unknown> {
    return this.users.deleteSessionByTokenHash(sha256Hex(token));
  }

  /** Resolves a session cookie to a principal, with the CSRF hash the guard checks on writes. */
  async resolveSession(token: string): Promise<{ principal: Principal; csrfHash: string } | null> {
    const session = await this.users.findSessionByTokenHash(sha256Hex(token), iso(this.clock.now()));
    if (!session) return null;
    const user = await this.users.findById(session.user_id);
    if (!user) return null;
    return {
      principal: { userId: user.id, scopes: scopesForUser(user.is_admin === 1), via: 'session', sessionId: session.id },
      csrfHash: session.csrf_hash,
    };
  }
}

export function normalizeEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (!EMAIL.test(email)) throw fail.validation_failed('email must be an email address.');
  return email;
}

function checkAccountPassword(password: string): void {
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) throw passwordTooLong();
  if ([...password].length < MIN_ACCOUNT_PASSWORD_LENGTH) {
    throw fail.validation_failed(`password must have at least ${MIN_ACCOUNT_PASSWORD_LENGTH} characters.`);
  }
}

/** Thrown inside the account transaction to roll it back when the email already has an account. */
class EmailTaken extends Error {}

const signupClosed = () => fail.signup_closed('Sign-up is closed on this server.');
const inviteRequired = () => fail.invite_required('A valid invite is required to sign up on this server.');

export const passwordTooLong = () =>
  fail.payload_too_large(`password must be at most ${MAX_PASSWORD_BYTES} bytes.`);
