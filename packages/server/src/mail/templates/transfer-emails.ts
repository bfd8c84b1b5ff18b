import { renderEmail, type Block, type RenderedEmail } from './layout.ts';
import { count, formatBytes, formatDate, oneLine, truncate } from './text.ts';

/** Who sent a transfer: the account's name when it has one, and its address. */
export interface EmailSender {
  name?: string | null;
  email: string;
}

export interface EmailFile {
  name: string;
  size: number;
}

/** Files listed in an email; the rest are counted, so a 1 000-file transfer stays readable. */
export const MAX_LISTED_FILES = 20;
const MAX_TITLE_IN_SUBJECT = 120;

/** `Ann Lee` or, without a name, `ann@example.com`. */
export const senderLabel = (sender: EmailSender): string => {
  const name = oneLine(sender.name ?? '').trim();
  return name !== '' ? name : sender.email;
};

/** `Ann Lee (ann@example.com)` or `ann@example.com`. */
const senderFull = (sender: EmailSender): string => {
  const label = senderLabel(sender);
  return label === sender.email ? label : `${label} (${sender.email})`;
};

const quoted = (title: string): string => `“${truncate(oneLine(title).trim(), MAX_TITLE_IN_SUBJECT)}”`;

const expiryText = (expiresAt: Date | string | null): string => (expiresAt === null ? 'never' : formatDate(expiresAt));

function fileList(files: EmailFile[]): Block {
  const listed = files.slice(0, MAX_LISTED_FILES).map((file) => `${file.name} (${formatBytes(file.size)})`);
  const rest = files.length - listed.length;
  return { kind: 'list', items: listed, ...(rest > 0 ? { more: `and ${count(rest, 'more file')}` } : {}) };
}

export interface TransferReadyForRecipientInput {
  sender: EmailSender;
  title: string;
  message?: string | null;
  files: EmailFile[];
  totalSize: number;
  expiresAt: Date | string | null;
  /** This recipient's own link (`/d/{token}`). */
  link: string;
  /** Whether the download asks for a password; the password itself is never in an email. */
  hasPassword: boolean;
}

/** To each recipient when a transfer is ready: who sent what, until when, and their own link. */
export function transferReadyForRecipient(input: TransferReadyForRecipientInput): RenderedEmail {
  const who = senderLabel(input.sender);
  const blocks: Block[] = [
    { kind: 'paragraph', text: `${senderFull(input.sender)} sent you ${count(input.files.length, 'file')} (${formatBytes(input.totalSize)}) with Ferry.` },
  ];
  if (input.message && input.message.trim() !== '') blocks.push({ kind: 'quote', text: input.message });
  blocks.push(
    { kind: 'facts', rows: [['Title', input.title], ['Size', formatBytes(input.totalSize)], ['Available until', expiryText(input.expiresAt)]] },
    fileList(input.files),
  );
  if (input.hasPassword) {
    blocks.push({ kind: 'paragraph', text: 'The download is password protected; the sender will tell you the password.' });
  }
  blocks.push({ kind: 'button', label: 'Download the files', url: input.link });
  return renderEmail({
    subject: `${who} sent you ${quoted(input.title)}`,
    heading: `${who} sent you files`,
    blocks,
    footer: `You get this email because ${input.sender.email} sent you files with Ferry. The link is yours: downloads through it are shown to the sender as yours.`,
  });
}

export interface TransferReadyForSenderInput {
  title: string;
  /** The transfer's link (its download page). */
  link: string;
  /** The addresses the transfer is being emailed to. */
  recipients: string[];
  expiresAt: Date | string | null;
  fileCount?: number;
  totalSize?: number;
}

/** The sender's confirmation that the transfer is ready and on its way to its recipients. */
export function transferReadyForSender(input: TransferReadyForSenderInput): RenderedEmail {
  const rows: [string, string][] = [['Title', input.title]];
  if (input.fileCount !== undefined) rows.push(['Files', count(input.fileCount, 'file')]);
  if (input.totalSize !== undefined) rows.push(['Size', formatBytes(input.totalSize)]);
  rows.push(['Available until', expiryText(input.expiresAt)]);
  const blocks: Block[] = [
    { kind: 'paragraph', text: `Your transfer ${quoted(input.title)} is uploaded and ready to download.` },
    { kind: 'facts', rows },
  ];
  if (input.recipients.length > 0) {
    blocks.push({ kind: 'paragraph', text: `Each of these ${count(input.recipients.length, 'recipient')} gets an email with a link of their own:` });
    blocks.push({ kind: 'list', items: input.recipients.slice(0, 50), ...(input.recipients.length > 50 ? { more: `and ${input.recipients.length - 50} more` } : {}) });
  } else {
    blocks.push({ kind: 'paragraph', text: 'It has no recipients: share the link yourself.' });
  }
  blocks.push({ kind: 'button', label: 'Open the download page', url: input.link });
  return renderEmail({
    subject: `Your transfer ${quoted(input.title)} is ready`,
    heading: 'Your transfer is ready',
    blocks,
    footer: 'You get this email because you asked for a confirmation when this transfer was created.',
  });
}

export interface ExpiryReminderInput {
  sender: EmailSender;
  title: string;
  expiresAt: Date | string;
  /** This recipient's own link. */
  link: string;
}

/** To a recipient who has not downloaded yet, a day before the link stops working. */
export function expiryReminderForRecipient(input: ExpiryReminderInput): RenderedEmail {
  const who = senderLabel(input.sender);
  return renderEmail({
    subject: `Reminder: ${quoted(input.title)} from ${who} expires soon`,
    heading: 'Your files expire soon',
    blocks: [
      { kind: 'paragraph', text: `${senderFull(input.sender)} sent you ${quoted(input.title)}, and you have not downloaded it yet.` },
      { kind: 'facts', rows: [['Title', input.title], ['Available until', formatDate(input.expiresAt)]] },
      { kind: 'paragraph', text: 'After that the files are deleted and the link stops working.' },
      { kind: 'button', label: 'Download the files', url: input.link },
    ],
    footer: `You get this reminder because ${input.sender.email} sent you files with Ferry and they have not been downloaded through your link.`,
  });
}
