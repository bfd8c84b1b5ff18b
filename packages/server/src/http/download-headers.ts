import { create as attachmentDisposition } from 'content-disposition';
import { baseName } from '../domain/relative-path.ts';
import { DEFAULT_CONTENT_TYPE, normalizeContentType } from '../domain/file-name.ts';

/**
 * Response headers for serving a stored file (docs/security-checklist.md A5, A7, A15, G80–G82).
 *
 * Every file is served as an attachment, never sniffed, inside a sandboxing CSP, and with any
 * type a browser could execute or render as a document replaced by application/octet-stream.
 * Together these keep a hostile upload from running on our origin even when it is opened
 * directly; a separate download origin remains the stronger defence.
 */

export interface DownloadHeadersInput {
  name: string;
  contentType: string;
  /** Stored length; checked here, but Content-Length is the caller's (it differs for 200/206/416). */
  size: number;
  /** Lower-case hex SHA-256 of the content, or null while unknown (then no ETag is sent). */
  sha256: string | null;
  lastModified: Date;
}

// Types that a browser renders as a document, executes, or treats specially in a same-origin
// context (script-src/style-src 'self', MHTML, XSLT, appcache, legacy plugins).
const ACTIVE_TYPES = new Set([
  'text/html', 'text/xml', 'application/xml', 'text/xsl', 'text/vtt', 'text/cache-manifest',
  'text/css', 'application/wasm', 'text/x-component',
  'application/x-shockwave-flash', 'application/futuresplash',
]);
// Catches +xml suffixes (SVG, XHTML, XSLT, RDF...), xml-dtd/xml-external-parsed-entity, html
// and JavaScript variants (text/x-javascript, application/ecmascript, text/jscript, ...).
// `openxmlformats` (docx, xlsx) is intentionally not matched.
const ACTIVE_SUBTYPE = /(^xml|\+xml$|html|javascript|ecmascript|jscript|livescript)/;
const ACTIVE_TOP_LEVEL = new Set(['multipart', 'message']);

/** The Content-Type actually sent: the stored label unless it is active or malformed. */
export function servedContentType(contentType: string): string {
  const type = normalizeContentType(contentType);
  const slash = type.indexOf('/');
  const topLevel = type.slice(0, slash);
  const subtype = type.slice(slash + 1);
  if (ACTIVE_TYPES.has(type) || ACTIVE_TOP_LEVEL.has(topLevel) || ACTIVE_SUBTYPE.test(subtype)) {
    return DEFAULT_CONTENT_TYPE;
  }
  return type;
}

const LONE_SURROGATE = /\p{Cs}/gu;
const CONTROL_OR_BIDI = /[\p{Cc}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu;

// Names from the native API are already clean (normalizeFileName). This is defence in depth for
// rows written by other paths: encodeURIComponent throws on lone surrogates (a 500), and a bidi
// override would survive percent-encoding into the saved file name.
function headerSafeName(name: string): string {
  const cleaned = name.replace(LONE_SURROGATE, '\uFFFD').replace(CONTROL_OR_BIDI, '_').trim();
  return cleaned === '' ? 'download' : cleaned;
}

const SHA256_HEX = /^[0-9a-f]{64}$/i;

export function downloadHeaders(input: DownloadHeadersInput): Record<string, string> {
  if (!Number.isSafeInteger(input.size) || input.size < 0) {
    throw new RangeError(`invalid file size: ${input.size}`);
  }
  const headers: Record<string, string> = {
    // create() emits only printable ASCII: a quoted `filename` fallback with non-ASCII replaced by
    // `?`, plus `filename*=UTF-8''…` (RFC 6266/8187) percent-encoding everything else.
    'Content-Disposition': attachmentDisposition(headerSafeName(baseName(input.name))),
    'Content-Type': servedContentType(input.contentType),
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "default-src 'none'; sandbox",
    // `private`: never stored by shared caches (links may be password-protected or personal).
    // `no-cache`: a browser may keep a copy but must revalidate on every use, so expiry, deletion
    // and passwords apply each time; an If-None-Match naming the ETag is answered 304 without a
    // body and does not count as a download (send-download.ts). Last-Modified serves If-Range
    // only: If-Modified-Since is not evaluated. `no-store` would forbid keeping a copy at all.
    'Cache-Control': 'private, no-cache',
    'Accept-Ranges': 'bytes',
  };
  if (input.sha256 !== null && SHA256_HEX.test(input.sha256)) {
    headers.ETag = `"${input.sha256.toLowerCase()}"`;
  }
  if (!Number.isNaN(input.lastModified.getTime())) {
    headers['Last-Modified'] = input.lastModified.toUTCString();
  }
  return headers;
}

/** `Content-Range` of a 206 for the inclusive range start..end of a file of `size` bytes. */
export function contentRangeHeader(start: number, end: number, size: number): string {
  if (![start, end, size].every(Number.isSafeInteger) || start < 0 || end < start || end >= size) {
    throw new RangeError(`invalid range ${start}-${end} of ${size}`);
  }
  return `bytes ${start}-${end}/${size}`;
}

/** `Content-Range` of a 416 (RFC 9110 §14.4). */
export function unsatisfiedRangeHeader(size: number): string {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`invalid file size: ${size}`);
  return `bytes */${size}`;
}
