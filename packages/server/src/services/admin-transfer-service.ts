import { fail, transferDeletedConflict } from '../errors.ts';
import { iso, type Clock } from '../domain/clock.ts';
import type { Db } from '../db/database.ts';
import type { DomainEvents } from '../events/domain-events.ts';
import { transferData } from '../events/event-data.ts';
import type { AdminTransferQuery, AdminTransferRow, AdminTransfersRepository } from '../repositories/admin-transfers-repository.ts';
import type { TransfersRepository } from '../repositories/transfers-repository.ts';
import { checkReason } from './admin-user-service.ts';

export const MAX_EXTEND_DAYS = 3650;
const MAX_YEARS_AHEAD = 100;

/** A new expiry: exactly one of a date-time (null: never) and days added to the current expiry (or to now, once past). */
export interface ExpiryChange {
  expires_at?: string | null;
  extend_days?: number;
}

/**
 * Any account's transfers as the instance's administrators manage them: search, removal (an
 * abuse takedown, whose reason and author are kept) and expiry changes that may revive an
 * expired transfer until the sweep has purged its files.
 */
export class AdminTransferService {
  constructor(
    private readonly db: Db,
    private readonly admin: AdminTransfersRepository,
    private readonly transfers: TransfersRepository,
    private readonly events: DomainEvents,
    private readonly clock: Clock,
  ) {}

  list(query: Omit<AdminTransferQuery, 'nowIso'>): Promise<{ rows: AdminTransferRow[]; total: number }> {
    return this.admin.list({ ...query, q: query.q?.trim() || undefined, nowIso: iso(this.clock.now()) });
  }

  async get(id: string): Promise<AdminTransferRow> {
    const row = await this.admin.find(id);
    if (!row) throw fail.not_found('Transfer not found.');
    return row;
  }

  /**
   * Deletes the transfer for everyone and keeps why and by whom. Its links answer 410
   * transfer_removed from now on; its files are purged like any deleted transfer's. Removing it
   * again changes nothing (the first reason stands). The owner's webhooks hear transfer.deleted.
   */
  async takedown(actorId: string | null, id: string, reason: string): Promise<AdminTransferRow> {
    const why = checkReason(reason, true)!;
    const now = iso(this.clock.now());
    await this.db.transaction().execute(async (tx) => {
      const before = await this.transfers.findById(id, tx);
      if (!before) throw fail.not_found('Transfer not found.');
      if (!(await this.admin.takedown(id, { at: now, by: actorId, reason: why }, tx))) return;
      if (before.state !== 'deleted') {
        await this.events.emit('transfer.deleted', before.user_id, { transfer: transferData({ ...before, state: 'deleted' }) }, tx);
      }
    });
    return this.get(id);
  }

  /**
   * Extends, shortens or revives: an expired transfer whose files are still stored comes back
   * (ready, or uploading if it never was finalized). A purged one cannot (409 transfer_purged),
   * nor can a deleted one (409 transfer_deleted). Plan caps do not apply to administrators.
   */
  async setExpiry(id: string, change: ExpiryChange): Promise<AdminTransferRow> {
    const current = await this.get(id);
    assertRevivable(current);
    const now = this.clock.now();
    const expiresAt = this.newExpiry(current, change, now);
    await this.db.transaction().execute(async (tx) => {
      if (!(await this.admin.setExpiry(id, expiresAt, iso(now), tx))) {
        // Deleted or purged since it was read.
        assertRevivable((await this.admin.find(id, tx))!);
        return;
      }
      const after = (await this.transfers.findById(id, tx))!;
      const changed = after.state === current.state ? ['expires_at'] : ['expires_at', 'state'];
      await this.events.emit('transfer.updated', after.user_id, { transfer: transferData(after), changed }, tx);
    });
    return this.get(id);
  }

  private newExpiry(current: AdminTransferRow, change: ExpiryChange, now: Date): string | null {
    const latest = new Date(now.getTime());
    latest.setUTCFullYear(latest.getUTCFullYear() + MAX_YEARS_AHEAD);
    if ((change.extend_days === undefined) === (change.expires_at === undefined)) {
      throw fail.validation_failed('Give exactly one of expires_at and extend_days.');
    }
    if (change.extend_days !== undefined) {
      if (!Number.isInteger(change.extend_days) || change.extend_days < 1 || change.extend_days > MAX_EXTEND_DAYS) {
        throw fail.validation_failed(`extend_days must be a whole number from 1 to ${MAX_EXTEND_DAYS}.`);
      }
      if (current.expires_at === null) throw fail.validation_failed('The transfer never expires; give expires_at to set an expiry.');
      const from = Math.max(Date.parse(current.expires_at), now.getTime());
      return new Date(from + change.extend_days * 86_400_000).toISOString();
    }
    if (change.expires_at === null || change.expires_at === undefined) return null;
    const time = Date.parse(change.expires_at);
    if (!Number.isFinite(time)) throw fail.validation_failed('expires_at must be an ISO 8601 date-time.');
    if (time <= now.getTime()) throw fail.validation_failed('expires_at must be in the future.');
    if (time > latest.getTime()) throw fail.validation_failed(`expires_at must be within ${MAX_YEARS_AHEAD} years.`);
    return new Date(time).toISOString();
  }
}

function assertRevivable(transfer: AdminTransferRow): void {
  if (transfer.purged_at !== null) throw fail.transfer_purged('The transfer\'s files are purged; it cannot be revived.');
  if (transfer.state === 'deleted') throw transferDeletedConflict('A deleted transfer cannot be revived.');
}
