import { renderEmail, type Block, type RenderedEmail } from './layout.ts';
import { count, formatBytes, formatDate, oneLine, truncate } from './text.ts';

/** Notices to an account owner about their own transfers, file requests and webhooks. */

const quoted = (title: string): string => `“${truncate(oneLine(title).trim(), 120)}”`;
const button = (label: string, url: string | undefined): Block[] => (url ? [{ kind: 'button', label, url }] : []);

export interface FirstDownloadInput {
  title: string;
  /** The recipient whose own link was used, or null for the shared public link. */
  who: string | null;
  when: Date | string;
  /** The file downloaded, or null for all files as one ZIP. */
  fileName: string | null;
  /** Where the owner sees the transfer. */
  link?: string;
}

/** The first download of a transfer whose owner asked to be notified. */
export function firstDownloadForSender(input: FirstDownloadInput): RenderedEmail {
  const who = input.who ?? 'Someone with the public link';
  const what = input.fileName ?? 'all files (ZIP)';
  return renderEmail({
    subject: `${quoted(input.title)} was downloaded`,
    heading: 'Your transfer was downloaded',
    blocks: [
      { kind: 'paragraph', text: `${who} downloaded ${input.fileName === null ? what : `“${what}”`} from ${quoted(input.title)}.` },
      { kind: 'facts', rows: [['Transfer', input.title], ['Downloaded by', who], ['File', what], ['When', formatDate(input.when)]] },
      ...button('See the transfer', input.link),
    ],
    footer: 'You get this email because download notifications are on for this transfer. Ferry sends one more, a summary, after the next download, and no more after that.',
  });
}

export interface DownloadSummaryInput {
  title: string;
  /** Downloads so far, all links together. */
  downloads: number;
  /** Recipients who downloaded through their own link. */
  downloadedBy: string[];
  link?: string;
}

/** The one summary after the first download notice; after it the owner gets no more. */
export function downloadSummaryForSender(input: DownloadSummaryInput): RenderedEmail {
  const blocks: Block[] = [
    { kind: 'paragraph', text: `${quoted(input.title)} has been downloaded ${count(input.downloads, 'time')} so far.` },
  ];
  if (input.downloadedBy.length > 0) {
    blocks.push({ kind: 'paragraph', text: 'Recipients who downloaded it:' });
    blocks.push({ kind: 'list', items: input.downloadedBy.slice(0, 50), ...(input.downloadedBy.length > 50 ? { more: `and ${input.downloadedBy.length - 50} more` } : {}) });
  } else {
    blocks.push({ kind: 'paragraph', text: 'No recipient has used their own link yet; the downloads came through the public link.' });
  }
  blocks.push(...button('See every download', input.link));
  return renderEmail({
    subject: `${quoted(input.title)}: ${count(input.downloads, 'download')} so far`,
    heading: 'Download summary',
    blocks,
    footer: 'This is the last download notification for this transfer.',
  });
}

export interface FileRequestReceivedInput {
  requestTitle: string;
  uploaderName?: string | null;
  uploaderEmail?: string | null;
  fileCount: number;
  totalBytes: number;
  /** The transfer the files landed in. */
  link: string;
}

/** Someone uploaded files through the owner's file request. */
export function fileRequestReceived(input: FileRequestReceivedInput): RenderedEmail {
  const name = oneLine(input.uploaderName ?? '').trim();
  const email = input.uploaderEmail ?? null;
  const who = name && email ? `${name} (${email})` : name || email || 'Someone';
  const rows: [string, string][] = [['Request', input.requestTitle], ['From', who], ['Files', count(input.fileCount, 'file')], ['Size', formatBytes(input.totalBytes)]];
  const blocks: Block[] = [
    { kind: 'paragraph', text: `${who} uploaded ${count(input.fileCount, 'file')} (${formatBytes(input.totalBytes)}) to your file request ${quoted(input.requestTitle)}.` },
    { kind: 'facts', rows },
  ];
  if (name || email) blocks.push({ kind: 'paragraph', text: 'The name and address were typed in by the uploader; Ferry has not verified them.' });
  blocks.push({ kind: 'button', label: 'See the files', url: input.link });
  return renderEmail({
    subject: `New files for ${quoted(input.requestTitle)}`,
    heading: 'You received files',
    blocks,
    footer: 'You get this email because notifications are on for this file request.',
  });
}

export interface WebhookEndpointDisabledInput {
  /** The endpoint's URL as its owner registered it (shown as text, never as a link). */
  url: string;
  reason: string;
  failingSince: Date | string;
  link?: string;
}

/** An endpoint kept failing for the whole retry schedule and no longer gets deliveries. */
export function webhookEndpointDisabled(input: WebhookEndpointDisabledInput): RenderedEmail {
  return renderEmail({
    subject: 'A webhook endpoint was disabled',
    heading: 'Webhook endpoint disabled',
    blocks: [
      { kind: 'paragraph', text: `Deliveries to one of your webhook endpoints have failed since ${formatDate(input.failingSince)}, so Ferry has stopped sending to it.` },
      { kind: 'facts', rows: [['Endpoint', truncate(input.url, 300)], ['Last error', truncate(input.reason, 300)], ['Failing since', formatDate(input.failingSince)]] },
      { kind: 'paragraph', text: 'Fix the receiver, then turn the endpoint back on; the failed deliveries stay listed and can be sent again.' },
      ...button('See the endpoint', input.link),
    ],
    footer: 'You get this email because you own this webhook endpoint on Ferry.',
  });
}
