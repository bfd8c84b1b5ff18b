import path from 'node:path';
import type { Upload } from '@tus/utils';
import type { Config } from '../config.ts';
import type { Clock } from '../domain/clock.ts';
import { fail } from '../errors.ts';
import type { FileRow, FilesRepository } from '../repositories/files-repository.ts';
import type { TusUploadRow, TusUploadsRepository } from '../repositories/tus-uploads-repository.ts';
import type { BlobStoreRegistry } from '../storage/blob-store-registry.ts';
import type { ExpectedChecksum } from '../services/digest-meter.ts';
import type { FileService } from '../services/file-service.ts';
import type { Principal } from '../services/principal.ts';
import type { StorageReservation } from '../services/storage-reservation.ts';
import type { TransferService } from '../services/transfer-service.ts';
import type { UploadLeases } from '../services/upload-leases.ts';
import { FerryFileStore } from './ferry-file-store.ts';
import { FerryS3Store } from './ferry-s3-store.ts';
import { TusCompletion } from './tus-completion.ts';
import { TusConcatenation } from './tus-concatenation.ts';
import { TusRecords, type FerryTusStore } from './tus-store.ts';
import { knownMetadata, TusUploadRules } from './tus-upload-rules.ts';
import { UploadHashers } from './upload-hashers.ts';

/** One request handed to @tus/server: who makes it, and what Ferry's hooks learn on the way. */
export interface TusCall {
  /** Null only for discovery (OPTIONS), which touches no upload. */
  principal: Principal | null;
  /** What a creation makes: an upload of its own, or a part of a later final upload. */
  kind?: 'single' | 'partial';
  /** The chunk's Upload-Checksum, checked by the store as the bytes arrive. */
  checksum?: ExpectedChecksum;
  /** Set by the creation hook: the upload made and the file it declared (a new filename). */
  created?: { uploadId: string; declaredFileId: string | null };
}

/**
 * An upload of the concatenation extension: a part of a later final upload, or a final upload
 * joined from its partial uploads (ids, in order). The HTTP layer states it as Upload-Concat.
 */
export type Concat = { kind: 'partial' } | { kind: 'final'; partials: string[] };

/**
 * Runs @tus/server on the current request as `call`, its answer stating `concat` (Upload-Concat);
 * throws its refusal (as a Ferry error) when it refuses.
 */
export type SendToTus = (call: TusCall, concat?: Concat) => Promise<void>;

/** An upload Ferry answers for itself, without the library: its bytes belong to a file now. */
export interface FinishedUpload {
  size: number;
  /** Set for a final upload. */
  concat?: Concat;
}

/** A final upload, assembled from its partial uploads. */
export interface JoinedUpload {
  uploadId: string;
  size: number;
  fileId: string;
}

export interface ChunkHeaders {
  offset: number;
  /** Upload-Length, declaring a deferred length. */
  length?: number;
  checksum?: ExpectedChecksum;
  /** Content-Length: 0. */
  empty: boolean;
}

const requirePrincipal = (call: TusCall): Principal => {
  if (!call.principal) throw new Error('a tus hook ran for a request without a caller');
  return call.principal;
};

/**
 * Ferry's side of every tus request: which upload the caller may touch and what it may do with
 * it, what Ferry answers itself (a finished upload, a final upload), and what happens around the
 * library (a failed creation is discarded, a terminated upload takes the file it declared with
 * it). The library speaks the protocol; its hooks come back here (onCreate, onFinish).
 */
export class TusService {
  constructor(
    private readonly uploads: Pick<TusUploadsRepository, 'find'>,
    private readonly rules: TusUploadRules,
    private readonly completion: TusCompletion,
    private readonly concatenation: Pick<TusConcatenation, 'finalize'>,
    readonly datastore: FerryTusStore,
  ) {}

  newUploadId(): string {
    return this.rules.newUploadId();
  }

  /** Discovery: the library announces the protocol; nobody is authenticated. */
  discover(send: SendToTus): Promise<void> {
    return send({ principal: null });
  }

  /**
   * A creation the library makes. If it then fails (460, 507, an aborted body...) the client
   * got no Location and cannot resume, so the upload goes, with the file it declared; else
   * the name would stay taken by a file nobody can upload.
   */
  async create(principal: Principal, creation: { kind: 'single' | 'partial'; checksum?: ExpectedChecksum }, send: SendToTus): Promise<void> {
    const call: TusCall = { principal, kind: creation.kind, checksum: creation.checksum };
    try {
      await send(call);
    } catch (error) {
      if (call.created) await this.completion.discard(call.created.uploadId, call.created.declaredFileId);
      throw error;
    }
  }

  /** `Upload-Concat: final;...`: the partial uploads joined into the file, without the library. */
  async joinFinal(principal: Principal, partials: string[], metadata: Upload['metadata']): Promise<JoinedUpload> {
    const uploadId = this.rules.newUploadId();
    const file = await this.concatenation.finalize(principal, partials, metadata, uploadId);
    return { uploadId, size: file.size, fileId: file.id };
  }

