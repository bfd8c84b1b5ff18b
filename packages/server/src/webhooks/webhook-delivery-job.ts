import type { Dispatcher } from 'undici';
import type { Db } from '../db/database.ts';
import { iso, type Clock } from '../domain/clock.ts';
import { PermanentJobError, RetryableJobError, scheduledDelay, type JobContext, type JobKind } from '../jobs/job-kind.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import type { JobRow } from '../repositories/jobs-repository.ts';
import type { DbOrTx } from '../repositories/transfers-repository.ts';
import type { WebhookDeliveriesRepository } from '../repositories/webhook-deliveries-repository.ts';
import type { WebhookEndpointRow, WebhookEndpointsRepository } from '../repositories/webhook-endpoints-repository.ts';
import { DELIVER_KIND, DELIVERY_MAX_ATTEMPTS } from './webhook-dispatch.ts';
import type { SecretBox } from './secret-box.ts';
import { sendWebhook, type WebhookAttempt } from './webhook-sender.ts';
import { webhookHeaders } from './webhook-signing.ts';
import type { WebhookPolicy } from './webhook-url.ts';

/** Delays before retries 1-7: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about 27.6 h in all). */
export const DELIVERY_SCHEDULE_MS = [5_000, 5 * 60_000, 30 * 60_000, 2 * 3600_000, 5 * 3600_000, 10 * 3600_000, 10 * 3600_000];
/** An endpoint with no successful attempt for this long is disabled and its owner told. */
export const DISABLE_AFTER_FAILING_MS = 24 * 3600_000;
/** A receiver's Retry-After is honoured up to a day, so no answer can park a delivery forever. */
const MAX_RETRY_AFTER_SECONDS = 86_400;
/** The job the email feature sends to an endpoint's owner when Ferry disables it: `{ endpointId }`. */
export const WEBHOOK_DISABLED_EMAIL_KIND = 'email.webhook_disabled';

export interface DeliveryPayload {
  deliveryId: string;
}

export interface DeliveryJobDeps {
  db: Db;
  endpoints: WebhookEndpointsRepository;
  deliveries: WebhookDeliveriesRepository;
  queue: JobQueue;
  clock: Clock;
  box: SecretBox;
  policy: WebhookPolicy;
  /** One guarded agent per process (createGuardedAgent with the same policy). */
  agent: Dispatcher;
  timeoutMs: number;
  /** FERRY_JOBS_BACKOFF_SCALE, to show when the next attempt is due. */
  backoffScale: number;
}

/**
 * One attempt of one delivery per run. The URL is checked again (the settings may have changed)
 * and the guarded agent connects only to allowed addresses after resolving; the body is signed
 * with the current secret and, during a rotation, the previous one. Each attempt is recorded on
 * the delivery. A 2xx ends it succeeded; a 410 disables the endpoint; anything else is retried
 * on the schedule (never sooner than Retry-After) until the attempts run out or the endpoint has
 * failed for a day, which disables it and queues an email to its owner.
 */
export class WebhookDeliveryJob implements JobKind<DeliveryPayload> {
  readonly kind = DELIVER_KIND;
  /** Per process; a burst of deliveries leaves the other kinds their own slots. */
  readonly concurrency = 32;
  /**
   * Per owner across instances (the group is the endpoint's owner): one account's slow or
   * hanging receivers tie up at most this many slots, each for at most the attempt's timeout.
   */
  readonly perGroup = 4;
  readonly maxAttempts = DELIVERY_MAX_ATTEMPTS;
  readonly retryDelayMs = scheduledDelay(DELIVERY_SCHEDULE_MS);

  constructor(private readonly deps: DeliveryJobDeps) {}

