import { describe, expect, it } from 'vitest';
import { allowedAddresses, isForbiddenAddress } from './address-policy.ts';

// Pure classification: nothing here opens a connection.
const STRICT = { allowPrivate: false };
const TESTING = { allowPrivate: true };

describe('isForbiddenAddress', () => {
  it('refuses loopback, unspecified and the host in every spelling (IPv4, IPv6, IPv4-mapped, IPv4-compatible)', () => {
    for (const ip of ['127.0.0.1', '127.255.255.254', '0.0.0.0', '0.1.2.3', '::1', '::', '::ffff:127.0.0.1', '::ffff:7f00:1', '[::1]', '[::ffff:7f00:1]', '::127.0.0.1', '0:0:0:0:0:ffff:7f00:1', '::7f00:1']) {
      expect(isForbiddenAddress(ip, STRICT), ip).toBe(true);
    }
  });

  it('refuses private, CGNAT, link-local and unique-local ranges', () => {
    for (const ip of ['10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.255', '192.168.1.1', '100.64.0.1', '100.127.255.255', '169.254.0.1', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'febf::1', 'fe80::1%eth0', '::ffff:10.0.0.1', '::ffff:192.168.0.1', '::ffff:a9fe:a9fe']) {
      expect(isForbiddenAddress(ip, STRICT), ip).toBe(true);
    }
  });

  it('refuses cloud metadata addresses, even with private addresses allowed for tests', () => {
    for (const ip of ['169.254.169.254', '169.254.170.2', 'fd00:ec2::254', '[fd00:ec2::254]', '100.100.100.200', '192.0.0.192', '168.63.129.16', '::ffff:169.254.169.254']) {
      expect(isForbiddenAddress(ip, STRICT), ip).toBe(true);
      expect(isForbiddenAddress(ip, TESTING), ip).toBe(true);
    }
  });

  it('refuses multicast, broadcast, reserved, documentation and tunnel ranges that embed IPv4', () => {
    for (const ip of ['224.0.0.1', '239.255.255.250', '255.255.255.255', '240.0.0.1', '192.0.2.1', '198.18.0.1', '198.51.100.7', '203.0.113.9', 'ff02::1', 'ff05::2', '2001:db8::1', '64:ff9b::a00:1', '2002:7f00:1::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2', 'fec0::1', '100::1']) {
      expect(isForbiddenAddress(ip, STRICT), ip).toBe(true);
    }
  });

  it('allows public unicast addresses, IPv4 and IPv6', () => {
    for (const ip of ['93.184.215.14', '1.1.1.1', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '2a00:1450:4001:82b::200e', '::ffff:8.8.8.8']) {
      expect(isForbiddenAddress(ip, STRICT), ip).toBe(false);
    }
  });

  it('anything that is not an IP literal is refused', () => {
    for (const value of ['', 'localhost', 'example.com', '127.1', '0x7f000001', '2130706433', '1.2.3.4.5', '[::1']) {
      expect(isForbiddenAddress(value, STRICT), value).toBe(true);
    }
  });

  it('the default policy is the strict one', () => {
    expect(isForbiddenAddress('127.0.0.1')).toBe(true);
    expect(isForbiddenAddress('192.168.0.1')).toBe(true);
  });

  it('the test setting opens loopback, private and unique-local only', () => {
    for (const ip of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '10.1.2.3', '192.168.0.1', 'fd12::1']) expect(isForbiddenAddress(ip, TESTING), ip).toBe(false);
    for (const ip of ['0.0.0.0', '::', '169.254.1.1', 'fe80::1', '100.64.0.1', '224.0.0.1', '::7f00:1']) expect(isForbiddenAddress(ip, TESTING), ip).toBe(true);
  });
});

describe('allowedAddresses', () => {
  it('keeps only the allowed entries of a resolution, in order', () => {
    const resolved = [
      { address: '10.0.0.5', family: 4 },
      { address: '93.184.215.14', family: 4 },
      { address: '::1', family: 6 },
      { address: '2606:4700:4700::1111', family: 6 },
    ];
    expect(allowedAddresses(resolved, STRICT)).toEqual([resolved[1], resolved[3]]);
    expect(allowedAddresses(resolved.slice(0, 1), STRICT)).toEqual([]);
  });
});
