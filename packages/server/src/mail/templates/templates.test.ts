import { describe, expect, it } from 'vitest';
import {
  downloadSummaryForSender,
  expiryReminderForRecipient,
  fileRequestReceived,
  firstDownloadForSender,
  formatBytes,
  formatDate,
  transferReadyForRecipient,
  transferReadyForSender,
  webhookEndpointDisabled,
  type RenderedEmail,
} from './index.ts';

const NASTY = [`<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`, `'onmouseover='x`];
const HOSTILE = `${NASTY.join(' ')}\r\nBcc: victim@example.com\u202Egnp.exe`;
const LINK = 'https://files.example.com/d/AbC123';

/** Every email, each fed the hostile string in every user-supplied field. */
const everyEmail = (value: string): Record<string, RenderedEmail> => ({
  transferReadyForRecipient: transferReadyForRecipient({
    sender: { name: value, email: 'ann@example.com' },
    title: value,
    message: `${value}\nsecond line`,
    files: [{ name: value, size: 1234 }],
    totalSize: 1234,
    expiresAt: '2030-01-03T14:05:00Z',
    link: LINK,
    hasPassword: true,
  }),
  transferReadyForSender: transferReadyForSender({ title: value, link: LINK, recipients: ['bob@example.com'], expiresAt: null }),
  firstDownloadForSender: firstDownloadForSender({ title: value, who: null, when: new Date('2030-01-01T00:00:00Z'), fileName: value, link: LINK }),
  downloadSummaryForSender: downloadSummaryForSender({ title: value, downloads: 2, downloadedBy: ['bob@example.com'], link: LINK }),
  expiryReminderForRecipient: expiryReminderForRecipient({ sender: { name: value, email: 'ann@example.com' }, title: value, expiresAt: '2030-01-03T14:05:00Z', link: LINK }),
  fileRequestReceived: fileRequestReceived({ requestTitle: value, uploaderName: value, uploaderEmail: 'up@example.com', fileCount: 3, totalBytes: 5_000_000, link: LINK }),
  webhookEndpointDisabled: webhookEndpointDisabled({ url: `https://hooks.example.com/${value}`, reason: value, failingSince: '2030-01-01T00:00:00Z' }),
});

