import { validateHeaderName, validateHeaderValue } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  contentRangeHeader,
  downloadHeaders,
  servedContentType,
  unsatisfiedRangeHeader,
} from './download-headers.ts';

const SHA = '0123456789abcdef'.repeat(4);
const base = {
  name: 'report.pdf',
  contentType: 'application/pdf',
  size: 1234,
  sha256: SHA,
  lastModified: new Date('2024-03-05T10:20:30.789Z'),
};
const disposition = (name: string) => downloadHeaders({ ...base, name })['Content-Disposition'];

/** What Node's ServerResponse#setHeader would do: throws ERR_INVALID_CHAR on a raw CR/LF/non-Latin-1. */
function assertSendable(headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) {
    validateHeaderName(name);
    validateHeaderValue(name, value);
    expect(value).toMatch(/^[\x20-\x7e]*$/);
  }
}

describe('downloadHeaders', () => {
  it('returns exactly the documented header set', () => {
    expect(downloadHeaders(base)).toEqual({
      'Content-Disposition': 'attachment; filename=report.pdf',
      'Content-Type': 'application/pdf',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'none'; sandbox",
      'Cache-Control': 'private, no-cache',
      'Accept-Ranges': 'bytes',
      ETag: `"${SHA}"`,
      'Last-Modified': 'Tue, 05 Mar 2024 10:20:30 GMT',
    });
  });

  it.each([
    ['😀.txt', `attachment; filename="??.txt"; filename*=UTF-8''%F0%9F%98%80.txt`], // A7
    ['résumé.pdf', `attachment; filename="r?sum?.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`],
    ['a b.txt', 'attachment; filename="a b.txt"'],
    ['"quoted".txt', 'attachment; filename="\\"quoted\\".txt"'],
    ['<img src=x onerror=alert(1)>.png', 'attachment; filename="<img src=x onerror=alert(1)>.png"'],
    ['%41.txt', `attachment; filename=%41.txt; filename*=UTF-8''%2541.txt`],
    ['👩\u200D💻.txt', `attachment; filename="?????.txt"; filename*=UTF-8''%F0%9F%91%A9%E2%80%8D%F0%9F%92%BB.txt`],
  ])('A7/G82: Content-Disposition for %j', (name, expected) => {
    expect(disposition(name)).toBe(expected);
  });

  it('A5/G82: CR/LF never reaches the header raw (defence in depth; input validation refuses it)', () => {
    expect(disposition('a\r\nSet-Cookie: x=1')).toBe('attachment; filename="a__Set-Cookie: x=1"');
    expect(disposition('a\u0000b\u0085c')).toBe('attachment; filename=a_b_c');
  });

  it('G82: bidi controls are neutralised, not just percent-encoded', () => {
    expect(disposition('invoice\u202Egpj.exe')).toBe('attachment; filename=invoice_gpj.exe');
    expect(disposition('a\u2066b\u200Fc')).toBe('attachment; filename=a_b_c');
  });

  it('never throws on unpaired surrogates (encodeURIComponent would)', () => {
    expect(disposition('a\uD800b.txt')).toBe(`attachment; filename="a?b.txt"; filename*=UTF-8''a%EF%BF%BDb.txt`);
  });

  it('falls back to "download" for an empty name', () => {
    expect(disposition('')).toBe('attachment; filename=download');
    expect(disposition('\r\n')).toBe('attachment; filename=__');
  });

  it.each([
    '😀.txt',
    'résumé.pdf',
    'a\r\nSet-Cookie: x=1',
    'invoice\u202Egpj.exe',
    '\u0000\u007F\u009F',
    '日本語の資料／2024.pdf',
    'a\uDC00',
    '\\"; filename=evil.exe',
    '😀'.repeat(63) + 'abc',
  ])('A5/A7/G82: every header is sendable by Node for name %j', (name) => {
    assertSendable(downloadHeaders({ ...base, name }));
  });

  it('omits ETag while the digest is unknown or malformed, and lower-cases it', () => {
    expect(downloadHeaders({ ...base, sha256: null })).not.toHaveProperty('ETag');
    expect(downloadHeaders({ ...base, sha256: 'abc' })).not.toHaveProperty('ETag');
    expect(downloadHeaders({ ...base, sha256: `${SHA.slice(1)}"` })).not.toHaveProperty('ETag');
    expect(downloadHeaders({ ...base, sha256: SHA.toUpperCase() }).ETag).toBe(`"${SHA}"`);
  });

  it('omits Last-Modified for an invalid date', () => {
    expect(downloadHeaders({ ...base, lastModified: new Date(Number.NaN) })).not.toHaveProperty('Last-Modified');
  });

  it('does not set Content-Length (it differs between 200, 206 and 416)', () => {
    expect(downloadHeaders(base)).not.toHaveProperty('Content-Length');
  });

  it('rejects an invalid size as a programming error', () => {
    expect(() => downloadHeaders({ ...base, size: -1 })).toThrow(RangeError);
    expect(() => downloadHeaders({ ...base, size: 1.5 })).toThrow(RangeError);
  });

  it('G80: an HTML upload without extension is still an octet-stream attachment', () => {
    const headers = downloadHeaders({ ...base, name: 'index', contentType: 'text/html; charset=utf-8' });
    expect(headers['Content-Type']).toBe('application/octet-stream');
    expect(headers['Content-Disposition']).toBe('attachment; filename=index');
    expect(headers['X-Content-Type-Options']).toBe('nosniff');
    expect(headers['Content-Security-Policy']).toBe("default-src 'none'; sandbox");
  });

  it('A15: a client label of image/png on SVG content stays passive (nosniff, attachment, sandbox)', () => {
    const headers = downloadHeaders({ ...base, name: 'logo.svg', contentType: 'image/png' });
    expect(headers['Content-Type']).toBe('image/png');
    expect(headers['X-Content-Type-Options']).toBe('nosniff');
    expect(headers['Content-Disposition']).toBe('attachment; filename=logo.svg');
    expect(headers['Content-Security-Policy']).toBe("default-src 'none'; sandbox");
  });
});

