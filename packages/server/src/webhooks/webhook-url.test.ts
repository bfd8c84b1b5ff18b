import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.ts';
import { loadConfig, webhookPolicy } from '../config.ts';
import { checkWebhookUrl, type Resolver, type WebhookPolicy } from './webhook-url.ts';

// Every check is asserted as a refusal only: nothing here connects anywhere. Names are resolved
// by fake resolvers, so the tests neither depend on nor query real DNS.

const PRODUCTION: WebhookPolicy = webhookPolicy(loadConfig({}));
const TESTING: WebhookPolicy = { allowHttp: true, allowPrivate: true };

const fakeDns = (table: Record<string, string[]>): Resolver => async (hostname) => {
  const addresses = table[hostname];
  if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};
const PUBLIC_DNS = fakeDns({ 'hooks.example.com': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'] });

async function refusal(url: string, policy: WebhookPolicy = PRODUCTION, resolve: Resolver = PUBLIC_DNS): Promise<{ status: number; code: string; message: string; reason?: string }> {
  try {
    await checkWebhookUrl(url, policy, resolve);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    const { status, code, message, details } = error as AppError;
    return { status, code, message, reason: (details as { reason?: string } | undefined)?.reason };
  }
  throw new Error(`${url} was accepted`);
}

describe('checkWebhookUrl', () => {
  it('accepts a public https URL and returns it normalised (fragment dropped)', async () => {
    expect(await checkWebhookUrl('HTTPS://Hooks.Example.com:443/in?x=1#frag', PRODUCTION, PUBLIC_DNS)).toBe('https://hooks.example.com/in?x=1');
    expect(await checkWebhookUrl('https://93.184.215.14/in', PRODUCTION, PUBLIC_DNS)).toBe('https://93.184.215.14/in');
  });

  it('the default settings refuse http://127.0.0.1 (loopback only by an explicit test setting)', async () => {
    expect(PRODUCTION).toEqual({ allowHttp: false, allowPrivate: false, allowedPorts: [80, 443] });
    expect(await refusal('http://127.0.0.1/')).toMatchObject({ status: 400, code: 'webhook_url_forbidden', reason: 'http' });
    expect(await refusal('https://127.0.0.1/')).toMatchObject({ status: 400, code: 'webhook_url_forbidden', reason: 'address' });
    expect(await refusal('http://127.0.0.1/', { ...PRODUCTION, allowHttp: true })).toMatchObject({ reason: 'address' });
    expect(await checkWebhookUrl('http://127.0.0.1:8080/hook', { ...TESTING, allowedPorts: 'any' })).toBe('http://127.0.0.1:8080/hook');
  });

  it('refuses loopback in every form: 127.0.0.1:PORT, localhost, localhost., [::1], 0.0.0.0', async () => {
    const policy = { ...PRODUCTION, allowedPorts: 'any' as const };
    for (const url of ['https://127.0.0.1:8443/', 'https://[::1]/', 'https://0.0.0.0/', 'https://0/', 'https://[::]/', 'https://127.9.9.9/']) {
      expect(await refusal(url, policy), url).toMatchObject({ code: 'webhook_url_forbidden', reason: 'address' });
    }
    for (const url of ['https://localhost/', 'https://localhost./', 'https://LOCALHOST/', 'https://api.localhost/']) {
      expect(await refusal(url, policy), url).toMatchObject({ code: 'webhook_url_forbidden', reason: 'host' });
    }
  });

  it('refuses cloud metadata: 169.254.169.254, metadata.google.internal, [fd00:ec2::254], even with the test setting', async () => {
    for (const policy of [PRODUCTION, TESTING]) {
      expect(await refusal('https://169.254.169.254/latest/meta-data/', policy)).toMatchObject({ reason: 'address' });
      expect(await refusal('https://[fd00:ec2::254]/', policy)).toMatchObject({ reason: 'address' });
      expect(await refusal('https://[::ffff:169.254.169.254]/', policy)).toMatchObject({ reason: 'address' });
      for (const url of ['https://metadata.google.internal/computeMetadata/v1/', 'https://metadata.google.internal./', 'https://METADATA.google.internal/']) {
        expect(await refusal(url, policy), url).toMatchObject({ code: 'webhook_url_forbidden', reason: 'host' });
      }
    }
  });

  it('refuses every non-unicast range, IPv4, IPv6 and IPv4-mapped IPv6', async () => {
    for (const host of ['10.0.0.1', '172.16.0.1', '172.31.255.254', '192.168.0.10', '100.64.0.1', '100.127.255.254', '169.254.1.1', '224.0.0.1', '255.255.255.255', '[fc00::1]', '[fd12:3456::1]', '[fe80::1]', '[ff02::1]', '[::ffff:127.0.0.1]', '[::ffff:10.0.0.1]', '[::ffff:192.168.1.1]', '[64:ff9b::a9fe:a9fe]', '[2002:7f00:1::]']) {
      const url = `https://${host}/hook`;
      expect(await refusal(url), url).toMatchObject({ status: 400, code: 'webhook_url_forbidden', reason: 'address' });
    }
    // WHATWG keeps [::ffff:127.0.0.1] as [::ffff:7f00:1]; it is still judged as 127.0.0.1.
    expect((await refusal('https://[::ffff:127.0.0.1]/')).message).toContain('::ffff:7f00:1');
  });

  it('judges the numeric host forms as the 127.0.0.1 the URL parser makes of them', async () => {
    for (const host of ['2130706433', '0x7f000001', '0177.0.0.1', '127.1', '①②⑦.0.0.1', '0x7f.0.0.1', '017700000001']) {
      const url = `https://${host}/`;
      const result = await refusal(url);
      expect(result, url).toMatchObject({ status: 400, code: 'webhook_url_forbidden', reason: 'address' });
      expect(result.message, url).toContain('127.0.0.1');
    }
  });

  it('refuses a name when any of its addresses is forbidden (all of them are checked)', async () => {
    const dns = fakeDns({
      'internal.example.com': ['10.1.2.3'],
      'mixed.example.com': ['93.184.215.14', '192.168.0.7'],
      'v6only.example.com': ['fd00::5'],
      'mapped.example.com': ['::ffff:127.0.0.1'],
      '127.0.0.1.nip.io': ['127.0.0.1'],
      'rebind.example.com': ['169.254.169.254'],
    });
    for (const host of ['internal.example.com', 'mixed.example.com', 'v6only.example.com', 'mapped.example.com', '127.0.0.1.nip.io', 'rebind.example.com']) {
      const result = await refusal(`https://${host}/`, PRODUCTION, dns);
      expect(result, host).toMatchObject({ status: 400, code: 'webhook_url_forbidden', reason: 'address' });
      expect(result.message, host).toContain(host);
    }
  });

  it('refuses a name that does not resolve, saying so', async () => {
    const result = await refusal('https://nowhere.invalid/', PRODUCTION, fakeDns({}));
    expect(result).toMatchObject({ status: 400, code: 'webhook_url_forbidden', reason: 'address' });
    expect(result.message).toContain('does not resolve');
    expect(await refusal('https://empty.example/', PRODUCTION, async () => [])).toMatchObject({ reason: 'address' });
  });

  it('refuses other schemes, credentials, other ports and long URLs', async () => {
    for (const url of ['file:///etc/passwd', 'gopher://hooks.example.com/', 'ftp://hooks.example.com/', 'data:text/plain,hi', 'javascript:alert(1)', 'ws://hooks.example.com/']) {
      expect(await refusal(url, TESTING), url).toMatchObject({ status: 400, code: 'webhook_url_forbidden', reason: 'scheme' });
    }
    expect(await refusal('http://hooks.example.com/')).toMatchObject({ reason: 'http' });
    for (const url of ['https://user:pass@hooks.example.com/', 'https://user@hooks.example.com/', 'https://:pass@hooks.example.com/']) {
      expect(await refusal(url), url).toMatchObject({ reason: 'credentials' });
    }
    for (const url of ['https://hooks.example.com:8443/', 'https://hooks.example.com:22/', 'https://hooks.example.com:6379/']) {
      expect(await refusal(url), url).toMatchObject({ reason: 'port' });
    }
    expect(await checkWebhookUrl('https://hooks.example.com:80/', PRODUCTION, PUBLIC_DNS)).toBe('https://hooks.example.com:80/');
    expect(await checkWebhookUrl('https://hooks.example.com:8443/', { ...PRODUCTION, allowedPorts: [8443] }, PUBLIC_DNS)).toBe('https://hooks.example.com:8443/');
    expect(await refusal('https://hooks.example.com/', { ...PRODUCTION, allowedPorts: [8443] })).toMatchObject({ reason: 'port' });
    expect(await checkWebhookUrl('https://hooks.example.com:9999/', { ...PRODUCTION, allowedPorts: 'any' }, PUBLIC_DNS)).toBe('https://hooks.example.com:9999/');
    const long = `https://hooks.example.com/${'a'.repeat(2000)}`;
    expect(await refusal(long)).toMatchObject({ status: 400, code: 'webhook_url_forbidden', reason: 'length' });
    const fits = `https://hooks.example.com/${'a'.repeat(2000 - 'https://hooks.example.com/'.length)}`;
    expect(await checkWebhookUrl(fits, PRODUCTION, PUBLIC_DNS)).toBe(fits);
  });

  it('something that is not a URL is validation_failed', async () => {
    for (const url of ['', '   ', 'hooks.example.com/in', '/relative', 'https://', 'https://exa mple.com/', 'http://[::1/']) {
      expect(await refusal(url), JSON.stringify(url)).toMatchObject({ status: 400, code: 'validation_failed' });
    }
  });
});

describe('webhook settings', () => {
  it('read FERRY_WEBHOOK_ALLOW_HTTP, FERRY_WEBHOOK_ALLOW_PRIVATE and FERRY_WEBHOOK_PORTS', () => {
    expect(webhookPolicy(loadConfig({ FERRY_WEBHOOK_ALLOW_HTTP: 'true', FERRY_WEBHOOK_ALLOW_PRIVATE: '1', FERRY_WEBHOOK_PORTS: '443, 8443' })))
      .toEqual({ allowHttp: true, allowPrivate: true, allowedPorts: [443, 8443] });
    expect(webhookPolicy(loadConfig({ FERRY_WEBHOOK_PORTS: 'any' })).allowedPorts).toBe('any');
    expect(() => loadConfig({ FERRY_WEBHOOK_PORTS: '443,99999' })).toThrow(/FERRY_WEBHOOK_PORTS/);
    expect(() => loadConfig({ FERRY_WEBHOOK_ALLOW_PRIVATE: 'sure' })).toThrow(/FERRY_WEBHOOK_ALLOW_PRIVATE/);
  });
});
