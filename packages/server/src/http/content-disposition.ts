/**
 * `Content-Disposition: attachment` for a download name (RFC 6266). Written here rather than
 * taken from a package so that the header stays exactly what browsers were tested with, on every
 * Node version Ferry supports.
 *
 * A printable-ASCII name goes in `filename` (bare when it is a token, else quoted). Any other name
 * gets an ASCII stand-in (`?` for each non-ASCII character) in `filename` for old clients, and its
 * exact UTF-8 form in `filename*` (RFC 8187), which current browsers prefer. A name holding `%XX`
 * also gets `filename*`, so no browser percent-decodes `filename` into another name.
 */
export function attachmentDisposition(name: string): string {
  if (PRINTABLE_ASCII.test(name) && !PERCENT_ESCAPE.test(name)) return `attachment; filename=${parameterValue(name)}`;
  const fallback = name.replace(NON_PRINTABLE_ASCII, '?');
  return `attachment; filename=${parameterValue(fallback)}; filename*=${extendedValue(name)}`;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const NON_PRINTABLE_ASCII = /[^\x20-\x7e]/g;
const PERCENT_ESCAPE = /%[0-9A-Fa-f]{2}/;
// RFC 9110 token characters.
const TOKEN = /^[!#$%&'*+.0-9A-Z^_`a-z|~-]+$/;
// What encodeURIComponent leaves alone but RFC 8187 attr-char does not allow.
const NOT_ATTR_CHAR = /['()*]/g;

function parameterValue(ascii: string): string {
  return TOKEN.test(ascii) ? ascii : `"${ascii.replace(/[\\"]/g, '\\$&')}"`;
}

/** RFC 8187 ext-value; the caller has replaced lone surrogates, which encodeURIComponent refuses. */
function extendedValue(name: string): string {
  const encoded = encodeURIComponent(name).replace(NOT_ATTR_CHAR, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `UTF-8''${encoded}`;
}
