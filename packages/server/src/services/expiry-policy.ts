import { AppError, fail } from '../errors.ts';
import type { PlanLimits } from '../config.ts';
import { DEFAULT_EXPIRY_DAYS } from '../domain/transfer-rules.ts';

const DAY_MS = 86_400_000;

/** The 422 the Trinsfer API answers, with the plan and its cap beside the error. */
function expiryTooLong(plan: PlanLimits): AppError {
  return fail.expiry_too_long(
    `Your '${plan.name}' plan allows up to ${plan.maxExpiryDays} day(s) of retention${plan.allowPermanent ? '' : ' and no permanent transfers'}.`,
    { context: { plan: plan.name, max_expiry_days: plan.maxExpiryDays, allows_permanent: plan.allowPermanent } },
  );
}

/**
 * Turns `expires_days` (-1 = permanent) or `expires_at` into the stored expiry (null = never),
 * capped by the plan. `undefined` in both means "no change" when `fallbackDefault` is false.
 */
export function resolveExpiry(
  input: { expires_days?: number | null; expires_at?: string | null },
  plan: PlanLimits,
  now: Date,
  fallbackDefault: boolean,
): string | null | undefined {
  const { expires_days: days, expires_at: at } = input;
  if (days !== undefined && days !== null && at !== undefined && at !== null) {
    throw fail.validation_failed('Give expires_days or expires_at, not both.');
  }
  if (days !== undefined && days !== null) {
    if (days === -1) {
      if (!plan.allowPermanent) throw expiryTooLong(plan);
      return null;
    }
    if (!Number.isSafeInteger(days) || days < 1) throw fail.validation_failed('expires_days must be a whole number of days >= 1, or -1 for permanent.');
    if (days > plan.maxExpiryDays) throw expiryTooLong(plan);
    return new Date(now.getTime() + days * DAY_MS).toISOString();
  }
  if (at !== undefined && at !== null) {
    const time = Date.parse(at);
    if (!Number.isFinite(time) || !/^\d{4}-\d{2}-\d{2}T/.test(at)) throw fail.validation_failed('expires_at must be an ISO 8601 date-time.');
    if (time <= now.getTime()) throw fail.validation_failed('expires_at must be in the future.');
    // One minute of slack so "exactly max days from now" computed by a client is accepted.
    if (time > now.getTime() + plan.maxExpiryDays * DAY_MS + 60_000) throw expiryTooLong(plan);
    return new Date(time).toISOString();
  }
  return fallbackDefault ? new Date(now.getTime() + Math.min(DEFAULT_EXPIRY_DAYS, plan.maxExpiryDays) * DAY_MS).toISOString() : undefined;
}
