import { lookup } from 'node:dns/promises';
import { fail } from '../errors.ts';
import { isForbiddenAddress, parseIp, type AddressPolicy, type ResolvedAddress } from './address-policy.ts';

/**
 * Checks a webhook URL before Ferry stores it or calls it. The URL is parsed the WHATWG way (as
 * every HTTP client does), so the numeric host forms `2130706433`, `0x7f000001`, `0177.0.0.1`,
 * `127.1` and `①②⑦.0.0.1` are all judged as the `127.0.0.1` they become, and `[::ffff:127.0.0.1]`
 * as the IPv4 address it maps. A name is resolved and refused when ANY of its addresses is
 * forbidden; delivery resolves again and connects only to checked addresses (guarded-agent.ts),
 * so a name that changes its answers afterwards (DNS rebinding) gains nothing.
 */

export interface WebhookPolicy extends AddressPolicy {
  /** Allow http:// URLs (FERRY_WEBHOOK_ALLOW_HTTP); https only otherwise. */
  allowHttp: boolean;
  /** Ports a webhook URL may name (FERRY_WEBHOOK_PORTS); 80 and 443 unless configured. */
  allowedPorts?: readonly number[] | 'any';
}

/** Resolves a name to all its addresses, as dns.lookup(name, { all: true }) does. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

export const MAX_WEBHOOK_URL_LENGTH = 2000;
const DEFAULT_PORTS: readonly number[] = [80, 443];

/**
 * Names that reach the host itself or a metadata service whatever DNS says. `*.localhost` is
 * loopback by RFC 6761 and many resolvers answer it without asking DNS.
 */
function reservedName(name: string): 'loopback' | 'metadata' | null {
  if (name === 'localhost' || name.endsWith('.localhost')) return 'loopback';
  if (name === 'metadata.google.internal' || name === 'metadata') return 'metadata';
  return null;
}

/** A URL that passed every check that needs no DNS. */
export interface ParsedWebhookUrl {
  url: URL;
  /** The host without brackets and without a trailing dot, lower case. */
  host: string;
  /** True when the host is an IP literal (then no resolution is needed or done). */
  isIpLiteral: boolean;
}

/** Why a URL was refused, in `details.reason` of the error (stable, for clients and tests). */
export type ForbiddenReason = 'length' | 'scheme' | 'http' | 'credentials' | 'port' | 'address' | 'host';

const forbidden = (reason: ForbiddenReason, why: string) =>
  fail.webhook_url_forbidden(`The webhook URL ${why}.`, { details: { reason } });

/**
 * Every check but resolution, synchronous: the scheme, credentials, port, length, IP literals
 * and reserved names. Delivery runs it again in case the settings changed since registration.
 * Throws `validation_failed` for something that is not a URL, `webhook_url_forbidden` otherwise.
 */
export function checkWebhookUrlSyntax(raw: string, policy: WebhookPolicy): ParsedWebhookUrl {
  if (typeof raw !== 'string' || raw.trim() === '') throw fail.validation_failed('The webhook URL is empty.');
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) throw forbidden('length', `is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw fail.validation_failed('The webhook URL is not a valid absolute URL.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw forbidden('scheme', `must use ${policy.allowHttp ? 'http or https' : 'https'} (${url.protocol} is not allowed)`);
  }
  if (url.protocol === 'http:' && !policy.allowHttp) throw forbidden('http', 'must use https (http is not allowed on this server)');
  if (url.username !== '' || url.password !== '') throw forbidden('credentials', 'must not contain a user name or password');
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  const ports = policy.allowedPorts ?? DEFAULT_PORTS;
  if (ports !== 'any' && !ports.includes(port)) throw forbidden('port', `must use port ${ports.join(' or ')} (got ${port})`);
  url.hash = '';
  if (url.href.length > MAX_WEBHOOK_URL_LENGTH) throw forbidden('length', `is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`);

  const bare = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const host = bare.replace(/\.$/, '').toLowerCase();
  if (host === '') throw fail.validation_failed('The webhook URL has no host.');
  if (parseIp(bare) !== null) {
    if (isForbiddenAddress(bare, policy)) throw forbidden('address', `points to a forbidden address (${bare}: loopback, private, link-local, metadata or another non-public range)`);
    return { url, host: bare, isIpLiteral: true };
  }
  const reserved = reservedName(host);
  if (reserved === 'metadata' || (reserved === 'loopback' && !policy.allowPrivate)) {
    throw forbidden('host', `points to a forbidden host (${host})`);
  }
  return { url, host, isIpLiteral: false };
}

/**
 * The full check at registration: syntax, then the name's resolution, every address of which must
 * be allowed. Returns the normalised URL (WHATWG serialisation, fragment dropped). A name that
 * does not resolve is refused too (`webhook_url_forbidden`, "does not resolve"): nothing could be
 * delivered to it.
 */
export async function checkWebhookUrl(raw: string, policy: WebhookPolicy, resolve: Resolver = systemResolver): Promise<string> {
  const parsed = checkWebhookUrlSyntax(raw, policy);
  if (parsed.isIpLiteral) return parsed.url.href;
  let addresses: ResolvedAddress[];
  try {
    addresses = await resolve(parsed.host);
  } catch {
    throw notPublic(parsed.host);
  }
  // One answer whether the name does not resolve or resolves to a forbidden address, and never
  // the address: the check must not tell a caller what internal names exist or where they point.
  if (addresses.length === 0 || addresses.some((entry) => isForbiddenAddress(entry.address, policy))) throw notPublic(parsed.host);
  return parsed.url.href;
}

const notPublic = (host: string) =>
  forbidden('address', `points to ${host}, which does not resolve to public addresses only (loopback, private, link-local, metadata and other non-public ranges are refused)`);
