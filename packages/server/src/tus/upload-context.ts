import { AsyncLocalStorage } from 'node:async_hooks';
import type { AppError } from '../errors.ts';
import type { Principal } from '../services/principal.ts';
import type { ExpectedChecksum } from '../services/digest-meter.ts';

/**
 * What one tus request carries into @tus/server's hooks and the data store, which only see a
 * web Request: the authenticated caller, the chunk's Upload-Checksum, and the Ferry error a hook
 * raised (so the route answers it in the error envelope rather than as tus plain text).
 */
export interface TusRequestContext {
  principal: Principal;
  kind: 'single' | 'partial';
  checksum?: ExpectedChecksum;
  error?: AppError;
  /** Set by onUploadFinish: the file the upload became. */
  fileId?: string;
  /**
   * Set by onUploadCreate: the upload a POST made, and the file it declared (a new filename). If
   * the POST then fails the client never learns the URL, so the route discards both.
   */
  created?: { uploadId: string; declaredFileId: string | null };
}

export const tusContext = new AsyncLocalStorage<TusRequestContext>();

export function currentTusContext(): TusRequestContext {
  const context = tusContext.getStore();
  if (!context) throw new Error('tus hook called outside a Ferry tus request');
  return context;
}
