import fs from 'node:fs';
import { Reader, type Response } from 'maxmind';
import { bundledGeoipPath } from '../../src/analytics/client-traits.ts';
import type { Harness } from './harness.ts';
import { bearer } from './client.ts';
import { expectData } from './http.ts';

/** The country the bundled DB-IP database gives `ip`, read from the mmdb itself (not through Ferry). */
export function countryInDatabase(ip: string): string | null {
  const reader = new Reader<Response>(fs.readFileSync(bundledGeoipPath()));
  return (reader.get(ip) as { country_code?: string } | null)?.country_code ?? null;
}

/** GET an analytics route as `key`, once every settling download is written; `query` without "?". */
export async function analyticsOf(h: Harness, key: string, path: string, query = ''): Promise<any> {
  await h.app.services.receipts.idle();
  return expectData(await h.app.inject({ method: 'GET', url: `${path}${query ? `?${query}` : ''}`, headers: bearer(key) }));
}

/** A GET of a link path from `ip` through the trusted proxy (loopback), with a user agent. */
export const viaProxy = (h: Harness, url: string, ip: string, userAgent = 'curl/8.5.0', headers: Record<string, string> = {}) =>
  h.app.inject({ method: 'GET', url, headers: { 'x-forwarded-for': ip, 'user-agent': userAgent, ...headers } });
