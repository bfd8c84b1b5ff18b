import type { TransferRow } from '../repositories/transfers-repository.ts';
import { isExpired } from './expiry.ts';

export type EffectiveState = 'uploading' | 'ready' | 'expired' | 'deleted';

/** The state a caller must see now: a transfer past its expiry is expired even before the sweeper runs. */
export function effectiveState(row: Pick<TransferRow, 'state' | 'expires_at'>, now: Date): EffectiveState {
  if (row.state === 'deleted' || row.state === 'expired') return row.state;
  if (isExpired(row.expires_at, now)) return 'expired';
  return row.state;
}

/** Custom URL slugs: readable, URL-safe, and never mistaken for a route segment. */
export const SLUG_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$/;

/**
 * What makes two slugs the same link: letter case does not (`Report` and `report` are one), so
 * nobody can take a look-alike of someone else's link, and a link typed in another case still
 * opens the transfer.
 */
export const slugKey = (slug: string): string => slug.toLowerCase();

/**
 * Days a purged transfer's slug stays reserved for its owner: a link handed out before stays dead
 * (404) instead of leading to someone else's files. The owner may reuse it at once.
 */
export const SLUG_RESERVATION_DAYS = 30;

export const MAX_TITLE_LENGTH = 200;
export const MAX_MESSAGE_LENGTH = 10_000;
export const MAX_RECIPIENTS = 50;
/** The most FERRY_MAX_RECIPIENTS_PER_TRANSFER may allow (and what a request body may carry). */
export const RECIPIENTS_CEILING = 1000;
export const MAX_DOWNLOADS_LIMIT = 1_000_000;
export const DEFAULT_EXPIRY_DAYS = 7;
