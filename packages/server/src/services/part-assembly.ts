import type { Readable } from 'node:stream';
import { fail } from '../errors.ts';
import { iso, type Clock } from '../domain/clock.ts';
import type { FilesRepository, FileRow } from '../repositories/files-repository.ts';
import type { UploadPartsRepository, UploadPartRow } from '../repositories/upload-parts-repository.ts';
import type { ExpectedChecksum } from './digest-meter.ts';
import type { BlobStoreRegistry } from '../storage/blob-store-registry.ts';
import type { UploadLeases } from './upload-leases.ts';
import { assembleOnce } from './assembly-lease.ts';
import { storeVerified } from './verified-write.ts';

/**
 * Numbered parts of a file (signed parts, chunks) stored as blobs of their own, then joined into
 * the file. Parts are idempotent (a retry overwrites, S3 semantics) and may arrive in any order
 * and in parallel; assembly streams them in order through one SHA-256/CRC-32 pass, and exactly
 * one caller completes the file however many ask at once.
 */
export class PartAssembly {
  constructor(
    private readonly parts: UploadPartsRepository,
    private readonly files: FilesRepository,
    private readonly stores: BlobStoreRegistry,
    private readonly leases: UploadLeases,
    private readonly clock: Clock,
  ) {}

  /** Stores one part's bytes (size and client digests checked first) and replaces any earlier copy. */
  async storePart(
    file: FileRow,
    partNumber: number,
    body: Readable | AsyncIterable<Buffer>,
    limits: { maxSize: number; exactSize?: number; expected?: ExpectedChecksum[] },
  ): Promise<UploadPartRow> {
    const store = this.stores.get(file.store_id);
    const blob = await storeVerified(store, body, { ...limits, folder: 'parts' });
    const row: UploadPartRow = {
      file_id: file.id,
      part_number: partNumber,
      size: blob.digest.size,
      store_id: store.id,
      storage_key: blob.key,
      created_at: iso(this.clock.now()),
    };
    const previous = await this.parts.upsert(row);
    if (previous) await this.stores.get(previous.store_id).delete(previous.storage_key);
    const current = await this.files.findById(file.id);
    if (!current || current.state === 'complete') {
      // Lost a race with assembly: the file is already whole and this part is not part of it.
      await this.parts.delete(file.id, partNumber, blob.key);
      await store.delete(blob.key);
      throw fail.file_complete('This file is already complete; its parts can no longer change.');
    }
    return row;
  }

  list(fileId: string): Promise<UploadPartRow[]> {
    return this.parts.list(fileId);
  }

  /**
   * Joins parts `numbers` (in that order) into the file and marks it complete. Concurrent callers
   * wait for the one holding the assembly lease and then get the same completed file.
   * `check` runs under the lease, on the parts as stored, and throws to refuse assembly.
   */
  async assemble(fileId: string, numbers: number[], check: (file: FileRow, parts: UploadPartRow[]) => void): Promise<FileRow> {
    return assembleOnce(this.files, this.leases, fileId, () => this.assembleHolding(fileId, numbers, check));
  }

  private async assembleHolding(fileId: string, numbers: number[], check: (file: FileRow, parts: UploadPartRow[]) => void): Promise<FileRow> {
    const file = await this.files.findById(fileId);
    if (!file) throw fail.file_removed('The file was removed during assembly.');
    if (file.state === 'complete') return file;
    const byNumber = new Map((await this.parts.list(fileId)).map((p) => [p.part_number, p]));
    const ordered = numbers.map((n) => byNumber.get(n)).filter((p): p is UploadPartRow => p !== undefined);
    check(file, ordered);
    const store = this.stores.get(file.store_id);
    const blob = await storeVerified(store, this.concatenate(ordered), { maxSize: file.size, exactSize: file.size });
    const won = await this.files.markComplete(file.id, { sha256: blob.digest.sha256, crc32: blob.digest.crc32, storage_key: blob.key }, iso(this.clock.now()));
    if (!won) await store.delete(blob.key);
    for (const part of await this.parts.deleteForFile(fileId)) await this.stores.get(part.store_id).delete(part.storage_key);
    return (await this.files.findById(fileId))!;
  }

  private async *concatenate(parts: UploadPartRow[]): AsyncGenerator<Buffer> {
    for (const part of parts) {
      const stream = await this.stores.get(part.store_id).read(part.storage_key);
      for await (const chunk of stream) yield chunk as Buffer;
    }
  }
}
