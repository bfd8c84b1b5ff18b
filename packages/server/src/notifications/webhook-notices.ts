import { webhookEndpointDisabled } from '../mail/index.ts';
import type { JobKind } from '../jobs/job-kind.ts';
import type { UsersRepository } from '../repositories/users-repository.ts';
import type { WebhookEndpointsRepository } from '../repositories/webhook-endpoints-repository.ts';
import { EMAIL_CONCURRENCY, EMAIL_RETRY, type MailDelivery } from './mail-delivery.ts';

export interface WebhookDisabledJob {
  endpointId: string;
}

/**
 * Tells an endpoint's owner that Ferry stopped delivering to it (a 410, or a day of failures).
 * Nothing is sent when the endpoint was deleted or turned back on before the email was due.
 */
export function webhookNoticeJob(deps: { delivery: MailDelivery; endpoints: WebhookEndpointsRepository; users: UsersRepository }): JobKind<WebhookDisabledJob> {
  return {
    kind: 'email.webhook_disabled',
    concurrency: EMAIL_CONCURRENCY,
    ...EMAIL_RETRY,
    run: async ({ endpointId }) => {
      const endpoint = await deps.endpoints.findById(endpointId);
      if (!endpoint || endpoint.enabled === 1 || !endpoint.disabled_at) return;
      const owner = await deps.users.findById(endpoint.user_id);
      if (!owner) return;
      const email = webhookEndpointDisabled({
        url: endpoint.url,
        reason: endpoint.disabled_reason ?? 'deliveries kept failing',
        failingSince: endpoint.failing_since ?? endpoint.disabled_at,
      });
      await deps.delivery.send(owner.id, { to: owner.email, ...email }, { toOwner: true });
    },
  };
}
