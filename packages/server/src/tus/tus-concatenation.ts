import type { Upload } from '@tus/utils';
import { badRequest, conflict, fail } from '../errors.ts';
import { iso, type Clock } from '../domain/clock.ts';
import type { FileRow, FilesRepository } from '../repositories/files-repository.ts';
import type { TusUploadRow, TusUploadsRepository } from '../repositories/tus-uploads-repository.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { Principal } from '../services/principal.ts';
import type { Lease, UploadLeases } from '../services/upload-leases.ts';
import { storeVerified } from '../services/verified-write.ts';
import { UPLOAD_ID, type FerryTusStore } from './tus-store.ts';
import { TUS_PATH } from './tus-request.ts';
import type { TusUploadRules } from './tus-upload-rules.ts';

const UPLOAD_PATH = `${TUS_PATH}/`;
const MAX_PARTS = 1000;

const hostOf = (url: string): string => {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
};

/**
 * The concatenation extension's final upload, which @tus/server lacks. Partial uploads are
 * ordinary tus uploads (sent in parallel, without metadata by tus-js-client); the final upload
 * names them and the transfer. Only this server's own upload ids are accepted, never fetched
 * (SECURITY C44); partials of other callers do not exist (C43). Their bytes are streamed once, in
 * order, through SHA-256/CRC-32 into the file, and the partials are removed.
 */
export class TusConcatenation {
  constructor(
    private readonly uploads: TusUploadsRepository,
    private readonly files: FilesRepository,
    private readonly rules: TusUploadRules,
    private readonly datastore: FerryTusStore,
    private readonly store: BlobStore,
    private readonly leases: UploadLeases,
    private readonly clock: Clock,
    private readonly maxSize: number,
  ) {}

  /** Upload ids from `final;<url> <url>`: absolute URLs on this server's host, or paths. */
  parseFinal(header: string, allowedHosts: string[]): string[] {
    const list = header.slice('final;'.length).trim().split(/ +/).filter(Boolean);
    // `Host: example.com:80` and `http://example.com/...` are the same server: compare as URLs do.
    const hosts = new Set(allowedHosts.flatMap((host) => [host, hostOf(`http://${host}`), hostOf(`https://${host}`)]).filter(Boolean));
    if (list.length === 0 || list.length > MAX_PARTS) throw badRequest(`Upload-Concat: final lists 1 to ${MAX_PARTS} partial uploads.`, 'invalid_concat');
    return list.map((raw) => {
      let url: URL;
      try {
        url = new URL(raw, 'http://relative.invalid');
      } catch {
        throw badRequest('Upload-Concat lists something that is not an upload URL.', 'invalid_concat');
      }
      const relative = url.host === 'relative.invalid' && raw.startsWith('/');
      if (!relative && ((url.protocol !== 'http:' && url.protocol !== 'https:') || !hosts.has(url.host))) {
        throw badRequest('Upload-Concat may only name uploads on this server.', 'invalid_concat');
      }
      const id = url.pathname.startsWith(UPLOAD_PATH) ? url.pathname.slice(UPLOAD_PATH.length) : '';
      if (!UPLOAD_ID.test(id) || url.search || url.hash) throw badRequest('Upload-Concat may only name uploads on this server.', 'invalid_concat');
      return id;
    });
  }

  async finalize(principal: Principal, ids: string[], metadata: Upload['metadata'], finalId: string): Promise<FileRow> {
    if (new Set(ids).size !== ids.length) throw badRequest('Upload-Concat names a partial upload twice.', 'invalid_concat');
    const leases: Lease[] = [];
    try {
      for (const id of ids) {
        const lease = await this.leases.tryAcquire(`tus:${id}`);
        if (!lease) throw fail.upload_locked('A partial upload is still being written; retry when it ends.');
        leases.push(lease);
      }
      const partials: TusUploadRow[] = [];
      for (const id of ids) partials.push(await this.checkPartial(principal, id));
      const total = partials.reduce((sum, p) => sum + (p.size ?? 0), 0);
      if (total > this.maxSize) throw fail.payload_too_large(`The joined upload would be larger than Tus-Max-Size (${this.maxSize} bytes).`);
      const file = await this.rules.resolveTarget(principal, this.rules.parseTarget(metadata), total);
      const blob = await storeVerified(this.store, this.concatenate(ids), { maxSize: total, exactSize: total });
      const now = iso(this.clock.now());
      const won = await this.files.markComplete(file.id, { sha256: blob.digest.sha256, crc32: blob.digest.crc32, storage_key: blob.key }, now);
      if (!won) {
        await this.store.delete(blob.key);
        throw conflict('This file was completed by another upload first.', 'file_complete');
      }
      await this.uploads.insert({
        id: finalId,
        user_id: principal.userId,
        transfer_id: file.transfer_id,
        file_id: file.id,
        kind: 'final',
        size: total,
        info: null,
        concat: JSON.stringify(ids),
        created_at: now,
        expires_at: now,
        completed_at: now,
      });
      for (const id of ids) {
        await this.datastore.forget(id);
        await this.uploads.delete(id);
      }
      return (await this.files.findById(file.id))!;
    } finally {
      for (const lease of leases) await lease.release();
    }
  }

  private async checkPartial(principal: Principal, id: string): Promise<TusUploadRow> {
    const row = await this.rules.visible(principal, id);
    if (row.kind !== 'partial') throw badRequest(`${id} is not a partial upload (Upload-Concat: partial).`, 'invalid_concat');
    // Finished means every declared byte is on disk (the lease held by finalize keeps writers out).
    if (row.size === null || (await this.datastore.offsetOf(id)) !== row.size) {
      throw badRequest(`Partial upload ${id} is not finished yet.`, 'invalid_concat');
    }
    return row;
  }

  private async *concatenate(ids: string[]): AsyncGenerator<Buffer> {
    for (const id of ids) {
      for await (const chunk of await this.datastore.openRead(id)) yield chunk as Buffer;
    }
  }
}