  readonly run = async ({ deliveryId }: DeliveryPayload, job: JobRow, context: JobContext): Promise<void> => {
    const { deliveries, endpoints, db, clock } = this.deps;
    const delivery = await deliveries.findById(deliveryId);
    // Gone with its endpoint, or settled by an earlier run whose job completion was lost.
    if (!delivery || delivery.state !== 'pending') return;
    const endpoint = await endpoints.findById(delivery.endpoint_id);
    if (!endpoint || endpoint.enabled !== 1) {
      const why = endpoint ? `endpoint_disabled: ${endpoint.disabled_reason ?? 'disabled by its owner'}` : 'endpoint_deleted';
      await db.transaction().execute(async (tx) => {
        await deliveries.fail(delivery.id, why, tx);
        await context.completeIn(tx);
      });
      return;
    }

    const started = clock.now();
    const attempt = await sendWebhook({
      url: endpoint.url,
      headers: webhookHeaders({ id: delivery.id, type: delivery.event_type, timestamp: started, body: delivery.body, secrets: this.secrets(endpoint, started) }),
      body: delivery.body,
      policy: this.deps.policy,
      agent: this.deps.agent,
      timeoutMs: this.deps.timeoutMs,
      signal: context.signal,
    });
    // Cut by a shutdown: not the receiver's failure; the job is retried without counting it.
    if (context.signal.aborted) throw new RetryableJobError('interrupted by shutdown');
    const nowIso = iso(clock.now());
    // PostgreSQL text cannot hold NUL, and a receiver may answer anything.
    const excerpt = attempt.responseExcerpt.replaceAll('\u0000', '\uFFFD');
    const seen = { response_status: attempt.status, response_excerpt: excerpt, duration_ms: attempt.durationMs };

    if (attempt.ok) {
      await db.transaction().execute(async (tx) => {
        await deliveries.recordAttempt(delivery.id, { ...seen, state: 'succeeded', last_error: null, next_attempt_at: null, delivered_at: nowIso }, tx);
        await endpoints.clearFailing(endpoint.id, tx);
        await context.completeIn(tx);
      });
      return;
    }
    const error = describeFailure(attempt);
    if (attempt.gone) {
      await db.transaction().execute(async (tx) => {
        await deliveries.recordAttempt(delivery.id, { ...seen, state: 'failed', last_error: error, next_attempt_at: null }, tx);
        await this.disable(endpoint.id, 'The receiver answered 410 Gone.', nowIso, tx);
        await context.completeIn(tx);
      });
      return;
    }

    const retryAfter = attempt.retryAfterSeconds === null ? null : Math.min(attempt.retryAfterSeconds, MAX_RETRY_AFTER_SECONDS);
    const lastTry = job.attempts >= job.max_attempts;
    const delayMs = Math.max(this.retryDelayMs(job.attempts) * this.deps.backoffScale, (retryAfter ?? 0) * 1000);
    const nextAttemptAt = lastTry ? null : iso(new Date(clock.now().getTime() + delayMs));
    const disabled = await db.transaction().execute(async (tx) => {
      await deliveries.recordAttempt(delivery.id, { ...seen, state: 'pending', last_error: error, next_attempt_at: nextAttemptAt }, tx);
      const now = await endpoints.markFailing(endpoint.id, nowIso, tx);
      const since = now?.failing_since ?? nowIso;
      if (Date.parse(nowIso) - Date.parse(since) < DISABLE_AFTER_FAILING_MS) return false;
      await this.disable(endpoint.id, `No delivery succeeded for more than 24 hours (failing since ${since}).`, nowIso, tx);
      await deliveries.fail(delivery.id, `${error}; endpoint disabled`, tx);
      await context.completeIn(tx);
      return true;
    });
    if (!disabled) throw new RetryableJobError(error, retryAfter);
  };

  /** The job gave up (attempts spent, or an error retrying cannot fix): the delivery failed. */
  readonly onFailed = async ({ deliveryId }: DeliveryPayload, _job: JobRow, error: string): Promise<void> => {
    await this.deps.deliveries.fail(deliveryId, error);
  };

  /** Signing secrets, newest first: the previous one only while its overlap lasts. */
  private secrets(endpoint: WebhookEndpointRow, now: Date): string[] {
    try {
      const secrets = [this.deps.box.open(endpoint.secret, endpoint.id)];
      if (endpoint.previous_secret && endpoint.previous_secret_expires_at && Date.parse(endpoint.previous_secret_expires_at) > now.getTime()) {
        secrets.push(this.deps.box.open(endpoint.previous_secret, endpoint.id));
      }
      return secrets;
    } catch {
      throw new PermanentJobError('secret_unreadable: the signing secret cannot be decrypted (was FERRY_SECRET changed?); rotate the secret');
    }
  }

  /** Disables the endpoint; the call that does it also queues the owner's email, in `tx`. */
  private async disable(endpointId: string, reason: string, nowIso: string, tx: DbOrTx): Promise<void> {
    if (!(await this.deps.endpoints.disable(endpointId, reason, nowIso, tx))) return;
    await this.deps.queue.enqueue(
      { kind: WEBHOOK_DISABLED_EMAIL_KIND, payload: { endpointId }, dedupeKey: `${WEBHOOK_DISABLED_EMAIL_KIND}:${endpointId}:${nowIso}`, maxAttempts: 10 },
      tx,
    );
  }
}

/** `last_error` of an attempt: the sender's failure code, with the status when one came. */
export function describeFailure(attempt: WebhookAttempt): string {
  const code = attempt.error ?? 'unexpected_status';
  return attempt.status === null ? code : `${code}: HTTP ${attempt.status}`;
}
