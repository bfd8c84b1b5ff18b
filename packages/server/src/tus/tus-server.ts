import path from 'node:path';
import { Server } from '@tus/server';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Clock } from '../domain/clock.ts';
import { AppError } from '../errors.ts';
import type { FilesRepository } from '../repositories/files-repository.ts';
import { TusUploadsRepository } from '../repositories/tus-uploads-repository.ts';
import { LocalBlobStore } from '../storage/local-blob-store.ts';
import type { BlobStoreRegistry } from '../services/blob-store-registry.ts';
import type { FileService } from '../services/file-service.ts';
import type { StorageReservation } from '../services/storage-reservation.ts';
import type { TransferService } from '../services/transfer-service.ts';
import type { UploadLeases } from '../services/upload-leases.ts';
import { FerryFileStore } from './ferry-file-store.ts';
import { TusKvStore } from './tus-kv-store.ts';
import { LeaseLocker, noLocking } from './tus-locker.ts';
import { TusUploadRules } from './tus-upload-rules.ts';
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
 * @tus/server configured for Ferry: uploads are written beside the local blob store (same
 * filesystem, so a finished upload becomes a blob by rename), their records live in the
 * database, writers exclude each other with database leases, and Ferry's rules run in its hooks.
 */
export function createTus(deps: TusDeps) {
  const blobs = deps.stores.defaultStore;
  if (!(blobs instanceof LocalBlobStore)) throw new Error('tus uploads need the local blob store (object storage support comes with scale-out)');
  const uploads = new TusUploadsRepository(deps.db);
  const hashers = new UploadHashers();
  const datastore = new FerryFileStore({
    directory: path.join(blobs.root, '.tus'),
    configstore: new TusKvStore(uploads),
    expirationPeriodInMilliseconds: deps.config.uploads.expirySeconds * 1000,
    hashers,
    shutdown: deps.shutdown,
  });
  const rules = new TusUploadRules(uploads, deps.filesRepo, deps.files, deps.transfers, deps.reservation, deps.clock, deps.config.uploads.expirySeconds, deps.config.plan);
  const completion = new TusCompletion(uploads, deps.filesRepo, rules, datastore, blobs, deps.clock);
  const concatenation = new TusConcatenation(uploads, deps.filesRepo, rules, datastore, blobs, deps.leases, deps.clock, deps.config.uploads.tusMaxSizeBytes);
  const locker = new LeaseLocker(deps.leases);

  const server = new Server({
    path: TUS_PATH,
    datastore,
    maxSize: deps.config.uploads.tusMaxSizeBytes,
    respectForwardedHeaders: deps.config.trustProxy !== false,
    allowedOrigins: deps.config.uploads.corsOrigins,
    allowedHeaders: ['Upload-Checksum', 'X-Token', 'X-Upload-Token', 'X-Request-Id'],
    exposedHeaders: ['Upload-Expires', 'Tus-Checksum-Algorithm', 'X-Ferry-File-Id', 'X-Request-Id', 'Retry-After'],
    namingFunction: () => rules.newUploadId(),
    locker: (req) => (req.method === 'HEAD' ? noLocking : locker),
    // Ferry's route refuses to terminate an upload that became a file (409). The library's own
    // check (offset = length) would also keep finished partial uploads and uploads whose
    // completion was refused (e.g. 413 at the end) from ever being removed by their owner.
    disableTerminationForFinishedUploads: false,
    onUploadCreate: async (_req, upload) => {
      const context = currentTusContext();
      try {
        const { declaredFileId } = await rules.create(context.principal, upload, context.kind);
        context.created = { uploadId: upload.id, declaredFileId };
      } catch (error) {
        throw asTusError(error);
      }
      return {};
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
