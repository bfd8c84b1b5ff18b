import type { Upload } from '@tus/utils';
import { randomBase36 } from '../ids.ts';
import { fail } from '../errors.ts';
import { iso, type Clock } from '../domain/clock.ts';
import { isExpired } from '../domain/expiry.ts';
import { normalizeFileName } from '../domain/file-name.ts';
import { normalizeRelativePath } from '../domain/relative-path.ts';
import type { FileRow, FilesRepository } from '../repositories/files-repository.ts';
import type { TusUploadRow, TusUploadsRepository } from '../repositories/tus-uploads-repository.ts';
import type { FileService } from '../services/file-service.ts';
import type { Principal } from '../services/principal.ts';
import type { StorageReservation } from '../services/storage-reservation.ts';
import type { TransferService } from '../services/transfer-service.ts';
import { prepareDeclaredFiles } from '../services/file-declarations.ts';
import type { PlanLimits } from '../config.ts';

/** Where a finished upload goes: a declared file, or a new file by name. */
export type UploadTarget =
  | { transferId: string; fileId: string }
  | { transferId: string; name: string; contentType?: string; folder?: string };

/**
 * Ferry's rules for tus uploads, independent of the wire: who may see an upload, where its bytes
 * go, what creating one reserves, and how a finished upload becomes a verified file.
 */
export class TusUploadRules {
  constructor(
    private readonly uploads: Pick<TusUploadsRepository, 'find' | 'insert' | 'setSizeOnce'>,
    private readonly files: Pick<FilesRepository, 'findById' | 'nameTaken' | 'listForTransfer'>,
    private readonly fileService: Pick<FileService, 'declareForUpload' | 'checkRequestCaps' | 'checkRequestBytes'>,
    private readonly transfers: Pick<TransferService, 'openForUpload'>,
    private readonly reservation: Pick<StorageReservation, 'assertRoom' | 'reserve'>,
    private readonly clock: Clock,
    private readonly expirySeconds: number,
    private readonly plan: PlanLimits,
    private readonly newId: () => string = newUploadId,
  ) {}

  newUploadId(): string {
    return this.newId();
  }

  expiresAt(): string {
    return iso(new Date(this.clock.now().getTime() + this.expirySeconds * 1000));
  }

  /**
   * An upload the caller may touch: its own, and for an upload token one made with a token of
   * the same transfer. Anything else does not exist for them (404). Unfinished and expired: 410.
   */
  async visible(principal: Principal, id: string): Promise<TusUploadRow> {
    const row = await this.uploads.find(id);
    if (!row || row.user_id !== principal.userId) throw fail.not_found('Upload not found.');
    if (principal.transferId !== undefined && row.transfer_id !== principal.transferId) throw fail.not_found('Upload not found.');
    if (row.completed_at === null && isExpired(row.expires_at, this.clock.now())) {
      throw fail.upload_expired('This upload expired before it was finished; start a new one.');
    }
    return row;
  }

  /**
   * Bytes may still go into this upload: its transfer is still open (not deleted, expired or
   * finalized; docs/security-checklist.md B34). Checked before each PATCH streams and again when the upload ends.
   */
  async checkWritable(principal: Principal, row: TusUploadRow): Promise<void> {
    if (row.transfer_id !== null) await this.transfers.openForUpload(principal, row.transfer_id);
  }

  /** Reads transfer_id with file_id, or filename/filetype (name/type as Uppy sends them). */
  parseTarget(metadata: Upload['metadata']): UploadTarget {
    const meta = metadata ?? {};
    const transferId = meta.transfer_id ?? undefined;
    if (!transferId) throw fail.missing_metadata('Upload-Metadata must carry transfer_id (base64).');
    if (meta.file_id) return { transferId, fileId: meta.file_id };
    const filename = meta.filename ?? meta.name;
    if (!filename) throw fail.missing_metadata('Upload-Metadata must carry file_id, or filename for a new file.');
    return { transferId, name: filename, contentType: meta.filetype ?? meta.type ?? undefined, folder: meta.relativePath ?? undefined };
  }

