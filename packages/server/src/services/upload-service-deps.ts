import type { Config } from '../config.ts';
import type { Clock } from '../domain/clock.ts';
import type { UrlSigner } from '../domain/url-signer.ts';
import type { FilesRepository } from '../repositories/files-repository.ts';
import type { TransfersRepository } from '../repositories/transfers-repository.ts';
import type { BlobStoreRegistry } from '../storage/blob-store-registry.ts';
import type { FileService } from './file-service.ts';
import type { PartAssembly } from './part-assembly.ts';
import type { StorageReservation } from './storage-reservation.ts';
import type { TransferService } from './transfer-service.ts';
import type { UploadLeases } from './upload-leases.ts';
import type { DirectMultipart } from './direct-multipart.ts';
import type { UsersRepository } from '../repositories/users-repository.ts';

/** What every upload protocol's service may use; they differ in wire format, not in rules. */
export interface UploadServiceDeps {
  config: Config;
  clock: Clock;
  signer: UrlSigner;
  stores: BlobStoreRegistry;
  transfers: TransferService;
  files: FileService;
  filesRepo: FilesRepository;
  transfersRepo: TransfersRepository;
  parts: PartAssembly;
  reservation: StorageReservation;
  leases: UploadLeases;
  direct: DirectMultipart;
  /** Whether an account is active: credentials that name no account (signed part URLs) check their owner's. */
  owners: Pick<UsersRepository, 'isActive'>;
}