describe('email templates', () => {
  it('escape every user-supplied value in HTML', () => {
    for (const [name, email] of Object.entries(everyEmail(HOSTILE))) {
      expect(email.html, name).not.toContain('<script');
      expect(email.html, name).not.toContain('<img');
      // No event handler attribute inside any tag, and no quote that could end an attribute.
      expect(email.html, name).not.toMatch(/<[^>]*\son\w+\s*=/i);
      expect(email.html, name).not.toContain(`'onmouseover='`);
      expect(email.html, name).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(email.html, name).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
      // The only tags are the layout's own.
      const tags = new Set([...email.html.matchAll(/<\/?([a-zA-Z0-9!]+)/g)].map((m) => m[1]!.toLowerCase()));
      expect([...tags].filter((t) => !['!doctype', 'html', 'head', 'meta', 'title', 'body', 'table', 'tr', 'td', 'h1', 'p', 'div', 'br', 'ul', 'li', 'a'].includes(t)), name).toEqual([]);
    }
  });

  it('keep subjects to one clean line of at most 200 characters', () => {
    for (const [name, email] of Object.entries(everyEmail(HOSTILE))) {
      expect(email.subject, name).not.toMatch(/[\r\n\u2028\u2029\p{Cc}\u202E]/u);
      expect([...email.subject].length, name).toBeLessThanOrEqual(200);
    }
    const long = transferReadyForSender({ title: 'x'.repeat(5000), link: LINK, recipients: [], expiresAt: null });
    expect([...long.subject].length).toBeLessThanOrEqual(200);
    expect(transferReadyForSender({ title: 'Q3\r\nreport', link: LINK, recipients: [], expiresAt: null }).subject).toBe('Your transfer “Q3 report” is ready');
  });

  it('strip control and bidi characters from the text part, keeping the message on its lines', () => {
    for (const [name, email] of Object.entries(everyEmail(HOSTILE))) {
      expect(email.text, name).not.toMatch(/[\r\u202E\u0000-\u0009\u000b-\u001f\u007f]/u);
      expect(email.text, name).not.toMatch(/\nBcc:/);
    }
    const { text } = everyEmail('plain')['transferReadyForRecipient']!;
    expect(text).toContain('  > plain\n  > second line');
  });

  it('never hold the password, only that there is one', () => {
    const input = {
      sender: { email: 'ann@example.com' },
      title: 'Contracts',
      files: [{ name: 'a.pdf', size: 10 }],
      totalSize: 10,
      expiresAt: null,
      link: LINK,
      hasPassword: true,
      password: 'hunter2-secret',
    };
    const email = transferReadyForRecipient(input);
    for (const part of [email.subject, email.text, email.html]) expect(part).not.toContain('hunter2-secret');
    expect(email.text).toContain('The download is password protected; the sender will tell you the password.');
    expect(transferReadyForRecipient({ ...input, hasPassword: false }).text).not.toContain('password');
  });

  it('tell the recipient who sent what, until when, with their own link as a button and as text', () => {
    const email = transferReadyForRecipient({
      sender: { name: 'Ann Lee', email: 'ann@example.com' },
      title: 'Holiday photos',
      message: 'Enjoy!',
      files: Array.from({ length: 25 }, (_, i) => ({ name: `IMG_${i}.jpg`, size: 2_500_000 })),
      totalSize: 62_500_000,
      expiresAt: '2030-01-03T14:05:00Z',
      link: LINK,
      hasPassword: false,
    });
    expect(email.subject).toBe('Ann Lee sent you “Holiday photos”');
    expect(email.text).toContain('Ann Lee (ann@example.com) sent you 25 files (63 MB) with Ferry.');
    expect(email.text).toContain('Available until: 3 January 2030, 14:05 UTC');
    expect(email.text).toContain('  - IMG_0.jpg (2.5 MB)');
    expect(email.text).toContain('and 5 more files');
    expect(email.text).not.toContain('IMG_20.jpg');
    expect(email.text).toContain(`Download the files:\n${LINK}`);
    expect(email.html.match(new RegExp(`href="${LINK}"`, 'g'))).toHaveLength(2);
  });

  it('name the downloader, or the public link, and the file or the ZIP', () => {
    const zip = firstDownloadForSender({ title: 'Q3', who: null, when: '2030-01-01T09:30:00Z', fileName: null });
    expect(zip.text).toContain('Someone with the public link downloaded all files (ZIP) from “Q3”.');
    const file = firstDownloadForSender({ title: 'Q3', who: 'bob@example.com', when: '2030-01-01T09:30:00Z', fileName: 'report.pdf' });
    expect(file.text).toContain('bob@example.com downloaded “report.pdf” from “Q3”.');
    const summary = downloadSummaryForSender({ title: 'Q3', downloads: 2, downloadedBy: ['bob@example.com', 'cy@example.com'], link: LINK });
    expect(summary.subject).toBe('“Q3”: 2 downloads so far');
    expect(summary.text).toContain('  - bob@example.com\n  - cy@example.com');
  });

  it('reject a link that is not http(s)', () => {
    expect(() => expiryReminderForRecipient({ sender: { email: 'a@example.com' }, title: 't', expiresAt: new Date(), link: 'javascript:alert(1)' })).toThrow();
    expect(() => fileRequestReceived({ requestTitle: 't', fileCount: 1, totalBytes: 1, link: 'https://x.example/"><script>' })).toThrow();
  });

  it('says the uploader details are unverified and shows a webhook URL as text only', () => {
    expect(fileRequestReceived({ requestTitle: 'Invoices', uploaderEmail: 'up@example.com', fileCount: 1, totalBytes: 1, link: LINK }).text).toContain('up@example.com uploaded 1 file (1 byte)');
    const hook = webhookEndpointDisabled({ url: 'https://hooks.example.com/in', reason: 'HTTP 500', failingSince: '2030-01-01T00:00:00Z' });
    expect(hook.html).not.toContain('href="https://hooks.example.com/in"');
    expect(hook.text).toContain('Endpoint: https://hooks.example.com/in');
  });
});

describe('sizes and dates', () => {
  it('formats sizes as people read them', () => {
    expect([0, 1, 999, 1000, 1500, 999_600, 12_345_678, 10 * 1024 ** 3].map(formatBytes)).toEqual(['0 bytes', '1 byte', '999 bytes', '1 kB', '1.5 kB', '1 MB', '12 MB', '11 GB']);
  });

  it('formats dates in UTC', () => {
    expect(formatDate('2030-12-31T23:59:59Z')).toBe('31 December 2030, 23:59 UTC');
    expect(formatDate('nonsense')).toBe('an unknown date');
  });
});
