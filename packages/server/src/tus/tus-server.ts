import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server } from '@tus/server';
import type { Lock, Locker } from '@tus/utils';
import { NodeRequest } from 'srvx/node';
import type { Config } from '../config.ts';
import { AppError, locked, unavailable } from '../errors.ts';
import type { Lease, UploadLeases } from '../services/upload-leases.ts';
import { StorageUnavailableError } from '../storage/blob-store.ts';
import { toStoreError } from '../storage/s3-errors.ts';
import { codeForStatus, refusalOf, TUS_PATH, toTusError, uploadUrl, withChecksum } from './tus-request.ts';
import type { TusCall, TusService } from './tus-service.ts';

/** @tus/server run on one request: its answer, and what it refused with, as a Ferry error. */
export interface TusAnswer {
  response: Response;
  /** Set when the response is an error (status 400 and up). */
  refusal?: AppError;
}

/** The tus protocol server, built in the composition root beside the services its hooks call. */
export interface TusServer {
  handle(call: TusCall, req: IncomingMessage, res: ServerResponse): Promise<TusAnswer>;
}

export interface TusServerDeps {
  tus: TusService;
  leases: UploadLeases;
  config: Config;
}

const asTusError = (error: unknown): unknown => (error instanceof AppError ? toTusError(error) : error);

/**
 * @tus/server configured for Ferry: the bytes go to the tus service's data store, writers exclude
 * each other with shared leases, and Ferry's rules run in its hooks. Each request is handed in
 * with its call (caller, creation kind, checksum), which the hooks find again by the request.
 */
export function createTusServer({ tus, leases, config }: TusServerDeps): TusServer {
  const calls = new WeakMap<Request, { call: TusCall; refusal?: AppError }>();
  const entryOf = (req: Request) => {
    const entry = calls.get(req);
    if (!entry) throw new Error('tus hook called outside a Ferry tus request');
    return entry;
  };
  const locker = new LeaseLocker(leases);

  const server = new Server({
    path: TUS_PATH,
    datastore: tus.datastore,
    maxSize: config.uploads.tusMaxSizeBytes,
    generateUrl: (_req, { id }) => uploadUrl(config.publicUrl, id),
    allowedOrigins: config.uploads.corsOrigins,
    allowedHeaders: ['Upload-Checksum', 'X-Token', 'X-Upload-Token', 'X-Request-Id'],
    exposedHeaders: ['Upload-Expires', 'Tus-Checksum-Algorithm', 'X-Ferry-File-Id', 'X-Request-Id', 'Retry-After'],
    namingFunction: () => tus.newUploadId(),
    locker: (req) => (req.method === 'HEAD' ? noLocking : locker),
    // Ferry's route refuses to terminate an upload that became a file (409). The library's own
    // check (offset = length) would also keep finished partial uploads and uploads whose
    // completion was refused (e.g. 413 at the end) from ever being removed by their owner.
    disableTerminationForFinishedUploads: false,
    // Ferry's refusals are remembered for the route; the S3 data store's own requests failing
    // (the bucket's server down) answer 503, not 500.
    onResponseError: (req, error) => {
      let refusal = refusalOf(error);
      if (!refusal && toStoreError(error) instanceof StorageUnavailableError) {
        refusal = unavailable('storage_unavailable');
      }
      if (!refusal) return undefined;
      entryOf(req).refusal = refusal;
      return toTusError(refusal);
    },
    onUploadCreate: async (req, upload) => {
      try {
        return { metadata: await tus.onCreate(entryOf(req).call, upload) };
      } catch (error) {
        throw asTusError(error);
      }
    },
    onUploadFinish: async (req, upload) => {
      try {
        const file = await tus.onFinish(entryOf(req).call, upload);
        return file ? { headers: { 'X-Ferry-File-Id': file.id } } : {};
      } catch (error) {
        throw asTusError(error);
      }
    },
  });

  return {
    async handle(call, req, res) {
      const request = new NodeRequest({ req, res }) as unknown as Request;
      const entry: { call: TusCall; refusal?: AppError } = { call };
      calls.set(request, entry);
      const response = await withChecksum(call.checksum, () => server.handleWeb(request));
      if (response.status < 400) return { response };
      const text = (await response.text()).trim();
      return { response, refusal: entry.refusal ?? new AppError(codeForStatus(response.status), text || 'The upload request failed.').withStatus(response.status) };
    },
  };
}

/**
 * @tus/server's Locker over Ferry's leases: a second writer on the same upload gets 423 at once
 * instead of interleaving bytes, on this instance or any other. tus-js-client retries 423 by
 * itself. HEAD takes no lock: it only reads the offset.
 */
class LeaseLocker implements Locker {
  constructor(private readonly leases: UploadLeases) {}

  newLock(id: string): Lock {
    let lease: Lease | null = null;
    return {
      lock: async () => {
        lease = await this.leases.tryAcquire(`tus:${id}`);
        if (!lease) throw toTusError(locked());
      },
      unlock: async () => {
        await lease?.release();
        lease = null;
      },
    };
  }
}

const noLocking: Locker = {
  newLock: () => ({ lock: async () => undefined, unlock: async () => undefined }),
};
