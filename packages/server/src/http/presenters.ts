import type { Config } from '../config.ts';
import type { UrlSigner } from '../domain/url-signer.ts';
import type { Clock } from '../domain/clock.ts';
import type { FileRow } from '../repositories/files-repository.ts';
import type { TransferWithRecipients } from '../services/transfer-service.ts';
import type { RecipientRow } from '../repositories/recipients-repository.ts';
import type { ReceiptListRow } from '../repositories/receipts-repository.ts';
import { recipientStatus } from '../domain/recipients.ts';
import type { ApiKeyRow } from '../repositories/api-keys-repository.ts';
import type { FileRequestRow, FileRequestUsage } from '../repositories/file-requests-repository.ts';
import { isExpired } from '../domain/expiry.ts';
import { parseScopes } from '../services/key-service.ts';
import { effectiveState } from '../domain/transfer-rules.ts';
import { partCount } from '../services/file-declarations.ts';
import { baseName } from '../domain/relative-path.ts';

/** Turns rows into the API's JSON; the only place that knows public URLs. */
export class Presenter {
  constructor(
    private readonly config: Config,
    private readonly signer: UrlSigner,
    private readonly clock: Clock,
  ) {}

  file(file: FileRow, options: { signedUrl?: boolean; now?: Date } = {}) {
    const view: Record<string, unknown> = {
      id: file.id,
      transfer_id: file.transfer_id,
      name: baseName(file.name),
      path: file.name,
      size: file.size,
      content_type: file.content_type,
      state: file.state,
      sha256: file.sha256,
      crc32: file.crc32 === null ? null : file.crc32.toString(16).padStart(8, '0'),
      download_count: file.download_count,
      created_at: file.created_at,
      completed_at: file.completed_at,
    };
    if (file.state === 'pending') {
      view.upload = {
        method: 'PUT',
        url: `${this.config.publicUrl}/api/v1/transfers/${file.transfer_id}/files/${file.id}/content`,
        content_type: 'application/octet-stream',
      };
      if (file.part_size !== null) view.multipart = { part_numbers: partCount(file.size, file.part_size), chunk_size: file.part_size };
    } else if (options.signedUrl) {
      const now = options.now ?? this.clock.now();
      const expires = Math.floor(now.getTime() / 1000) + this.config.signedUrlTtlSeconds;
      const signature = this.signer.signDownload(file.id, expires);
      view.download_url = `${this.config.publicUrl}/api/v1/files/${file.id}/download?expires=${expires}&signature=${signature}`;
      view.download_url_expires_at = new Date(expires * 1000).toISOString();
    }
    return view;
  }

  /**
   * `uploader`: the view for a file request's uploader (their upload token), which names no link,
   * recipients or download URL of the requester's transfer.
   */
  transfer(transfer: TransferWithRecipients, files: FileRow[], options: { signedUrls?: boolean; now?: Date; uploadToken?: string; uploader?: boolean } = {}) {
    const owner = options.uploader !== true;
    const publicLink = transfer.public_link !== 0;
    return {
      id: transfer.id,
      title: transfer.title,
      message: transfer.message,
      recipients: owner ? transfer.recipient_emails : [],
      state: effectiveState(transfer, options.now ?? this.clock.now()),
      slug: owner ? transfer.slug : null,
      url: owner && transfer.slug && publicLink ? this.publicLink(transfer.slug) : null,
      public_link: publicLink,
      expires_at: transfer.expires_at,
      password_protected: transfer.password_hash !== null,
      max_downloads: transfer.max_downloads,
      confirmation: transfer.confirmation === 1,
      notify: transfer.notify === 1,
      reminders: transfer.reminders === 1,
      download_count: transfer.download_count,
      size: transfer.size,
      file_count: transfer.file_count,
      files: files.map((f) => this.file(f, { signedUrl: owner && options.signedUrls, now: options.now })),
      created_at: transfer.created_at,
      updated_at: transfer.updated_at,
      finalized_at: transfer.finalized_at,
      upload_url: `${this.config.publicUrl}/api/v1/uploads`,
      ...(options.uploadToken ? { upload_token: options.uploadToken } : {}),
      file_request_id: transfer.file_request_id ?? null,
      uploader:
        transfer.file_request_id != null
          ? { name: transfer.uploader_name ?? null, email: transfer.uploader_email ?? null, message: transfer.uploader_message ?? null }
          : null,
    };
  }

  /** `token`: the link's secret, only right after it was made or replaced. */
  fileRequest(request: FileRequestRow, usage: FileRequestUsage, options: { token?: string } = {}) {
    const full = (request.max_files !== null && usage.files >= request.max_files) || (request.max_bytes !== null && usage.bytes >= request.max_bytes);
    return {
      id: request.id,
      title: request.title,
      message: request.message,
      url: options.token ? this.fileRequestLink(options.token) : null,
      state: isExpired(request.expires_at, this.clock.now()) ? 'expired' : full ? 'full' : 'open',
      expires_at: request.expires_at,
      max_files: request.max_files,
      max_bytes: request.max_bytes,
      max_file_size: request.max_file_size,
      allowed_types: request.allowed_types === null ? [] : (JSON.parse(request.allowed_types) as string[]),
      password_protected: request.password_hash !== null,
      require_name: request.require_name === 1,
      require_email: request.require_email === 1,
      notify: request.notify === 1,
      received: usage,
      created_at: request.created_at,
      updated_at: request.updated_at,
    };
  }

  fileRequestLink(token: string): string {
    return `${this.config.publicUrl}/r/${token}`;
  }

  publicLink(slug: string): string {
    return `${this.config.publicUrl}/t/${encodeURIComponent(slug)}`;
  }

  /** A recipient's own link. */
  recipientLink(token: string): string {
    return `${this.config.publicUrl}/d/${token}`;
  }

  /** For the transfer's owner only: `url` is the recipient's link, a capability like the public one. */
  recipient(row: RecipientRow) {
    return {
      id: row.id,
      transfer_id: row.transfer_id,
      email: row.email,
      status: recipientStatus(row),
      email_status: row.email_status,
      email_sent_at: row.email_sent_at,
      email_error: row.email_error,
      url: this.recipientLink(row.token),
      opened_at: row.opened_at,
      last_opened_at: row.last_opened_at,
      first_download_at: row.first_download_at,
      last_download_at: row.last_download_at,
      download_count: row.download_count,
      created_at: row.created_at,
    };
  }

  receipt(row: ReceiptListRow) {
    return {
      id: row.id,
      kind: row.kind,
      recipient: row.recipient_id === null ? null : { id: row.recipient_id, email: row.recipient_email },
      file: row.file_id === null ? null : { id: row.file_id, name: row.file_name },
      range: row.range,
      started_at: row.started_at,
      finished_at: row.finished_at,
      bytes_sent: row.bytes_sent,
      completed: row.completed === 1,
    };
  }

  key(row: ApiKeyRow) {
    return {
      id: row.id,
      prefix: `fy_${row.prefix}`,
      name: row.name,
      scopes: parseScopes(row.scopes),
      created_at: row.created_at,
      last_used_at: row.last_used_at,
      expires_at: row.expires_at,
      revoked_at: row.revoked_at,
    };
  }
}
