import type { Upload } from '@tus/utils';
import type { Clock } from '../../src/domain/clock.ts';
import { AppError, fail } from '../../src/errors.ts';
import type { FileRow } from '../../src/repositories/files-repository.ts';
import type { TusUploadRow } from '../../src/repositories/tus-uploads-repository.ts';
import type { Principal } from '../../src/services/principal.ts';
import type { TransferWithTotals } from '../../src/repositories/transfers-repository.ts';
import type { SettledUpload } from '../../src/tus/tus-store.ts';
import type { PlanLimits } from '../../src/config.ts';
import { TusCompletion } from '../../src/tus/tus-completion.ts';
import { TusUploadRules } from '../../src/tus/tus-upload-rules.ts';

/**
 * In-memory stand-ins for what the tus rules, completion and service sit on (records, files,
 * transfers, disk room, the data store, the clock, ids), for unit tests beside the source.
 */

/** Status and code of the AppError a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<[number, string]> {
  const error = await promise.then(() => null, (e: unknown) => e);
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
  return [error.status, error.code];
}

export const NOW = new Date('2030-01-02T03:04:05.000Z');

export class FakeClock implements Clock {
  constructor(public current = NOW) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

/** up_0000...1, up_0000...2: valid upload ids, predictable in assertions. */
export function sequentialIds(): () => string {
  let n = 0;
  return () => `up_${String(++n).padStart(25, '0')}`;
}

export const PLAN: PlanLimits = {
  name: 'test',
  maxExpiryDays: 7,
  allowPermanent: false,
  maxTransferSizeBytes: 1000,
  maxFilesPerTransfer: 10,
  requestsPerMinute: 1000,
  requestsPerMonth: 100_000,
  maxRecipientsPerTransfer: 50,
};

export const owner: Principal = { userId: 'usr_owner', scopes: ['files:write'], via: 'key' };
export const stranger: Principal = { userId: 'usr_other', scopes: ['files:write'], via: 'key' };

export function uploadRow(changes: Partial<TusUploadRow> = {}): TusUploadRow {
  return {
    id: 'up_0000000000000000000000001',
    user_id: owner.userId,
    transfer_id: 'tr_open',
    file_id: null,
    kind: 'single',
    size: 10,
    info: null,
    concat: null,
    created_at: NOW.toISOString(),
    expires_at: new Date(NOW.getTime() + 3600_000).toISOString(),
    completed_at: null,
    ...changes,
  };
}

/** The library's record of an upload as Ferry stores it in the row's `info`. */
export const infoOf = (metadata: Record<string, string>, size?: number) => JSON.stringify({ id: 'x', size, offset: 0, metadata });

export class FakeTusUploads {
  readonly rows = new Map<string, TusUploadRow>();
  async find(id: string) {
    const row = this.rows.get(id);
    return row && { ...row };
  }
  async insert(row: TusUploadRow) {
    if (this.rows.has(row.id)) throw new Error(`duplicate upload ${row.id}`);
    this.rows.set(row.id, { ...row });
  }
  async setSizeOnce(id: string, size: number) {
    const row = this.rows.get(id);
    if (!row || row.size !== null) return false;
    row.size = size;
    return true;
  }

  async update(id: string, changes: Partial<TusUploadRow>) {
    const row = this.rows.get(id);
    if (row) this.rows.set(id, { ...row, ...changes });
  }
  async delete(id: string) {
    this.rows.delete(id);
  }
  async listTracked() {
    return [...this.rows.values()].filter((r) => r.info !== null).map((r) => r.id);
  }
}

export function fileRow(changes: Partial<FileRow> = {}): FileRow {
  return {
    id: 'fl_declared',
    transfer_id: 'tr_open',
    name: 'a.bin',
    position: 0,
    size: 10,
    content_type: 'application/octet-stream',
    sha256: null,
    crc32: null,
    state: 'pending',
    store_id: 'local',
    storage_key: 'files/x',
    download_count: 0,
    created_at: NOW.toISOString(),
    updated_at: NOW.toISOString(),
    completed_at: null,
    part_size: null,
    part_count: null,
    client_file_id: null,
    ...changes,
  } as FileRow;
}

