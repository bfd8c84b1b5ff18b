import { setTimeout as sleep } from 'node:timers/promises';
import { fail } from '../errors.ts';
import type { FileRow, FilesRepository } from '../repositories/files-repository.ts';
import type { UploadLeases } from './upload-leases.ts';

/** How long a caller waits for another caller's assembly of the same file before giving up. */
const ASSEMBLY_WAIT_MS = 10 * 60_000;
const POLL_MS = 100;

/**
 * Completes a file exactly once, whoever asks and on whichever instance: `assemble` runs under
 * the file's assembly lease; callers that find the lease held wait for its holder and then answer
 * the file it completed (409 assembly_in_progress after ten minutes, 409 file_removed when the
 * file is deleted meanwhile). `assemble` must itself re-read the file: it may have completed
 * between the caller's look and the lease.
 */
export async function assembleOnce(
  files: FilesRepository,
  leases: UploadLeases,
  fileId: string,
  assemble: () => Promise<FileRow>,
): Promise<FileRow> {
  const deadline = Date.now() + ASSEMBLY_WAIT_MS;
  for (;;) {
    const file = await files.findById(fileId);
    if (!file) throw fail.file_removed('The file was removed during assembly.');
    if (file.state === 'complete') return file;
    const lease = await leases.tryAcquire(`assemble:${fileId}`);
    if (!lease) {
      if (Date.now() > deadline) throw fail.assembly_in_progress('The file is still being assembled; retry later.');
      await sleep(POLL_MS);
      continue;
    }
    try {
      return await assemble();
    } finally {
      await lease.release();
    }
  }
}
