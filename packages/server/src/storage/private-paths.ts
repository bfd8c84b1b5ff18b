import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/**
 * Ferry's data (database, secret, blobs) is readable by the account it runs as and nobody else,
 * whatever the umask: folders Ferry creates are 0700 and files 0600. A folder that already exists
 * is left as the operator set it.
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates `dir` and its missing parents as private folders. */
export function makePrivateDirSync(dir: string): void {
  const first = fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  // mkdir's mode is reduced by the umask; chmod states it exactly.
  for (const created of createdChain(dir, first)) fs.chmodSync(created, PRIVATE_DIR_MODE);
}

export async function makePrivateDir(dir: string): Promise<void> {
  const first = await fsp.mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  for (const created of createdChain(dir, first)) await fsp.chmod(created, PRIVATE_DIR_MODE);
}

/** Creates an empty private file unless `file` exists (which is then left alone). */
export function createPrivateFileSync(file: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx', PRIVATE_FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw error;
  }
  try {
    fs.fchmodSync(fd, PRIVATE_FILE_MODE);
  } finally {
    fs.closeSync(fd);
  }
}

/** The folders a recursive mkdir of `dir` created, given the first one it reports. */
function createdChain(dir: string, first: string | undefined): string[] {
  if (first === undefined) return [];
  const chain: string[] = [];
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    chain.push(current);
    if (current === path.resolve(first) || current === path.dirname(current)) return chain;
  }
}
