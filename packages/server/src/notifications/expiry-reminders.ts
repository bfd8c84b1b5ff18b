import { iso, type Clock } from '../domain/clock.ts';
import type { Db } from '../db/database.ts';
import { exponentialDelay, type JobKind } from '../jobs/job-kind.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import type { RecipientsRepository } from '../repositories/recipients-repository.ts';
import type { TransfersRepository } from '../repositories/transfers-repository.ts';
import { EMAIL_RETRY } from './mail-delivery.ts';

const REMIND_BEFORE_MS = 86_400_000;
const BATCH = 100;

/**
 * A periodic job: finds ready transfers that expire within a day and still remind (the default;
 * `reminders: false` turns it off), marks each reminded once, and queues a reminder for each of its
 * recipients who has not downloaded, in the same transaction.
 */
export function expiryReminderScan(deps: { db: Db; transfers: TransfersRepository; recipients: RecipientsRepository; queue: JobQueue; clock: Clock }): JobKind<null> {
  return {
    kind: 'reminders.scan',
    concurrency: 1,
    maxAttempts: 3,
    retryDelayMs: exponentialDelay(5000, 60_000),
    run: async () => {
      for (;;) {
        const now = deps.clock.now();
        const due = await deps.transfers.dueForReminder(iso(now), iso(new Date(now.getTime() + REMIND_BEFORE_MS)), BATCH);
        for (const { id } of due) {
          const waiting = await deps.recipients.listNotDownloaded(id);
          await deps.db.transaction().execute(async (tx) => {
            if (!(await deps.transfers.claimReminder(id, iso(now), tx))) return;
            for (const recipient of waiting) {
              await deps.queue.enqueue({ kind: 'email.expiry_reminder', payload: { recipientId: recipient.id }, dedupeKey: `email.expiry_reminder:${recipient.id}`, maxAttempts: EMAIL_RETRY.maxAttempts }, tx);
            }
          });
        }
        if (due.length < BATCH) return;
      }
    },
  };
}
