import type { LookupAddress, LookupOptions } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { ForbiddenAddressError, guardedLookup } from './guarded-agent.ts';
import type { Resolver } from './webhook-url.ts';

// The lookup alone, with fake resolvers: nothing connects. test/webhooks/ drives the whole agent.

const STRICT = { allowPrivate: false };

function lookupWith(resolve: Resolver, options: LookupOptions, policy = STRICT) {
  return new Promise<{ error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }>((done) => {
    guardedLookup(policy, resolve)('hooks.example.com', options, (error, address, family) => done({ error, address, family }));
  });
}

const resolving = (...addresses: string[]): Resolver => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('guardedLookup', () => {
  it('drops forbidden addresses and answers the rest, as an array when Node asks for all', async () => {
    const resolve = resolving('10.0.0.1', '93.184.215.14', '::1', '2606:4700:4700::1111', '169.254.169.254');
    expect(await lookupWith(resolve, { all: true })).toEqual({
      error: null,
      address: [{ address: '93.184.215.14', family: 4 }, { address: '2606:4700:4700::1111', family: 6 }],
      family: undefined,
    });
    expect(await lookupWith(resolve, {})).toEqual({ error: null, address: '93.184.215.14', family: 4 });
    expect(await lookupWith(resolve, { family: 6 })).toEqual({ error: null, address: '2606:4700:4700::1111', family: 6 });
  });

  it('fails with a ForbiddenAddressError when nothing allowed is left', async () => {
    for (const options of [{ all: true }, {}] as LookupOptions[]) {
      const { error } = await lookupWith(resolving('127.0.0.1', '::ffff:10.0.0.1', 'fd00:ec2::254'), options);
      expect(error).toBeInstanceOf(ForbiddenAddressError);
      expect(error).toMatchObject({ code: 'ERR_FERRY_FORBIDDEN_ADDRESS', host: 'hooks.example.com' });
    }
    expect((await lookupWith(resolving(), { all: true })).error).toBeInstanceOf(ForbiddenAddressError);
  });

  it('resolves on every connection, so a name rebound to a private address is refused at send time', async () => {
    let calls = 0;
    const rebinding: Resolver = async () => (calls++ === 0 ? [{ address: '93.184.215.14', family: 4 }] : [{ address: '192.168.1.10', family: 4 }]);
    expect((await lookupWith(rebinding, { all: true })).error).toBeNull();
    expect((await lookupWith(rebinding, { all: true })).error).toBeInstanceOf(ForbiddenAddressError);
  });

  it('passes a resolution failure on as it came', async () => {
    const failing: Resolver = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND hooks.example.com'), { code: 'ENOTFOUND' });
    };
    expect((await lookupWith(failing, { all: true })).error).toMatchObject({ code: 'ENOTFOUND' });
  });

  it('the test setting lets loopback through, metadata still not', async () => {
    const testing = { allowPrivate: true };
    expect(await lookupWith(resolving('169.254.169.254', '127.0.0.1'), {}, testing)).toEqual({ error: null, address: '127.0.0.1', family: 4 });
    expect((await lookupWith(resolving('fd00:ec2::254'), {}, testing)).error).toBeInstanceOf(ForbiddenAddressError);
  });
});
