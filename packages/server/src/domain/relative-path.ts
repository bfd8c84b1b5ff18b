import { normalizeFileName, type FileNameResult } from './file-name.ts';

const MAX_DEPTH = 32;
const MAX_PATH_BYTES = 1024;

/**
 * A file's place in a folder tree, as a browser reports it (tus `relativePath`,
 * webkitRelativePath): `folder` is `photos/2024` or `photos/2024/a.jpg` (Uppy includes the file's
 * own name). Each folder is checked by the same rules as a file name, so traversal (`..`),
 * absolute paths and drive letters are refused (docs/security-checklist.md A1-A3); the result joins the folders
 * and the name with `/`. The file name itself still may not contain a separator.
 */
export function normalizeRelativePath(folder: string, name: string): FileNameResult {
  const file = normalizeFileName(name);
  if (!file.ok) return file;
  if (/^[/\\]/.test(folder) || /^[A-Za-z]:/.test(folder)) return { ok: false, reason: 'relativePath must be relative (no leading / or drive letter)' };
  const segments = folder.split(/[/\\]/).filter((s) => s !== '');
  if (segments.at(-1)?.normalize('NFC').trim() === file.name) segments.pop();
  if (segments.length > MAX_DEPTH) return { ok: false, reason: `relativePath may have at most ${MAX_DEPTH} folders` };
  const folders: string[] = [];
  for (const segment of segments) {
    const checked = normalizeFileName(segment);
    if (!checked.ok) return { ok: false, reason: `relativePath: ${checked.reason.replace(/^file name/, 'a folder name')}` };
    folders.push(checked.name);
  }
  const full = [...folders, file.name].join('/');
  if (Buffer.byteLength(full, 'utf8') > MAX_PATH_BYTES) return { ok: false, reason: `relativePath and name must be at most ${MAX_PATH_BYTES} bytes` };
  return { ok: true, name: full };
}

/** The last segment: what a download is called (folders live only in the ZIP and the listing). */
export const baseName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);
