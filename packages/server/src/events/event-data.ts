import type { TransferRow } from '../repositories/transfers-repository.ts';
import type { FileRow } from '../repositories/files-repository.ts';
import type { SpeedTestRow } from '../repositories/speed-tests-repository.ts';

/**
 * What events say about objects: ids and facts the owner already knows, never a password hash,
 * an upload token, a link slug or a signed URL (a webhook receiver is not a link holder).
 */
export function transferData(transfer: TransferRow & { size?: number; file_count?: number }): Record<string, unknown> {
  return {
    id: transfer.id,
    title: transfer.title,
    state: transfer.state,
    file_count: transfer.file_count ?? null,
    size: transfer.size ?? null,
    password_protected: transfer.password_hash !== null,
    max_downloads: transfer.max_downloads,
    expires_at: transfer.expires_at,
    created_at: transfer.created_at,
  };
}

export function fileData(file: FileRow): Record<string, unknown> {
  return { id: file.id, name: file.name, size: file.size, content_type: file.content_type, sha256: file.sha256 };
}

/** A stored speed test: its id and what was measured and labelled; nothing about its owner. */
export function speedTestData(row: SpeedTestRow): Record<string, unknown> {
  return {
    id: row.id,
    ping_ms: row.ping_ms,
    jitter_ms: row.jitter_ms,
    download_mbps: row.download_mbps,
    upload_mbps: row.upload_mbps,
    public: row.public === 1,
    display_name: row.display_name,
    isp: row.isp,
    country: row.country,
    location: row.location,
    created_at: row.created_at,
  };
}
