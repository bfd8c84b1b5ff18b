import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MailError, type OutgoingEmail } from '../../src/mail/mailer.ts';
import { SmtpMailer, smtpTransportOptions } from '../../src/mail/smtp-mailer.ts';
import { transferReadyForRecipient } from '../../src/mail/templates/index.ts';
import { linksIn, startSmtpServer, type TestSmtpServer } from '../support/smtp.ts';

const from = { name: 'Ferry', address: 'ferry@files.example.com' };
const email = (overrides: Partial<OutgoingEmail> = {}): OutgoingEmail => ({
  to: 'ann@example.com',
  subject: 'Holiday photos are ready',
  text: 'Hello Ann,\nyour files: https://files.example.com/d/abc\n',
  html: '<p>Hello Ann, <a href="https://files.example.com/d/abc">your files</a></p>',
  ...overrides,
});

let servers: TestSmtpServer[] = [];
let mailers: SmtpMailer[] = [];
const start = async (options?: Parameters<typeof startSmtpServer>[0]) => {
  const server = await startSmtpServer(options);
  servers.push(server);
  return server;
};
const mailerFor = (url: string, timeouts?: ConstructorParameters<typeof SmtpMailer>[0]['timeouts']) => {
  const mailer = new SmtpMailer({ url, from, ...(timeouts ? { timeouts } : {}) });
  mailers.push(mailer);
  return mailer;
};
const failureOf = async (promise: Promise<unknown>): Promise<MailError> => {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(MailError);
  return error as MailError;
};

afterEach(async () => {
  await Promise.all(mailers.map((m) => m.close()));
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  mailers = [];
});

