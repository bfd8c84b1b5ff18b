import { newId } from '../ids.ts';
import { iso, type Clock } from '../domain/clock.ts';
import type { Db } from '../db/database.ts';
import type { DbOrTx } from '../repositories/transfers-repository.ts';
import { exponentialDelay, type JobKind } from '../jobs/job-kind.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import type { EventType } from './event-types.ts';

/** Something that happened to an account's objects; what webhooks deliver and emails react to. */
export interface DomainEvent {
  id: string;
  type: EventType;
  userId: string;
  occurredAt: string;
  /** Ids and public facts only: never a password, key, token or signed URL. */
  data: Record<string, unknown>;
}

/**
 * Reacts to events inside the dispatch job's transaction: it may only write (enqueue its own
 * jobs, update rows), so the fan-out commits together with the dispatch job's completion.
 */
export interface EventSubscriber {
  name: string;
  handle(event: DomainEvent, tx: DbOrTx): Promise<void>;
}

export interface EmitOptions {
  /** At most one event with this key is ever emitted (for "once per minute" events). */
  dedupeKey?: string;
}

const DISPATCH_KIND = 'event.dispatch';

/**
 * The outbox of domain events. `emit` writes one dispatch job, in the caller's transaction when
 * it passes one, so an event exists exactly when its change committed. The dispatch job hands the
 * event to every subscriber later, off the request path.
 */
export class DomainEvents {
  private readonly subscribers: EventSubscriber[] = [];

  constructor(
    private readonly db: Db,
    private readonly queue: JobQueue,
    private readonly clock: Clock,
  ) {}

  subscribe(subscriber: EventSubscriber): void {
    this.subscribers.push(subscriber);
  }

  async emit(type: EventType, userId: string, data: Record<string, unknown>, tx?: DbOrTx, options: EmitOptions = {}): Promise<void> {
    const event: DomainEvent = { id: newId('evt'), type, userId, occurredAt: iso(this.clock.now()), data };
    await this.queue.enqueue({ kind: DISPATCH_KIND, payload: event, maxAttempts: 20, dedupeKey: options.dedupeKey }, tx);
  }

  /** The job kind that fans events out; registered with the worker by the composition root. */
  readonly dispatcher: JobKind<DomainEvent> = {
    kind: DISPATCH_KIND,
    concurrency: 4,
    maxAttempts: 20,
    retryDelayMs: exponentialDelay(1000, 10 * 60_000),
    run: async (event, _job, context) => {
      await this.db.transaction().execute(async (tx) => {
        for (const subscriber of this.subscribers) await subscriber.handle(event, tx);
        await context.completeIn(tx);
      });
    },
  };
}
