import { describe, expect, it } from 'vitest';
import { bundledGeoipPath, ClientClassifier, userAgentFamily } from './client-traits.ts';

describe('client traits', () => {
  const geo = new ClientClassifier(bundledGeoipPath());

  it('countries from the bundled database; none for private, loopback, reserved or malformed addresses', () => {
    expect(geo.country('8.8.8.8')).toBe('US');
    // Dual-stack sockets report IPv4 clients as IPv4-mapped IPv6.
    expect(geo.country('::ffff:81.2.69.160')).toBe('GB');
    for (const ip of ['127.0.0.1', '10.1.2.3', '192.168.0.1', '::1', 'fe80::1', '203.0.113.9', 'not-an-ip', '']) expect(geo.country(ip)).toBeNull();
    expect(new ClientClassifier(null).country('8.8.8.8')).toBeNull();
    expect(new ClientClassifier('/nowhere.mmdb').country('8.8.8.8')).toBeNull();
  });

  it('user-agent families: browsers by name, other clients by their first product token', () => {
    expect(userAgentFamily('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0')).toBe('Edge');
    expect(userAgentFamily('Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15')).toBe('Safari');
    expect(userAgentFamily('curl/8.5.0')).toBe('curl');
    expect(userAgentFamily('python-requests/2.31.0')).toBe('python-requests');
    expect(userAgentFamily('Go-http-client/1.1')).toBe('Go-http-client');
    expect(userAgentFamily(`${'x'.repeat(100)}/1`)).toHaveLength(40);
    expect(userAgentFamily(undefined)).toBeNull();
    expect(userAgentFamily('   ')).toBeNull();
    expect(userAgentFamily('(((')).toBeNull();
  });
});
