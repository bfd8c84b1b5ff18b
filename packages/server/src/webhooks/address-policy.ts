import net from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Which IP addresses a webhook may reach. Ferry calls URLs its users choose, so every address it
 * connects to must be an ordinary public unicast address: never the host itself, the private
 * network it sits in, or a cloud metadata service (SSRF).
 *
 * The rule: an address is parsed with ipaddr.js (`process` turns IPv4-mapped IPv6 such as
 * `::ffff:127.0.0.1` into the IPv4 address it carries) and anything whose range is not `unicast`
 * is refused. That covers, for IPv4, unspecified 0/8, loopback 127/8, private 10/8, 172.16/12,
 * 192.168/16, link-local 169.254/16 (AWS/GCP/Azure metadata at 169.254.169.254), CGNAT 100.64/10
 * (Alibaba metadata at 100.100.100.200), multicast 224/4, broadcast, reserved 240/4 and the
 * special 192.0.0/24 (Oracle metadata at 192.0.0.192), the documentation nets, 198.18/15, AS112
 * and AMT; for IPv6, unspecified, loopback, link-local fe80::/10, unique-local fc00::/7 (AWS
 * metadata at fd00:ec2::254), site-local fec0::/10, multicast, discard, NAT64 64:ff9b::/96 and
 * the other ranges that embed an IPv4 address (6to4 2002::/16, Teredo 2001::/32, SIIT), and the
 * IANA special-purpose blocks. Tunnel ranges are refused as a whole rather than decoded: no real
 * webhook receiver lives behind one, and decoding them is where filters go wrong.
 *
 * Two blocks ipaddr.js calls unicast are refused on top: the deprecated IPv4-compatible ::/96
 * (`::127.0.0.1`) and Azure's public-looking wire server 168.63.129.16.
 */

export interface AddressPolicy {
  /**
   * Tests only: also allow loopback, private (RFC 1918) and unique-local addresses, so a test can
   * deliver to a receiver on 127.0.0.1. Metadata addresses, link-local, CGNAT and the rest stay
   * refused even then.
   */
  allowPrivate: boolean;
}

/** Ranges a test setting may open up (see `AddressPolicy.allowPrivate`). */
const PRIVATE_RANGES = new Set(['loopback', 'private', 'uniqueLocal']);

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Cloud metadata services: refused whatever the policy (most also sit in a refused range). */
const METADATA: Cidr[] = [
  ipaddr.parseCIDR('169.254.169.254/32'), // AWS, GCP, Azure, DigitalOcean, OpenStack
  ipaddr.parseCIDR('169.254.170.2/32'), // AWS ECS task metadata
  ipaddr.parseCIDR('100.100.100.200/32'), // Alibaba Cloud
  ipaddr.parseCIDR('192.0.0.192/32'), // Oracle Cloud
  ipaddr.parseCIDR('168.63.129.16/32'), // Azure wire server (a public address)
  ipaddr.parseCIDR('fd00:ec2::254/128'), // AWS over IPv6
];

/** Blocks ipaddr.js calls unicast that are not: IPv4-compatible IPv6 (::127.0.0.1), deprecated. */
const NOT_REALLY_UNICAST: Cidr[] = [ipaddr.parseCIDR('::/96')];

const inAny = (address: ipaddr.IPv4 | ipaddr.IPv6, blocks: Cidr[]) =>
  blocks.some(([base, bits]) => address.kind() === base.kind() && address.match(base, bits));

/** Parses an IP literal (brackets allowed) into its canonical form, or null if it is not one. */
export function parseIp(raw: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const bare = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
  // net.isIP accepts only the strict forms; ipaddr.js alone would also take "0x7f.1" and zone ids.
  if (net.isIP(bare) === 0) return null;
  try {
    return ipaddr.process(bare);
  } catch {
    return null;
  }
}

/** The ipaddr.js range name of an address, after IPv4-mapped IPv6 is unmapped. */
export function addressRange(ip: string): string | null {
  return parseIp(ip)?.range() ?? null;
}

/**
 * True when a webhook must not connect to `ip`. Anything that is not a valid IP literal is
 * forbidden too, so a caller can never pass a name through by mistake.
 */
export function isForbiddenAddress(ip: string, policy: AddressPolicy = { allowPrivate: false }): boolean {
  const address = parseIp(ip);
  if (address === null) return true;
  if (inAny(address, METADATA)) return true;
  const range = address.range();
  if (range === 'unicast') return inAny(address, NOT_REALLY_UNICAST);
  return !(policy.allowPrivate && PRIVATE_RANGES.has(range));
}

/** A resolved address as dns.lookup({ all: true }) reports it. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/** The addresses of a resolution a webhook may use, in the resolver's order. */
export function allowedAddresses(addresses: readonly ResolvedAddress[], policy: AddressPolicy): ResolvedAddress[] {
  return addresses.filter((entry) => !isForbiddenAddress(entry.address, policy));
}