describe('servedContentType', () => {
  it.each([
    'text/html', // G80
    'TEXT/HTML',
    'text/html; charset=utf-8',
    'application/xhtml+xml',
    'image/svg+xml',
    'text/xml',
    'application/xml',
    'application/rss+xml',
    'application/mathml+xml',
    'application/xml-dtd',
    'text/xsl',
    'application/xslt+xml',
    'text/vtt',
    'text/cache-manifest',
    'application/javascript',
    'text/javascript',
    'application/x-javascript',
    'application/ecmascript',
    'text/jscript',
    'text/x-server-parsed-html',
    'text/css',
    'application/wasm',
    'application/x-shockwave-flash',
    'multipart/form-data',
    'multipart/x-mixed-replace',
    'multipart/related',
    'message/rfc822',
    'text/plain\r\nX-Evil: 1',
    'not a type',
    'evil/html',
    '',
  ])('G80/A15: %j is served as application/octet-stream', (type) => {
    expect(servedContentType(type)).toBe('application/octet-stream');
  });

  it.each([
    ['image/png', 'image/png'],
    ['image/jpeg', 'image/jpeg'],
    ['application/pdf', 'application/pdf'],
    ['text/plain; charset=utf-8', 'text/plain'], // no charset is added or echoed
    ['text/csv', 'text/csv'],
    ['application/json', 'application/json'],
    ['application/zip', 'application/zip'],
    ['video/mp4', 'video/mp4'],
    ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
  ])('passive type %j is kept as %j', (type, expected) => {
    expect(servedContentType(type)).toBe(expected);
  });
});

describe('Content-Range helpers', () => {
  it('G81: formats 206 and 416 values', () => {
    expect(contentRangeHeader(0, 0, 100)).toBe('bytes 0-0/100');
    expect(contentRangeHeader(90, 99, 100)).toBe('bytes 90-99/100');
    expect(contentRangeHeader(2 ** 32, 5 * 2 ** 30 - 1, 5 * 2 ** 30)).toBe('bytes 4294967296-5368709119/5368709120');
    expect(unsatisfiedRangeHeader(100)).toBe('bytes */100');
    expect(unsatisfiedRangeHeader(0)).toBe('bytes */0');
  });

  it('refuses to format an impossible range', () => {
    expect(() => contentRangeHeader(5, 4, 100)).toThrow(RangeError);
    expect(() => contentRangeHeader(0, 100, 100)).toThrow(RangeError);
    expect(() => contentRangeHeader(-1, 0, 100)).toThrow(RangeError);
    expect(() => unsatisfiedRangeHeader(-1)).toThrow(RangeError);
  });
});
