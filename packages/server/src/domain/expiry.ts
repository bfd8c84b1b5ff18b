/**
 * The one definition of "expired" for every row with an expiry (transfers, sessions, invites,
 * API keys, tus uploads, leases): a deadline is past from its own instant on, and no deadline
 * (null) never passes. Timestamps are ISO 8601 UTC text, which compares in time order.
 * Repositories state the same rule in SQL (repositories/expiry-predicates.ts).
 */
export const isExpired = (expiresAt: string | null, now: Date): boolean => expiresAt !== null && expiresAt <= now.toISOString();

/**
 * For rows that expire a fixed lifetime after they were made (unfinished uploads after
 * FERRY_UPLOAD_EXPIRY): the instant at or before which a row's creation means its lifetime is
 * over, the same rule as isExpired with the deadline moved onto the creation time.
 */
export const lifetimeEdge = (now: Date, lifetimeSeconds: number): string => new Date(now.getTime() - lifetimeSeconds * 1000).toISOString();