export class FakeFiles {
  readonly rows = new Map<string, FileRow>();
  add(row: FileRow): FileRow {
    this.rows.set(row.id, row);
    return row;
  }
  async findById(id: string) {
    return this.rows.get(id);
  }
  async nameTaken(transferId: string, name: string) {
    return [...this.rows.values()].some((f) => f.transfer_id === transferId && f.name === name);
  }
  async listForTransfer(transferId: string) {
    return [...this.rows.values()].filter((f) => f.transfer_id === transferId);
  }
  /** Conditional, as the repository's: only a pending file completes. */
  async markComplete(id: string, result: { sha256: string; crc32: number; storage_key: string }, nowIso: string) {
    const row = this.rows.get(id);
    if (!row || row.state !== 'pending') return false;
    this.rows.set(id, { ...row, ...result, state: 'complete', completed_at: nowIso });
    return true;
  }
  async delete(id: string) {
    this.rows.delete(id);
  }
}

/** Transfers of the owner: tr_open takes uploads, tr_final is finalized; any other id is 404. */
export class FakeTransfers {
  async openForUpload(principal: Principal, id: string): Promise<TransferWithTotals> {
    if (principal.transferId !== undefined && principal.transferId !== id) throw fail.not_found('Transfer not found.');
    if (principal.userId !== owner.userId || !['tr_open', 'tr_final'].includes(id)) throw fail.not_found('Transfer not found.');
    if (id === 'tr_final') throw fail.transfer_finalized('The transfer is finalized; its files can no longer change.');
    return { id } as TransferWithTotals;
  }
}

/** Declares files as FileService does (into FakeFiles), remembering each declaration. */
export class FakeFileService {
  readonly declared: { transferId: string; name: string; size: number; folder?: string }[] = [];
  constructor(private readonly files: FakeFiles) {}
  async declareForUpload(_principal: Principal, transferId: string, declaration: { name: string; size: number; folder?: string }) {
    this.declared.push({ transferId, ...declaration });
    return this.files.add(fileRow({ id: `fl_new${this.declared.length}`, transfer_id: transferId, name: declaration.name, size: declaration.size }));
  }
  /** Transfers of these tests come through no file request. */
  async checkRequestCaps() {}
  async checkRequestBytes() {}
}

/** Disk room: every request is remembered; `full` refuses them. */
export class FakeReservation {
  readonly asked: number[] = [];
  full: Error | null = null;
  async assertRoom(_userId: string, bytes: number) {
    this.asked.push(bytes);
    if (this.full) throw this.full;
  }

  /** Checks as assertRoom does, then runs the write (the fakes need no transaction). */
  async reserve<T>(userId: string, bytes: number, write: (tx: never) => Promise<T>): Promise<T> {
    await this.assertRoom(userId, bytes);
    return write(undefined as never);
  }
}

/** The data store's Ferry methods: settles with a fixed digest, remembers what it forgot. */
export class FakeTusStore {
  readonly forgotten: string[] = [];
  readonly settled: string[] = [];
  offsets = new Map<string, number>();
  failForget = false;
  async offsetOf(id: string) {
    return this.offsets.get(id) ?? 0;
  }
  async settle(id: string, _size: number): Promise<SettledUpload> {
    this.settled.push(id);
    return { sha256: 'f'.repeat(64), crc32: 42, storageKey: `files/settled-${id}` };
  }
  async forget(id: string) {
    if (this.failForget) throw new Error('storage down');
    this.forgotten.push(id);
  }
}

export class FakeBlobs {
  readonly deleted: string[] = [];
  async delete(key: string) {
    this.deleted.push(key);
  }
}

/** What @tus/server hands the hooks. */
export const upload = (id: string, size: number | undefined, metadata: Record<string, string> = {}) =>
  ({ id, size, offset: 0, metadata, sizeIsDeferred: size === undefined }) as unknown as Upload;

/** The tus rules and completion over fresh fakes, with every fake at hand. */
export function tusWithFakes() {
  const clock = new FakeClock();
  const uploads = new FakeTusUploads();
  const files = new FakeFiles();
  const fileService = new FakeFileService(files);
  const reservation = new FakeReservation();
  const store = new FakeTusStore();
  const blobs = new FakeBlobs();
  const rules = new TusUploadRules(uploads, files, fileService, new FakeTransfers(), reservation, clock, 3600, PLAN, sequentialIds());
  const completion = new TusCompletion(uploads, files, rules, store, blobs, clock);
  return { clock, uploads, files, fileService, reservation, store, blobs, rules, completion };
}
