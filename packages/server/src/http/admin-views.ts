import { effectiveState } from '../domain/transfer-rules.ts';
import type { AccountSummary } from '../repositories/admin-users-repository.ts';
import type { AdminTransferRow } from '../repositories/admin-transfers-repository.ts';

/** The API's JSON for accounts and transfers as administrators see them (never a password hash or token). */
export function adminUserView(row: AccountSummary) {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    is_admin: row.is_admin === 1,
    status: row.deleted_at ? ('deleting' as const) : row.disabled_at ? ('disabled' as const) : ('active' as const),
    disabled_at: row.disabled_at,
    disabled_reason: row.disabled_reason,
    deleted_at: row.deleted_at,
    created_at: row.created_at,
    transfer_count: row.transfer_count,
    storage_bytes: row.storage_bytes,
  };
}

export function adminTransferView(row: AdminTransferRow, now: Date) {
  return {
    id: row.id,
    title: row.title,
    owner: { id: row.user_id, email: row.owner_email },
    state: effectiveState(row, now),
    slug: row.slug,
    size: row.size,
    file_count: row.file_count,
    download_count: row.download_count,
    created_at: row.created_at,
    updated_at: row.updated_at,
    expires_at: row.expires_at,
    finalized_at: row.finalized_at,
    deleted_at: row.deleted_at,
    purged_at: row.purged_at,
    takedown: row.takedown_at ? { at: row.takedown_at, by: row.takedown_by, reason: row.takedown_reason ?? '' } : null,
  };
}
