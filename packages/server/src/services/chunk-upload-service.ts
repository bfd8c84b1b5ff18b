import type { UploadServiceDeps } from './upload-service-deps.ts';

/** Idempotent chunk POSTs (the Trinsfer flow). */
export class ChunkUploadService {
  constructor(private readonly deps: UploadServiceDeps) {}
}