  /** HEAD: a finished upload is answered from Ferry's record (the library forgot it). */
  async head(principal: Principal, id: string, send: SendToTus): Promise<FinishedUpload | null> {
    const row = await this.rules.visible(principal, id);
    const concat = row.kind === 'single' ? undefined : concatOf(row);
    if (row.completed_at !== null && row.kind !== 'partial') return { size: row.size ?? 0, concat };
    await send({ principal }, concat);
    return null;
  }

  /**
   * PATCH: only into an unfinished upload of an open transfer, its chunk headers read once that
   * is known. An empty PATCH at the end of a finished upload is harmless and answered as such.
   */
  async patch(principal: Principal, id: string, readChunk: () => ChunkHeaders, send: SendToTus): Promise<FinishedUpload | null> {
    const row = await this.rules.visible(principal, id);
    if (row.kind === 'final') throw fail.final_upload('A final upload is assembled from its partial uploads; it takes no PATCH.');
    const chunk = readChunk();
    if (row.completed_at !== null) {
      if (chunk.offset === row.size && chunk.empty) return { size: row.size };
      throw fail.upload_complete('This upload is complete; its bytes can no longer change.');
    }
    await this.rules.checkWritable(principal, row);
    if (chunk.length !== undefined) await this.rules.checkLengthDeclaration(principal, row, chunk.length, await this.datastore.offsetOf(row.id));
    await send({ principal, checksum: chunk.checksum });
    return null;
  }

  /** DELETE: an unfinished upload, and the file it declared by filename (else its name stays taken). */
  async terminate(principal: Principal, id: string, send: SendToTus): Promise<void> {
    const row = await this.rules.visible(principal, id);
    if (row.completed_at !== null) throw fail.upload_complete('A finished upload belongs to its file now; delete the file instead.');
    const declared = this.rules.declaredBy(row);
    await send({ principal });
    if (declared) await this.completion.dropPendingFile(declared);
  }

  /** The library's creation hook: checks and records the upload; answers the metadata it keeps. */
  async onCreate(call: TusCall, upload: Upload): Promise<Record<string, string | null>> {
    const { declaredFileId } = await this.rules.create(requirePrincipal(call), upload, call.kind ?? 'single');
    call.created = { uploadId: upload.id, declaredFileId };
    return knownMetadata(upload.metadata);
  }

  /** The library's hook once every byte arrived: the file it became (null for a partial upload). */
  async onFinish(call: TusCall, upload: Upload): Promise<FileRow | null> {
    return this.completion.finish(requirePrincipal(call), upload);
  }

  /** An expired upload's bytes go, and with them a file it declared by filename. */
  async expire(row: TusUploadRow): Promise<void> {
    const declared = this.rules.declaredBy(row);
    if (declared) await this.completion.dropPendingFile(declared);
    await this.datastore.forget(row.id);
  }

  /** Bytes the store holds for uploads without a record, older than `olderThanMs` (see FerryTusStore). */
  async sweepOrphans(olderThanMs: number): Promise<number> {
    return (await this.datastore.sweepOrphans?.(async (id) => !!(await this.uploads.find(id)), olderThanMs)) ?? 0;
  }
}

/** What a partial or final upload is made of (a final one lists its partials). */
function concatOf(row: TusUploadRow): Concat {
  if (row.kind === 'partial') return { kind: 'partial' };
  return { kind: 'final', partials: JSON.parse(row.concat ?? '[]') as string[] };
}

export interface TusDeps {
  config: Config;
  uploads: TusUploadsRepository;
  clock: Clock;
  stores: BlobStoreRegistry;
  filesRepo: FilesRepository;
  files: FileService;
  transfers: TransferService;
  reservation: StorageReservation;
  leases: UploadLeases;
  shutdown: AbortSignal;
}

/**
 * The tus data store matching the default blob store, so a finished upload becomes a blob without
 * a copy: beside the local store (same filesystem, a rename), or in the same bucket (the object).
 */
function tusStoreFor(deps: TusDeps, records: TusRecords): FerryTusStore {
  const medium = deps.stores.defaultMedium;
  const expirationPeriodInMilliseconds = deps.config.uploads.expirySeconds * 1000;
  switch (medium.kind) {
    case 'local':
      return new FerryFileStore({ directory: path.join(medium.store.root, '.tus'), records, expirationPeriodInMilliseconds, hashers: new UploadHashers(), shutdown: deps.shutdown, blobs: medium.store });
    case 's3':
      return new FerryS3Store({ settings: medium.settings, blobs: medium.store, records, expirationPeriodInMilliseconds, shutdown: deps.shutdown });
    default:
      throw new Error(`tus uploads are not supported on blob store "${medium.store.id}"`);
  }
}

/** The tus service over the data store matching the default blob store. */
export function createTusService(deps: TusDeps): TusService {
  const { uploads, clock, config } = deps;
  const blobs = deps.stores.defaultStore;
  const datastore = tusStoreFor(deps, new TusRecords(uploads));
  const rules = new TusUploadRules(uploads, deps.filesRepo, deps.files, deps.transfers, deps.reservation, clock, config.uploads.expirySeconds, config.plan);
  const completion = new TusCompletion(uploads, deps.filesRepo, rules, datastore, blobs, clock);
  const concatenation = new TusConcatenation(uploads, deps.filesRepo, rules, datastore, blobs, deps.leases, clock, config.uploads.tusMaxSizeBytes);
  return new TusService(uploads, rules, completion, concatenation, datastore);
}
