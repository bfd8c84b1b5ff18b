import { emailAddressProblem } from './email-address.ts';

/** The sender of every email Ferry writes (FERRY_MAIL_FROM), kept apart so nodemailer encodes the name. */
export interface MailFrom {
  name: string | null;
  address: string;
}

const MAX_NAME_CHARS = 100;

/**
 * Reads `Name <address>`, `"Name" <address>` or a bare address. The name is one line of plain
 * text (no controls, quotes, `<>` or backslashes) of at most 100 characters; the address passes
 * the same check as every other address. Answers the problem as a sentence when it is not one.
 */
export function parseMailFrom(raw: string): MailFrom | { problem: string } {
  const value = raw.trim();
  if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(value)) return { problem: 'it may not hold control characters or line breaks' };
  const named = /^(.*?)\s*<([^<>]*)>$/su.exec(value);
  const address = (named ? named[2]! : value).trim();
  const addressProblem = emailAddressProblem(address);
  if (addressProblem !== null) return { problem: `its address is not valid: ${addressProblem}` };
  if (!named) return { name: null, address: address.toLowerCase() };
  let name = named[1]!.trim();
  if (name.length >= 2 && name.startsWith('"') && name.endsWith('"')) name = name.slice(1, -1).trim();
  if (/["<>\\]/.test(name)) return { problem: 'its name may not hold quotes, <> or backslashes' };
  if ([...name].length > MAX_NAME_CHARS) return { problem: `its name is longer than ${MAX_NAME_CHARS} characters` };
  return { name: name === '' ? null : name, address: address.toLowerCase() };
}

/**
 * The sender when FERRY_MAIL_FROM is unset: `Ferry <ferry@host>` with the public URL's host name.
 * An IP address or a bracketed IPv6 host makes no address, so those fall back to `localhost`;
 * an operator sending through a real SMTP server sets FERRY_MAIL_FROM (or a real public URL).
 */
export function defaultMailFrom(publicUrl: string): MailFrom {
  let host = 'localhost';
  try {
    const hostname = new URL(publicUrl).hostname;
    if (hostname !== '' && !hostname.startsWith('[') && !/^[\d.]+$/.test(hostname)) host = hostname;
  } catch {
    // The public URL is reported by its own check.
  }
  return { name: 'Ferry', address: `ferry@${host.toLowerCase()}` };
}
