import type { LookupAddress, LookupOptions } from 'node:dns';
import { Agent, buildConnector } from 'undici';
import { allowedAddresses, isForbiddenAddress, parseIp, type AddressPolicy } from './address-policy.ts';
import { systemResolver, type Resolver } from './webhook-url.ts';

/**
 * The undici dispatcher every webhook delivery goes through. The name is resolved once, at
 * connect time, inside the socket's own `lookup`: forbidden addresses are dropped there and the
 * socket connects to one of the addresses that remain, so there is no window between checking an
 * address and using it (DNS rebinding cannot slip a private address in between). Node skips
 * `lookup` for IP-literal hosts, so the connector checks those itself before opening anything.
 *
 * Only ever pass this agent to undici's `request()` for webhooks; never make it the global
 * dispatcher or hand it to `fetch`, whose redirects and proxies follow other rules.
 */

/** Raised (as the connect error) when every address of the host is forbidden. */
export class ForbiddenAddressError extends Error {
  readonly code = 'ERR_FERRY_FORBIDDEN_ADDRESS';
  constructor(readonly host: string) {
    super(`${host} resolves only to addresses webhooks may not reach`);
    this.name = 'ForbiddenAddressError';
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `net.connect` lookup function that resolves every address and keeps only allowed ones. */
export type GuardedLookup = (hostname: string, options: LookupOptions, callback: LookupCallback) => void;

/**
 * Builds the lookup. It answers both shapes Node asks for: an array when `options.all` is set
 * (happy eyeballs, Node's default) and the first address otherwise.
 */
export function guardedLookup(policy: AddressPolicy, resolve: Resolver = systemResolver): GuardedLookup {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        const family = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
        const usable = allowedAddresses(addresses, policy).filter((entry) => family === 0 || entry.family === family);
        const first = usable[0];
        if (first === undefined) {
          callback(new ForbiddenAddressError(hostname), options.all ? [] : '');
          return;
        }
        if (options.all) callback(null, usable);
        else callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, options.all ? [] : ''),
    );
  };
}

export interface GuardedAgentOptions {
  policy: AddressPolicy;
  /** Replaces DNS (tests: names that resolve to private addresses, rebinding). */
  resolve?: Resolver;
  /** How long opening the TCP/TLS connection may take (the sender has its own total timeout). */
  connectTimeoutMs?: number;
}

/** An undici Agent that connects only to addresses the policy allows. */
export function createGuardedAgent({ policy, resolve = systemResolver, connectTimeoutMs = 10_000 }: GuardedAgentOptions): Agent {
  const connector = buildConnector({ lookup: guardedLookup(policy, resolve), timeout: connectTimeoutMs });
  return new Agent({
    // Idle sockets are closed soon: a receiver's address may change, and each new socket is checked.
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 10_000,
    connect(options, callback) {
      // undici passes IPv6 literals without brackets; parseIp accepts both.
      if (parseIp(options.hostname) !== null && isForbiddenAddress(options.hostname, policy)) {
        callback(new ForbiddenAddressError(options.hostname), null);
        return;
      }
      connector(options, callback);
    },
  });
}
