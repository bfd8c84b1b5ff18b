import { randomBase62, newId } from '../ids.ts';
import { fail } from '../errors.ts';
import { normalizeEmail } from '../mail/email-address.ts';
import { sha256Hex } from '../domain/secrets.ts';
import { scopesForUser } from '../domain/scopes.ts';
import { isDisabled } from '../domain/account-status.ts';
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
import type { DeviceToken, LoginThrottle } from './login-throttle.ts';

export interface AuthServiceOptions {
  signup: 'open' | 'invite' | 'closed';
  sessionTtlSeconds: number;
}

export interface NewSession {
  token: string;
  csrfToken: string;
  expiresAt: Date;
  user: UserRow;
  /** The browser's device cookie from now on: it keeps this account's sign-ins out of the email's delay. */
  device: DeviceToken;
}

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
   *
   * Any later sign-up under FERRY_SIGNUP=invite spends its invite first, in a write of its own
   * that stays whatever follows: a taken email creates nothing but uses the invite up all the
   * same, so one invite tests at most one email, even with many sign-ups racing on it.
   */
  async signup(input: { email: string; password: string; name?: string; invite?: string }): Promise<void> {
    const email = normalizeEmail(input.email);
    checkAccountPassword(input.password);
    const admit = async () => {
      if (this.options.signup === 'closed') throw signupClosed();
      if (!input.invite || !(await this.users.consumeInvite(sha256Hex(input.invite), iso(this.clock.now())))) throw inviteRequired();
    };
    // Admitted before the password hash when the instance already has its first account.
    let admitted = this.options.signup === 'open';
    if (!admitted && (await this.users.firstAccountClaimed())) {
      await admit();
      admitted = true;
    }
    const account = { email, passwordHash: await hashPassword(input.password), name: input.name ?? null };
    try {
      await this.insertAccount(account, async (first) => {
        if (!first && !admitted) throw new NotFirst();
        return first;
      });
    } catch (error) {
      if (!(error instanceof NotFirst)) throw error;
      // Another sign-up became the first account meanwhile: this one follows the policy after all.
      await admit();
      await this.insertAccount(account, async (first) => first);
    }
  }

  /** The operator CLI's way in; answers null when the email is already taken. */
  async createUser(input: { email: string; password: string; name: string | null; isAdmin: boolean }): Promise<UserRow | null> {
    return this.insertAccount({ ...input, passwordHash: await hashPassword(input.password) }, async () => input.isAdmin);
  }

  /**
   * In one transaction takes the first-account claim (whoever makes the first account takes it),
   * lets `decideAdmin` decide (it may throw, rolling back) and inserts the row. A taken email
   * rolls everything back and answers null.
   */
  private async insertAccount(
    input: { email: string; passwordHash: string; name: string | null },
    decideAdmin: (first: boolean) => Promise<boolean>,
  ): Promise<UserRow | null> {
    try {
      return await this.users.transaction(async (tx) => {
        const now = iso(this.clock.now());
        const isAdmin = await decideAdmin(await tx.claimFirstAccount(now));
        const row: UserRow = {
          id: newId('usr'),
          email: normalizeEmail(input.email),
          name: input.name?.trim().slice(0, 200) || null,
          password_hash: input.passwordHash,
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

  /** Signs in; `deviceToken` is the browser's device cookie, when it sends one. */
  async login(emailInput: string, password: string, deviceToken?: string): Promise<NewSession> {
    const email = normalizeEmail(emailInput);
    if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) throw passwordTooLong();
    const attempt = await this.throttle.begin(email, deviceToken);
    // An unknown email costs the same argon2 verification as a known one.
    const user = await this.users.findByEmail(email);
    const ok = user ? await verifyPassword(user.password_hash, password) : await verifyAgainstDummy(password);
    if (!user || !ok) throw fail.invalid_credentials('Email or password is incorrect.');
    // Told only to whoever knows the password.
    if (isDisabled(user)) throw fail.account_disabled('This account is disabled; ask the operator of this server.');
    const device = await attempt.succeeded();
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
    return { token, csrfToken, expiresAt, user, device };
  }

  logout(token: string): Promise<unknown> {
    return this.users.deleteSessionByTokenHash(sha256Hex(token));
  }

  /** Resolves a session cookie to a principal, with the CSRF hash the guard checks on writes. */
  async resolveSession(token: string): Promise<{ principal: Principal; csrfHash: string } | null> {
    const session = await this.users.findSessionByTokenHash(sha256Hex(token), iso(this.clock.now()));
    if (!session) return null;
    const user = await this.users.findById(session.user_id);
    // Disabling deletes the account's sessions; this also ends one made by a sign-in racing it.
    if (!user || isDisabled(user)) return null;
    return {
      principal: { userId: user.id, scopes: scopesForUser(user.is_admin === 1), via: 'session', sessionId: session.id },
      csrfHash: session.csrf_hash,
    };
  }
}

/** Accounts and recipients share the one address check of the mail module. */
export { normalizeEmail };

function checkAccountPassword(password: string): void {
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) throw passwordTooLong();
  if ([...password].length < MIN_ACCOUNT_PASSWORD_LENGTH) {
    throw fail.validation_failed(`password must have at least ${MIN_ACCOUNT_PASSWORD_LENGTH} characters.`);
  }
}

/** Thrown inside the account transaction to roll it back when the email already has an account. */
class EmailTaken extends Error {}

/** Thrown inside the account transaction when a sign-up not yet admitted turns out not to be the first. */
class NotFirst extends Error {}

const signupClosed = () => fail.signup_closed('Sign-up is closed on this server.');
const inviteRequired = () => fail.invite_required('A valid invite is required to sign up on this server.');

export const passwordTooLong = () =>
  fail.payload_too_large(`password must be at most ${MAX_PASSWORD_BYTES} bytes.`);
