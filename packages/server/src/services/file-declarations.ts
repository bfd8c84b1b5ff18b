import { newId } from '../ids.ts';
import { fail } from '../errors.ts';
import { iso } from '../domain/clock.ts';
import { normalizeContentType, normalizeFileName } from '../domain/file-name.ts';
import { normalizeRelativePath } from '../domain/relative-path.ts';
import type { PlanLimits } from '../config.ts';
import type { FileRow } from '../repositories/files-repository.ts';

/** FERRY_PART_SIZE's default: the signed-part size, as WeTransfer's 5 MiB minimum S3 part. */
export const DEFAULT_PART_SIZE = 5 * 1024 * 1024;

/** Parts a file of `size` bytes is cut into (an empty file has none). */
export const partCount = (size: number, partSize: number): number => Math.ceil(size / partSize);

/** Parts one file may be cut into, whatever the store (S3 allows no more). */
export const MAX_PARTS = 10_000;

export interface FileDeclaration {
  name: string;
  size: number;
  content_type?: string;
  /** Folder path from a browser's relativePath (tus); the file keeps its place in the tree. */
  folder?: string;
}

/**
 * Checks declared files against the names and sizes already in the transfer and the plan, and
 * builds their rows. Sizes are reserved at declaration: the transfer's total can never pass the cap.
 */
export function prepareDeclaredFiles(
  transferId: string,
  declared: FileDeclaration[],
  existing: Pick<FileRow, 'name' | 'size' | 'position'>[],
  plan: PlanLimits,
  storeId: string,
  now: Date,
  partSize: number = DEFAULT_PART_SIZE,
): FileRow[] {
  if (existing.length + declared.length > plan.maxFilesPerTransfer) {
    throw fail.too_many_files(`A transfer holds at most ${plan.maxFilesPerTransfer} files.`);
  }
  const names = new Set(existing.map((f) => f.name));
  let total = existing.reduce((sum, f) => sum + f.size, 0);
  const nextPosition = existing.reduce((max, f) => Math.max(max, f.position + 1), 0);
  return declared.map((file, index) => {
    const checked = file.folder ? normalizeRelativePath(file.folder, file.name) : normalizeFileName(file.name);
    if (!checked.ok) throw fail.invalid_file_name(`files[${index}].name: ${checked.reason}`);
    if (names.has(checked.name)) {
      throw fail.duplicate_file_name(`files[${index}].name: "${checked.name}" is already in this transfer.`);
    }
    names.add(checked.name);
    if (!Number.isSafeInteger(file.size) || file.size < 0) {
      throw fail.validation_failed(`files[${index}].size must be a whole number of bytes >= 0.`);
    }
    total += file.size;
    if (total > plan.maxTransferSizeBytes) {
      throw fail.payload_too_large(`A transfer holds at most ${plan.maxTransferSizeBytes} bytes.`, { context: { max_transfer_size: plan.maxTransferSizeBytes } });
    }
    const id = newId('fl');
    return {
      id,
      transfer_id: transferId,
      name: checked.name,
      position: nextPosition + index,
      size: file.size,
      content_type: normalizeContentType(file.content_type),
      sha256: null,
      crc32: null,
      state: 'pending',
      store_id: storeId,
      storage_key: '',
      download_count: 0,
      created_at: iso(now),
      updated_at: iso(now),
      completed_at: null,
      // At most 10 000 parts per file (S3's limit): a very large file gets larger parts.
      part_size: Math.max(partSize, Math.ceil(file.size / MAX_PARTS)),
      part_count: null,
      client_file_id: null,
    } satisfies FileRow;
  });
}

