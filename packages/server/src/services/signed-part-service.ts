import type { UploadServiceDeps } from './upload-service-deps.ts';

/** Signed part URLs (the WeTransfer flow). */
export class SignedPartService {
  constructor(private readonly deps: UploadServiceDeps) {}
}
