import type { Config } from '../config.ts';
import { webhookPolicy } from '../config.ts';
import type { Db } from '../db/database.ts';
import { iso, type Clock } from '../domain/clock.ts';
import type { Repositories } from '../repositories/repositories.ts';
import { JobQueue } from '../jobs/job-queue.ts';
import { JobWorker, type JobWorkerLog } from '../jobs/job-worker.ts';
import { DomainEvents } from '../events/domain-events.ts';
import { fileData, transferData } from '../events/event-data.ts';
import { createMailer, type MailLog } from '../mail/index.ts';
import { MailDelivery } from '../notifications/mail-delivery.ts';
import { senderNoticeJobs } from '../notifications/sender-notices.ts';
import { NotificationSubscriber } from '../notifications/notification-subscriber.ts';
import { webhookNoticeJob } from '../notifications/webhook-notices.ts';
import { recipientEmailJobs } from '../notifications/recipient-emails.ts';
import { expiryReminderScan } from '../notifications/expiry-reminders.ts';
import { SecretBox } from '../webhooks/secret-box.ts';
import { createGuardedAgent } from '../webhooks/guarded-agent.ts';
import { WebhookDispatch } from '../webhooks/webhook-dispatch.ts';
import { WebhookDeliveryJob } from '../webhooks/webhook-delivery-job.ts';
import { JobAdminService } from './job-admin-service.ts';
import { RecipientService } from './recipient-service.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { WebhookService } from './webhook-service.ts';

export interface DeliveryDeps {
  config: Config;
  db: Db;
  clock: Clock;
  secret: string;
  repos: Repositories;
  rateLimiter: RateLimiter;
  log: JobWorkerLog & MailLog;
}

/**
 * Everything that happens after a request answers, wired together: the job queue and its worker,
 * domain events and their subscribers (webhook fan-out, notifications), the mailer and every email
 * job, webhook delivery, and reminders. Part of the composition root (services.ts calls it).
 */
export function createDeliveryServices({ config, db, clock, secret, repos, rateLimiter, log }: DeliveryDeps) {
  const { jobs, transfers, files, users, recipients: recipientRows, fileRequests, webhookEndpoints, webhookDeliveries, writeLocks, analyticsEvents } = repos;
  const jobQueue = new JobQueue(jobs, clock);
  const worker = new JobWorker(jobs, jobQueue, clock, config.jobs, log);
  const events = new DomainEvents(db, jobQueue, clock);
  worker.register(events.dispatcher);
  // Whichever protocol completes a file, the event is written with the completion.
  files.onCompleted = async (fileId, tx) => {
    const file = (await files.findById(fileId, tx))!;
    const transfer = (await transfers.findById(file.transfer_id, tx))!;
    await events.emit('file.uploaded', transfer.user_id, { transfer: transferData(transfer), file: fileData(file) }, tx);
    await analyticsEvents.insertUpload({ id: file.id, user_id: transfer.user_id, transfer_id: transfer.id, at: file.completed_at ?? iso(clock.now()), bytes: file.size }, tx);
  };

  // Webhooks: one guarded agent per process, checked against the same policy as registration.
  const policy = webhookPolicy(config);
  const webhookAgent = createGuardedAgent({ policy });
  const box = new SecretBox(secret);
  const dispatch = new WebhookDispatch(webhookEndpoints, webhookDeliveries, jobs, jobQueue, clock);
  events.subscribe(dispatch.subscriber);
  worker.register(
    new WebhookDeliveryJob({ db, endpoints: webhookEndpoints, deliveries: webhookDeliveries, queue: jobQueue, clock, box, policy, agent: webhookAgent, timeoutMs: config.webhooks.timeoutMs, backoffScale: config.jobs.backoffScale }),
  );

  // Email: every message is a job; the mailer is SMTP or the outbox folder.
  const mailer = createMailer(config, log, clock);
  const delivery = new MailDelivery(mailer, rateLimiter, config.mail.maxPerAccountPerDay, (id) => users.isActive(id));
  const recipients = new RecipientService(db, recipientRows, transfers, jobQueue, clock, config.plan.maxRecipientsPerTransfer);
  events.subscribe(new NotificationSubscriber(jobQueue, transfers, (transferId, _eventId, tx) => recipients.emailAll(transferId, tx)));
  const emailJobs = [
    ...senderNoticeJobs({
      delivery,
      transfers,
      users,
      fileRequests,
      publicUrl: config.publicUrl,
      downloadedBy: (transferId) => recipientRows.downloadedEmails(transferId),
      recipientEmails: async (transferId) => (await recipientRows.listLive(transferId)).map((r) => r.email),
    }),
    ...recipientEmailJobs({ delivery, recipients: recipientRows, transfers, files, users, clock, publicUrl: config.publicUrl }),
    webhookNoticeJob({ delivery, endpoints: webhookEndpoints, users }),
  ];
  for (const kind of emailJobs) worker.register(kind);
  const reminders = expiryReminderScan({ db, transfers, recipients: recipientRows, queue: jobQueue, clock });
  worker.register(reminders);
  worker.every({ kind: reminders.kind, everySeconds: config.sweepIntervalSeconds, maxAttempts: reminders.maxAttempts });

  const daysAgo = (now: Date, days: number) => new Date(now.getTime() - days * 86_400_000).toISOString();
  return {
    /** Run by the sweep: done jobs are kept 7 days, failed ones and webhook deliveries 30. */
    retention: [(now: Date) => jobs.deleteFinished(daysAgo(now, 7), daysAgo(now, 30)), (now: Date) => webhookDeliveries.deleteSettledBefore(daysAgo(now, 30))],
    jobQueue,
    worker,
    events,
    mailer,
    /** Sends an account's email under its daily cap (scheduled reports use it too). */
    mailDelivery: delivery,
    recipients,
    jobAdmin: new JobAdminService(jobs, clock),
    webhooks: new WebhookService({ db, endpoints: webhookEndpoints, deliveries: webhookDeliveries, writeLocks, dispatch, box, clock, policy, maxPerAccount: config.webhooks.maxPerAccount }),
    /** Closed with the app (idle sockets to receivers). */
    webhookAgent,
  };
}
