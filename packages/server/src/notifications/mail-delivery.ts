import { MailError, type Mailer, type OutgoingEmail } from '../mail/index.ts';
import { PermanentJobError, RetryableJobError, exponentialDelay } from '../jobs/job-kind.ts';
import type { RateLimiter } from '../services/rate-limiter.ts';

/** Every email job retries over about four hours: 30 s, 1 min, 2 min ... capped at an hour. */
export const EMAIL_RETRY = { maxAttempts: 10, retryDelayMs: exponentialDelay(30_000, 3600_000) } as const;

/** Emails one process sends at once; a slow mail server holds these slots and nothing else. */
export const EMAIL_CONCURRENCY = 4;

/** The mail server refused the address or the message: retrying will not help. */
export class BouncedError extends PermanentJobError {}

/**
 * Sends one email on behalf of an account, inside a job: counts it against the account's daily
 * cap (so Ferry is no spam relay) and turns mail failures into job outcomes: a bounce ends the
 * job, anything else is retried with the email schedule.
 */
export class MailDelivery {
  constructor(
    private readonly mailer: Mailer,
    private readonly limiter: RateLimiter,
    private readonly maxPerAccountPerDay: number,
    /** Whether the account may still send: nothing goes out for a disabled account (checked when the email is due). */
    private readonly accountActive: (accountId: string) => Promise<boolean> = async () => true,
  ) {}

  /**
   * `toOwner`: a notice to the account's own address (confirmation, download notices, a file
   * request's notice) relays nothing, so it does not count against the cap, and strangers who
   * trigger such notices cannot use up the budget of the account's recipients' emails.
   */
  async send(accountId: string, email: OutgoingEmail, options: { toOwner?: boolean } = {}): Promise<void> {
    if (!(await this.accountActive(accountId))) throw new PermanentJobError('The account is disabled; the email was not sent.');
    if (!options.toOwner) {
      const decision = await this.limiter.consume(`mail:day:${accountId}`, this.maxPerAccountPerDay, 86_400);
      if (!decision.allowed) throw new PermanentJobError(`The account reached its limit of ${this.maxPerAccountPerDay} emails a day.`);
    }
    try {
      await this.mailer.send(email);
    } catch (error) {
      if (error instanceof MailError && error.permanent) throw new BouncedError(error.message);
      throw new RetryableJobError(error instanceof Error ? error.message : String(error));
    }
  }
}