  /**
   * Checks a new upload against the transfer and records it. A declared file's size must match;
   * a new file is declared now (name, plan, disk reservation), or at the end when its length is
   * deferred. Partial uploads (parallel parts) belong to no file until a final upload joins them.
   * Answers the file this creation declared, if any (a failed creation must take it back).
   */
  async create(principal: Principal, upload: Upload, kind: 'single' | 'partial'): Promise<{ declaredFileId: string | null }> {
    let target: { transferId: string | null; fileId: string | null } = { transferId: principal.transferId ?? null, fileId: null };
    let declaredFileId: string | null = null;
    if (kind === 'partial' && principal.transferId !== undefined) {
      // An upload token's parts go into its own open transfer only, and a file request's caps
      // hold for them as for any declaration (a part with no length could promise anything).
      const transfer = await this.transfers.openForUpload(principal, principal.transferId);
      if (transfer.file_request_id) {
        if (upload.size === undefined) throw fail.validation_failed('Parts of an upload into a file request need their Upload-Length at creation.');
        await this.fileService.checkRequestBytes(transfer, upload.size);
      }
    }
    if (kind !== 'partial') {
      const parsed = this.parseTarget(upload.metadata);
      if (upload.size === undefined && 'name' in parsed) {
        // Length deferred: the file is declared when the upload finishes and its size is known.
        const transfer = await this.transfers.openForUpload(principal, parsed.transferId);
        const name = parsed.folder ? normalizeRelativePath(parsed.folder, parsed.name) : normalizeFileName(parsed.name);
        if (!name.ok) throw fail.invalid_file_name(`filename: ${name.reason}`);
        // Refused now rather than after every byte arrived (the name is checked again at the end).
        if (await this.files.nameTaken(transfer.id, name.name)) throw fail.duplicate_file_name(`filename: "${name.name}" is already in this transfer.`);
        target = { transferId: transfer.id, fileId: null };
      } else {
        const file = await this.resolveTarget(principal, parsed, upload.size);
        target = { transferId: file.transfer_id, fileId: file.id };
        if ('name' in parsed) declaredFileId = file.id;
      }
    }
    const row: TusUploadRow = {
      id: upload.id,
      user_id: principal.userId,
      transfer_id: target.transferId,
      file_id: target.fileId,
      kind,
      size: upload.size ?? null,
      info: null,
      concat: null,
      created_at: iso(this.clock.now()),
      expires_at: this.expiresAt(),
      completed_at: null,
    };
    // A partial upload's record is its reservation (it has no file row until a final joins it).
    if (kind === 'partial') await this.reservation.reserve(principal.userId, upload.size ?? 0, (tx) => this.uploads.insert(row, tx));
    else await this.uploads.insert(row);
    return { declaredFileId };
  }

  /**
   * A PATCH declaring the length of a deferred upload (creation-defer-length). The length is set
   * once (400 after), never below the bytes already received (409), and for a new
   * file must fit the transfer and the disk now (413/507, docs/security-checklist.md B23/I106), not only after every
   * byte arrived. @tus/server records the length; the file is declared when the upload finishes.
   */
  async checkLengthDeclaration(principal: Principal, row: TusUploadRow, length: number, received: number): Promise<void> {
    if (row.size !== null) throw lengthAlreadySet();
    if (length < received) throw fail.length_below_offset(`Upload-Length ${length} is below the ${received} bytes already received.`);
    // A partial's record is its reservation: its length is reserved and recorded at once, so a
    // deferred partial cannot promise bytes past the account's pending limit.
    if (row.kind === 'partial') {
      await this.reservation.reserve(principal.userId, length, async (tx) => {
        // Of two PATCHes declaring at once, the first to record its length wins; the other is refused.
        if (!(await this.uploads.setSizeOnce(row.id, length, tx))) throw lengthAlreadySet();
      });
      return;
    }
    if (row.kind !== 'single' || row.file_id !== null || row.info === null) return;
    const target = this.parseTarget((JSON.parse(row.info) as { metadata?: Upload['metadata'] }).metadata);
    if (!('name' in target)) return;
    const transfer = await this.transfers.openForUpload(principal, target.transferId);
    const existing = await this.files.listForTransfer(transfer.id);
    const [file] = prepareDeclaredFiles(transfer.id, [{ name: target.name, size: length, content_type: target.contentType, folder: target.folder }], existing, this.plan, 'check', this.clock.now());
    await this.fileService.checkRequestCaps(transfer, file!);
    await this.reservation.assertRoom(principal.userId, length);
  }

  /** The file an upload declared itself (by filename), as opposed to one declared beforehand. */
  declaredBy(row: TusUploadRow): string | null {
    if (row.file_id === null || row.info === null) return null;
    const metadata = (JSON.parse(row.info) as { metadata?: Upload['metadata'] }).metadata ?? {};
    return metadata.file_id ? null : row.file_id;
  }

  /** The file a finished upload of `size` bytes fills, checked and declared if new. */
  async resolveTarget(principal: Principal, target: UploadTarget, size: number | undefined): Promise<FileRow> {
    const transfer = await this.transfers.openForUpload(principal, target.transferId);
    if ('fileId' in target) {
      const file = await this.files.findById(target.fileId);
      if (!file || file.transfer_id !== transfer.id) throw fail.not_found('File not found.');
      if (file.state === 'complete') throw fail.file_complete('This file is already uploaded.');
      if (size === undefined) throw fail.validation_failed('A declared file has a known size: send Upload-Length, not Upload-Defer-Length.');
      if (size !== file.size) {
        throw fail.size_mismatch(`Upload-Length is ${size}; the file was declared with ${file.size} bytes.`, { context: { declared_size: file.size } });
      }
      return file;
    }
    if (size === undefined) throw fail.validation_failed('The upload length is not known yet.');
    return this.fileService.declareForUpload(principal, transfer.id, { name: target.name, size, content_type: target.contentType, folder: target.folder });
  }
}

/** Lower-case, so the id can also name the upload's object in a bucket (FerryS3Store). */
export const newUploadId = (): string => `up_${randomBase36(25)}`;

/** The Upload-Metadata keys Ferry reads (name and type as Uppy sends them). */
const METADATA_KEYS = new Set(['transfer_id', 'file_id', 'filename', 'filetype', 'name', 'type', 'relativePath']);

/** The pairs Ferry reads: nothing else is stored with an upload or echoed on HEAD. */
export function knownMetadata(metadata: Upload['metadata']): Record<string, string | null> {
  return Object.fromEntries(Object.entries(metadata ?? {}).filter(([key]) => METADATA_KEYS.has(key)));
}

const lengthAlreadySet = () => fail.length_already_set('Upload-Length is already set for this upload; it cannot change.');
