import { tooManyRequests } from '../errors.ts';
import { sha256Hex } from '../domain/secrets.ts';
import { addSeconds, iso, type Clock } from '../domain/clock.ts';
import type { LoginThrottlesRepository, ThrottleStep } from '../repositories/login-throttles-repository.ts';

export interface LoginThrottleOptions {
  /** Failed sign-ins an email may have before each further attempt must wait. */
  failuresBeforeDelay: number;
  /** The longest wait: the delay doubles from one second up to this. */
  maxDelaySeconds: number;
}

/** Failures are forgotten after this long without an attempt (longer than any delay). */
export const LOGIN_FAILURE_WINDOW_SECONDS = 900;

/**
 * Per-email throttle on sign-in, beside the per-address limit. It delays rather than locks: after
 * `failuresBeforeDelay` failures each further attempt waits 1 s, 2 s, 4 s ... up to
 * `maxDelaySeconds` after the previous one, so a guesser gets a few hundred tries a day while the
 * owner waits at most `maxDelaySeconds`. A success clears it. It counts emails with and without
 * an account alike, so its answers tell nothing about which emails are registered.
 */
export class LoginThrottle {
  constructor(
    private readonly attempts: LoginThrottlesRepository,
    private readonly clock: Clock,
    private readonly options: LoginThrottleOptions,
  ) {}

  /** Call before checking the password; throws 429 rate_limited while this email must wait. */
  async begin(email: string): Promise<void> {
    const now = this.clock.now();
    const subject = subjectOf(email);
    const windowEndsAt = iso(addSeconds(now, LOGIN_FAILURE_WINDOW_SECONDS));
    const reserved = await this.attempts.reserveAttempt(subject, iso(now), windowEndsAt, this.steps(now));
    if (reserved !== null) return;
    const next = await this.attempts.nextAttemptAt(subject);
    const waitMs = next ? Date.parse(next) - now.getTime() : 0;
    throw tooManyRequests(Math.max(1, Math.ceil(waitMs / 1000)), 'Too many failed sign-ins for this email; retry later.');
  }

  /** The password was right: the failures before it are forgiven. */
  succeeded(email: string): Promise<unknown> {
    return this.attempts.clear(subjectOf(email));
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

const subjectOf = (email: string) => sha256Hex(`login:${email}`);
