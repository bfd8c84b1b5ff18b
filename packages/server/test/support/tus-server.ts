import fsp from 'node:fs/promises';
import { startHarness, type Harness } from './harness.ts';
import { createAccount, type Account } from './accounts.ts';
import { downloadSha256, makeTempDir } from './e2e.ts';

/** A listening Ferry for the tus end-to-end files: one owner account and a temp folder for source files. */
export interface TusServer {
  h: Harness;
  base: string;
  dir: string;
  owner: Account;
  auth: Record<string, string>;
  /** SHA-256 and length of a file's download, streamed. */
  download(fileId: string): ReturnType<typeof downloadSha256>;
  close(): Promise<void>;
}

export async function startTusServer(env: Record<string, string> = {}): Promise<TusServer> {
  const h = await startHarness({ FERRY_MAX_TRANSFER_SIZE: String(2 * 1024 ** 3), ...env });
  const base = await h.listen();
  const dir = await makeTempDir('tus');
  const owner = await createAccount(base, 'tus-owner@example.com');
  const auth = { authorization: `Bearer ${owner.key}` };
  return {
    h,
    base,
    dir,
    owner,
    auth,
    download: (fileId) => downloadSha256(`${base}/api/v1/files/${fileId}/download`, auth),
    close: async () => {
      await h.close();
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}
