import fsp from 'node:fs/promises';
import path from 'node:path';
import yauzl from 'yauzl';
import { filesUnder, run } from './e2e.ts';
import { sha256File } from './hashing.ts';

/**
 * Reading the ZIPs Ferry serves, as recipients do: in memory with yauzl (strict about names,
 * sizes and CRC-32), or extracted to disk by the unzip CLI and Python's zipfile.
 */

export interface ZipEntry {
  name: string;
  content: Buffer;
}

/**
 * Reads a whole ZIP with yauzl, which refuses absolute names, `..` components and backslashes
 * (zip-slip) and checks every entry's size and CRC-32.
 */
export function readZip(buffer: Buffer): Promise<ZipEntry[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true, validateEntrySizes: true, strictFileNames: true }, (error, zip) => {
      if (error || !zip) return reject(error ?? new Error('no zip'));
      const entries: ZipEntry[] = [];
      zip.on('error', reject);
      zip.on('end', () => resolve(entries));
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (err, stream) => {
          if (err || !stream) return reject(err ?? new Error('no stream'));
          const parts: Buffer[] = [];
          stream.on('data', (c: Buffer) => parts.push(c));
          stream.on('error', reject);
          stream.on('end', () => {
            entries.push({ name: entry.fileName, content: Buffer.concat(parts) });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

/** Extracts `zipFile` with the system unzip into a fresh folder; answers path -> SHA-256 (see treeHashes). */
export async function unzipHashes(zipFile: string, into: string): Promise<Record<string, string>> {
  await fsp.mkdir(into, { recursive: true });
  await run('unzip', ['-q', '-o', zipFile, '-d', into]);
  return treeHashes(into);
}

/** Extracts `zipFile` with Python's zipfile.extractall into a fresh folder; answers path -> SHA-256. */
export async function pythonUnzipHashes(zipFile: string, into: string): Promise<Record<string, string>> {
  await fsp.mkdir(into, { recursive: true });
  await run('python3', ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', zipFile, into]);
  return treeHashes(into);
}

/** Every file under `root`, by its path relative to `root` with `/` between folders, sorted. */
async function treeHashes(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of await filesUnder(root)) out[name] = await sha256File(path.join(root, name));
  return out;
}
