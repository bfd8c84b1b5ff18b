import { tooManyRequests } from '../errors.ts';
import { randomBase62 } from '../ids.ts';
import { sha256Hex } from '../domain/secrets.ts';
import { addSeconds, iso, type Clock } from '../domain/clock.ts';
import type { UrlSigner } from '../domain/url-signer.ts';
import type { LoginThrottlesRepository, ThrottleStep } from '../repositories/login-throttles-repository.ts';

export interface LoginThrottleOptions {
  /** Failed sign-ins an email (or a device) may have before each further attempt must wait. */
  failuresBeforeDelay: number;
  /** The longest wait: the delay doubles from one second up to this. */
  maxDelaySeconds: number;
}

/** Failures of an email are forgotten after this long without an attempt (longer than any delay). */
export const LOGIN_FAILURE_WINDOW_SECONDS = 900;

/**
 * Failures of a trusted device are forgotten after a quiet day: a stolen token allows a few
 * guesses a day, and a device that failed once leaves no row behind for the token's whole life.
 */
const DEVICE_FAILURE_WINDOW_SECONDS = 86_400;

/** How long a device token stays valid; each sign-in issues a fresh one. */
export const DEVICE_TOKEN_LIFETIME_SECONDS = 365 * 86400;

/** What the browser keeps after a sign-in, to be recognised as a known device of that account. */
export interface DeviceToken {
  token: string;
  maxAgeSeconds: number;
}

/** One sign-in attempt let through; call `succeeded` once the password proved right. */
export interface LoginAttempt {
  /** Forgives the failures this attempt was counted under and answers a fresh device token. */
  succeeded(): Promise<DeviceToken>;
}

/**
 * Throttles sign-in beside the per-address limit, with device cookies (the OWASP scheme) so that
 * the delay cannot lock the owner out.
 *
 * Per email: after `failuresBeforeDelay` failures each further attempt waits 1 s, 2 s, 4 s ... up
 * to `maxDelaySeconds` after the previous one, so a guesser gets a few hundred tries a day. It
 * counts emails with and without an account alike, so its answers tell nothing about which emails
 * are registered. A success there clears it.
 *
 * Per device: an attempt carrying a valid device token for that email (issued at an earlier
 * sign-in to it) skips the email's delay, which a guesser can hold forever by guessing once each
 * time it ends, and is counted under the token's nonce instead, on the same schedule. A success
 * there clears only the device: the email's failures came from elsewhere. After twice
 * `failuresBeforeDelay` failures the token is distrusted until it expires and counts as no token,
 * so a stolen one buys a handful of guesses at most.
 */
export class LoginThrottle {
  constructor(
    private readonly attempts: LoginThrottlesRepository,
    private readonly clock: Clock,
    private readonly signer: UrlSigner,
    private readonly options: LoginThrottleOptions,
  ) {}

  /**
   * Call before checking the password, with the device token the request carries (if any).
   * Throws 429 rate_limited while this device (when trusted) or else this email must wait.
   */
  async begin(email: string, deviceToken?: string): Promise<LoginAttempt> {
    const now = this.clock.now();
    const device = deviceToken ? this.signer.readDeviceToken(deviceToken, email, now.getTime()) : null;
    const subject = device && (await this.beginOnDevice(device.nonce, device.expiresAtSeconds, now));
    if (subject) return { succeeded: () => this.forgive(subject, email) };
    await this.beginOnEmail(email, now);
    return { succeeded: () => this.forgive(emailSubject(email), email) };
  }

  private async beginOnEmail(email: string, now: Date): Promise<void> {
    const subject = emailSubject(email);
    const windowEndsAt = iso(addSeconds(now, LOGIN_FAILURE_WINDOW_SECONDS));
    if ((await this.attempts.reserveAttempt(subject, iso(now), windowEndsAt, this.steps(now))) !== null) return;
    throw await this.mustWait(subject, now, 'Too many failed sign-ins for this email; retry later.');
  }

  /**
   * Reserves an attempt for a trusted device and answers its subject, or null when the device is
   * distrusted. Distrust lasts as long as the token: the distrusting step's "next attempt" is the
   * token's expiry, set by the same conditional write that counts, so racing attempts can neither
   * pass it nor undo it.
   */
  private async beginOnDevice(nonce: string, expiresAtSeconds: number, now: Date): Promise<string | null> {
    const subject = deviceSubject(nonce);
    const expiresAt = iso(new Date(expiresAtSeconds * 1000));
    const distrustAfter = 2 * this.options.failuresBeforeDelay;
    const steps = [...this.steps(now).filter((s) => s.minFailures < distrustAfter), { minFailures: distrustAfter, nextAttemptAt: expiresAt }];
    // Below distrust a device's failures are forgotten after a quiet day, so its row goes too; a
    // distrusted device's row stays until its token expires (its next attempt is that expiry).
    const windowEndsAt = iso(addSeconds(now, DEVICE_FAILURE_WINDOW_SECONDS));
    if ((await this.attempts.reserveAttempt(subject, iso(now), windowEndsAt, steps)) !== null) return subject;
    if (((await this.attempts.find(subject))?.failures ?? 0) >= distrustAfter) return null;
    throw await this.mustWait(subject, now, 'Too many failed sign-ins from this device; retry later.');
  }

  private async mustWait(subject: string, now: Date, message: string): Promise<Error> {
    const next = (await this.attempts.find(subject))?.nextAttemptAt;
    const waitMs = next ? Date.parse(next) - now.getTime() : 0;
    return tooManyRequests(Math.max(1, Math.ceil(waitMs / 1000)), message);
  }

  private async forgive(subject: string, email: string): Promise<DeviceToken> {
    await this.attempts.clear(subject);
    const expiresAtSeconds = Math.floor(this.clock.now().getTime() / 1000) + DEVICE_TOKEN_LIFETIME_SECONDS;
    return { token: this.signer.issueDeviceToken(email, randomBase62(22), expiresAtSeconds), maxAgeSeconds: DEVICE_TOKEN_LIFETIME_SECONDS };
  }

  private steps(now: Date): ThrottleStep[] {
    const { failuresBeforeDelay, maxDelaySeconds } = this.options;
    const steps: ThrottleStep[] = [];
    for (let doubling = 0; ; doubling++) {
      const delay = Math.min(2 ** doubling, maxDelaySeconds);
      steps.push({ minFailures: failuresBeforeDelay + doubling, nextAttemptAt: iso(addSeconds(now, delay)) });
      if (delay === maxDelaySeconds) return steps;
    }
  }
}

const emailSubject = (email: string) => sha256Hex(`login:${email}`);
const deviceSubject = (nonce: string) => sha256Hex(`device:${nonce}`);
