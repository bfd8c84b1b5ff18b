import { Type } from '@sinclair/typebox';
import { DateTime, Nullable } from './schemas.ts';

/** Schemas of what administrators see: accounts, any account's transfers, and the instance's totals. */

export const AdminUserView = Type.Object(
  {
    id: Type.String(),
    email: Type.String(),
    name: Nullable(Type.String()),
    is_admin: Type.Boolean(),
    status: Type.Union([Type.Literal('active'), Type.Literal('disabled'), Type.Literal('deleting')], {
      description: 'disabled: its keys, sessions, upload tokens and links are refused until re-enabled. deleting: its purge is under way; then the account is gone (404).',
    }),
    disabled_at: Nullable(DateTime),
    disabled_reason: Nullable(Type.String()),
    deleted_at: Nullable(DateTime),
    created_at: DateTime,
    transfer_count: Type.Integer({ description: 'Transfers that are not deleted.' }),
    storage_bytes: Type.Integer({ description: 'Bytes of complete files whose transfer is not purged yet (what the stores hold for the account).' }),
  },
  { $id: 'AdminUser' },
);

export const AdminTransferView = Type.Object(
  {
    id: Type.String(),
    title: Type.String(),
    owner: Type.Object({ id: Type.String(), email: Type.String() }),
    state: Type.Union(['uploading', 'ready', 'expired', 'deleted'].map((s) => Type.Literal(s)), { description: 'As recipients see it: past expires_at is expired before any sweep.' }),
    slug: Nullable(Type.String({ description: 'null once purged.' })),
    size: Type.Integer(),
    file_count: Type.Integer(),
    download_count: Type.Integer(),
    created_at: DateTime,
    updated_at: DateTime,
    expires_at: Nullable(DateTime),
    finalized_at: Nullable(DateTime),
    deleted_at: Nullable(DateTime),
    purged_at: Nullable(DateTime),
    takedown: Nullable(
      Type.Object(
        { at: DateTime, by: Nullable(Type.String({ description: 'The administrator (usr_ id); null: the operator CLI.' })), reason: Type.String() },
        { description: 'Set when an administrator removed the transfer; its links answer 410 transfer_removed.' },
      ),
    ),
  },
  { $id: 'AdminTransfer' },
);

const Count = Type.Integer({ minimum: 0 });

export const InstanceStatsView = Type.Object(
  {
    users: Type.Object({ total: Count, admins: Count, disabled: Type.Integer({ minimum: 0, description: 'Disabled or being deleted.' }) }),
    transfers: Type.Object(
      { total: Count, uploading: Count, ready: Count, expired: Count, deleted: Count },
      { description: 'Every transfer row by state as recipients see it (past expires_at counts as expired); purged ones included.' },
    ),
    storage: Type.Object(
      {
        bytes: Count,
        files: Count,
        by_store: Type.Array(Type.Object({ store: Type.String({ description: 'Store id, as in FERRY_STORAGE.' }), bytes: Count, files: Count })),
      },
      { description: 'Complete files of transfers not purged yet, by the store that holds them.' },
    ),
    downloads: Type.Object({ completed: Type.Integer({ minimum: 0, description: 'Downloads of a file or a ZIP through a link that handed every byte over (receipts).' }) }),
    jobs: Type.Object({ pending: Type.Integer({ minimum: 0, description: 'Queued or running.' }), running: Count, failed: Count }),
  },
  { $id: 'InstanceStats' },
);

export const adminSchemas = [AdminUserView, AdminTransferView, InstanceStatsView];
