import type { UploadServiceDeps } from './upload-service-deps.ts';

/** One-request uploads (curl -T on /). */
export class SingleRequestUploadService {
  constructor(private readonly deps: UploadServiceDeps) {}
}