describe('SmtpMailer against a real SMTP server', () => {
  it('delivers From, To, subject, text and HTML, and answers the Message-ID', async () => {
    const server = await start();
    const sent = await mailerFor(server.url).send(email({ replyTo: 'bob@example.com', headers: { 'X-Ferry-Transfer': 'tr_123' } }));
    const got = await server.waitFor();
    expect(got.envelope).toEqual({ from: 'ferry@files.example.com', to: ['ann@example.com'] });
    expect(got.parsed.from?.value).toEqual([{ name: 'Ferry', address: 'ferry@files.example.com' }]);
    expect(got.to).toBe('ann@example.com');
    expect(got.subject).toBe('Holiday photos are ready');
    expect(got.text).toContain('https://files.example.com/d/abc');
    expect(got.html).toContain('<a href="https://files.example.com/d/abc">');
    expect(got.parsed.replyTo?.value[0]?.address).toBe('bob@example.com');
    expect(got.parsed.headers.get('x-ferry-transfer')).toBe('tr_123');
    expect(got.parsed.messageId).toBe(sent.messageId);
  });

  it('a rendered email arrives intact, hostile title and all, with the link to follow', async () => {
    const server = await start();
    const rendered = transferReadyForRecipient({
      sender: { name: 'Zoë <Admin>', email: 'zoe@example.com' },
      title: 'Plans “2030” <script>alert(1)</script>\r\nBcc: victim@example.com',
      message: 'Bonjour,\nvoilà les fichiers.',
      files: [{ name: 'plan.pdf', size: 2048 }],
      totalSize: 2048,
      expiresAt: null,
      link: 'https://files.example.com/d/tok123',
      hasPassword: false,
    });
    await mailerFor(server.url).send({ to: 'bob@example.com', ...rendered });
    const got = await server.waitFor((m) => m.to === 'bob@example.com');
    expect(got.subject).toBe(rendered.subject);
    expect(got.parsed.headers.has('bcc')).toBe(false);
    expect(got.envelope.to).toEqual(['bob@example.com']);
    expect(got.text.trim()).toBe(rendered.text.trim());
    expect(got.html).not.toContain('<script>');
    expect(linksIn(got)).toEqual(['https://files.example.com/d/tok123']);
  });

  it('signs in with the credentials of the URL', async () => {
    const server = await start({ auth: { user: 'ferry', pass: 'p@ss w:rd' } });
    expect(server.url).toContain('ferry:p%40ss%20w%3Ard@');
    await mailerFor(server.url).send(email());
    expect(server.logins).toEqual([{ username: 'ferry', password: 'p@ss w:rd' }]);
    expect(server.messages).toHaveLength(1);
  });

  it('treats refused credentials as temporary (an operator fix, not a bounce), without echoing the URL', async () => {
    const server = await start({ auth: { user: 'ferry', pass: 'right' } });
    const url = `smtp://ferry:wrong-secret@127.0.0.1:${server.port}`;
    const error = await failureOf(mailerFor(url).send(email()));
    expect(error.permanent).toBe(false);
    expect(error.responseCode).toBe(535);
    expect(error.message).not.toContain('wrong-secret');
    expect(server.messages).toHaveLength(0);
  });

  it('requires STARTTLS before sending credentials to a server off this machine', async () => {
    expect(smtpTransportOptions('smtp://u:p@mail.example.com:587').requireTLS).toBe(true);
    expect(smtpTransportOptions('smtp://mail.example.com:25').requireTLS).toBe(false);
    expect(smtpTransportOptions('smtps://u:p@mail.example.com').requireTLS).toBe(false);
    expect(smtpTransportOptions('smtp://u:p@127.0.0.1:2525').requireTLS).toBe(false);
    // What requiring it does: a server without STARTTLS never sees the password.
    const server = await start({ auth: { user: 'ferry', pass: 'secret' } });
    const error = await failureOf(mailerFor(`${server.url}?requireTLS=true`).send(email()));
    expect(error.permanent).toBe(false);
    expect(server.logins).toEqual([]);
    expect(server.messages).toHaveLength(0);
  });

  it('a 550 for the recipient is permanent (bounced)', async () => {
    const server = await start();
    server.refuse({ stage: 'rcpt', code: 550, message: 'No such user', match: (a) => a === 'ghost@example.com' });
    const error = await failureOf(mailerFor(server.url).send(email({ to: 'ghost@example.com' })));
    expect(error).toMatchObject({ permanent: true, responseCode: 550 });
    expect(error.message).toContain('No such user');
    // Other recipients still get through.
    await mailerFor(server.url).send(email());
    expect(server.messages.map((m) => m.to)).toEqual(['ann@example.com']);
  });

  it('a 554 after DATA is permanent too', async () => {
    const server = await start();
    server.refuse({ stage: 'data', code: 554, message: 'Message rejected' });
    const error = await failureOf(mailerFor(server.url).send(email()));
    expect(error).toMatchObject({ permanent: true, responseCode: 554 });
  });

  it('a 451 is temporary, and the same message goes through once the server accepts again', async () => {
    const server = await start();
    server.refuse({ stage: 'rcpt', code: 451, message: 'Greylisted' });
    const mailer = mailerFor(server.url);
    const error = await failureOf(mailer.send(email()));
    expect(error).toMatchObject({ permanent: false, responseCode: 451 });
    server.acceptAll();
    await mailer.send(email());
    expect(server.messages).toHaveLength(1);
  });

  it('a closed port is temporary', async () => {
    const port = await closedPort();
    const error = await failureOf(mailerFor(`smtp://127.0.0.1:${port}`).send(email()));
    expect(error).toMatchObject({ permanent: false, responseCode: null });
  });

  it('a server that never greets times out, temporarily', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const started = Date.now();
      const error = await failureOf(mailerFor(`smtp://127.0.0.1:${port}`, { greetingMs: 300 }).send(email()));
      expect(error.permanent).toBe(false);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      silent.close();
    }
  });

  it('refuses header injection before connecting: nothing reaches the server', async () => {
    const server = await start();
    const mailer = mailerFor(server.url);
    const attempts: Partial<OutgoingEmail>[] = [
      { subject: 'Hi\r\nBcc: victim@example.com' },
      { subject: 'Hi\nX-Evil: 1' },
      { to: 'ann@example.com\r\nBcc: victim@example.com' },
      { to: 'Ann <ann@example.com>' },
      { to: 'ann@example.com, victim@example.com' },
      { replyTo: 'x@example.com\nBcc: victim@example.com' },
      { headers: { 'X-Ok': 'a\r\nBcc: victim@example.com' } },
      { headers: { 'Bcc': 'victim@example.com' } },
      { headers: { 'X Bad': 'v' } },
    ];
    for (const attempt of attempts) {
      const error = await failureOf(mailer.send(email(attempt)));
      expect(error.permanent, JSON.stringify(attempt)).toBe(true);
    }
    expect(server.messages).toHaveLength(0);
  });
});

async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
