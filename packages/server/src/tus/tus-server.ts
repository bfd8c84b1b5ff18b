import path from 'node:path';
import { Server } from '@tus/server';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Clock } from '../domain/clock.ts';
import { AppError } from '../errors.ts';
import type { FilesRepository } from '../repositories/files-repository.ts';
import { TusUploadsRepository } from '../repositories/tus-uploads-repository.ts';
import { StorageUnavailableError } from '../storage/blob-store.ts';
import { toStoreError } from '../storage/s3-errors.ts';
import type { BlobStoreRegistry } from '../storage/blob-store-registry.ts';
import type { FileService } from '../services/file-service.ts';
import type { StorageReservation } from '../services/storage-reservation.ts';
import type { TransferService } from '../services/transfer-service.ts';
import type { UploadLeases } from '../services/upload-leases.ts';
import { FerryFileStore } from './ferry-file-store.ts';
import { FerryS3Store } from './ferry-s3-store.ts';
import type { FerryTusStore } from './tus-bytes.ts';
import { TusKvStore } from './tus-kv-store.ts';
import { LeaseLocker, noLocking } from './tus-locker.ts';
import { knownMetadata, TusUploadRules } from './tus-upload-rules.ts';
import { TusCompletion } from './tus-completion.ts';
import { TusConcatenation } from './tus-concatenation.ts';
import { currentTusContext } from './upload-context.ts';
import { toTusError } from './tus-errors.ts';
import { UploadHashers } from './upload-hashers.ts';

export const TUS_PATH = '/api/v1/uploads';

export interface TusDeps {
  config: Config;
  db: Db;
  clock: Clock;
  stores: BlobStoreRegistry;
  filesRepo: FilesRepository;
  files: FileService;
  transfers: TransferService;
  reservation: StorageReservation;
  leases: UploadLeases;
  shutdown: AbortSignal;
}

const asTusError = (error: unknown): unknown => (error instanceof AppError ? toTusError(error) : error);

/**
 * The tus data store matching the default blob store, so a finished upload becomes a blob without
 * a copy: beside the local store (same filesystem, a rename), or in the same bucket (the object).
 */
function tusStoreFor(deps: TusDeps, records: TusKvStore, hashers: UploadHashers): FerryTusStore {
  const medium = deps.stores.defaultMedium;
  const expirationPeriodInMilliseconds = deps.config.uploads.expirySeconds * 1000;
  switch (medium.kind) {
    case 'local':
      return new FerryFileStore({ directory: path.join(medium.store.root, '.tus'), configstore: records, expirationPeriodInMilliseconds, hashers, shutdown: deps.shutdown, blobs: medium.store });
    case 's3':
      return new FerryS3Store({ settings: medium.settings, blobs: medium.store, records, expirationPeriodInMilliseconds, shutdown: deps.shutdown });
    default:
      throw new Error(`tus uploads are not supported on blob store "${medium.store.id}"`);
  }
}

/**
 * @tus/server configured for Ferry: the bytes go where the default blob store is, the upload
 * records live in the database, writers exclude each other with shared leases, and Ferry's
 * rules run in its hooks.
 */
export function createTus(deps: TusDeps) {
  const blobs = deps.stores.defaultStore;
  const uploads = new TusUploadsRepository(deps.db);
  const hashers = new UploadHashers();
  const datastore = tusStoreFor(deps, new TusKvStore(uploads), hashers);
  const rules = new TusUploadRules(uploads, deps.filesRepo, deps.files, deps.transfers, deps.reservation, deps.clock, deps.config.uploads.expirySeconds, deps.config.plan);
  const completion = new TusCompletion(uploads, deps.filesRepo, rules, datastore, blobs, deps.clock);
  const concatenation = new TusConcatenation(uploads, deps.filesRepo, rules, datastore, blobs, deps.leases, deps.clock, deps.config.uploads.tusMaxSizeBytes);
  const locker = new LeaseLocker(deps.leases);

  const server = new Server({
    path: TUS_PATH,
    datastore,
    maxSize: deps.config.uploads.tusMaxSizeBytes,
    // Locations are built on FERRY_PUBLIC_URL: a request's Host (or X-Forwarded-Host) must never
    // decide where a client sends its bytes next.
    generateUrl: (_req, { path, id }) => `${deps.config.publicUrl}${path}/${id}`,
    allowedOrigins: deps.config.uploads.corsOrigins,
    allowedHeaders: ['Upload-Checksum', 'X-Token', 'X-Upload-Token', 'X-Request-Id'],
    exposedHeaders: ['Upload-Expires', 'Tus-Checksum-Algorithm', 'X-Ferry-File-Id', 'X-Request-Id', 'Retry-After'],
    namingFunction: () => rules.newUploadId(),
    locker: (req) => (req.method === 'HEAD' ? noLocking : locker),
    // Ferry's route refuses to terminate an upload that became a file (409). The library's own
    // check (offset = length) would also keep finished partial uploads and uploads whose
    // completion was refused (e.g. 413 at the end) from ever being removed by their owner.
    disableTerminationForFinishedUploads: false,
    // The S3 data store's own requests failing (the bucket's server down) answer 503, not 500.
    onResponseError: (_req, error) => {
      if (!(toStoreError(error) instanceof StorageUnavailableError)) return undefined;
      const refusal = new AppError(503, 'storage_unavailable', 'File storage is unavailable; retry shortly.', {}, undefined, { 'retry-after': '5' });
      return toTusError(refusal);
    },
    onUploadCreate: async (_req, upload) => {
      const context = currentTusContext();
      try {
        const { declaredFileId } = await rules.create(context.principal, upload, context.kind);
        context.created = { uploadId: upload.id, declaredFileId };
      } catch (error) {
        throw asTusError(error);
      }
      return { metadata: knownMetadata(upload.metadata) };
    },
    onUploadFinish: async (_req, upload) => {
      const context = currentTusContext();
      try {
        const file = await completion.finish(context.principal, upload);
        if (!file) return {};
        context.fileId = file.id;
        return { headers: { 'X-Ferry-File-Id': file.id } };
      } catch (error) {
        throw asTusError(error);
      }
    },
  });

  return { server, rules, completion, concatenation, datastore, uploads, hashers };
}

export type Tus = ReturnType<typeof createTus>;
