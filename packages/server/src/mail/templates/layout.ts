import { escapeHtml, oneLine, paragraphText, subjectLine } from './text.ts';

/** What every template answers: ready for `OutgoingEmail` (subject one line, two bodies). */
export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/**
 * The pieces an email is made of. Every string in a block is plain text, user-supplied or not:
 * the layout escapes it for HTML and cleans it for the text part, so a template cannot forget to.
 */
export type Block =
  | { kind: 'paragraph'; text: string }
  /** A sender's own words, kept on their lines and set apart. */
  | { kind: 'quote'; text: string }
  | { kind: 'facts'; rows: [label: string, value: string][] }
  | { kind: 'list'; items: string[]; more?: string }
  | { kind: 'button'; label: string; url: string };

export interface EmailContent {
  subject: string;
  heading: string;
  blocks: Block[];
  /** Why the reader gets this email; small print under the card. */
  footer: string;
}

/** Both bodies and the subject of one email, from the same blocks. */
export function renderEmail(content: EmailContent): RenderedEmail {
  for (const block of content.blocks) if (block.kind === 'button') checkLink(block.url);
  return { subject: subjectLine(content.subject), text: renderText(content), html: renderHtml(content) };
}

/** Links come from Ferry, never from users; anything but http(s) is a bug, not a link. */
function checkLink(url: string): void {
  if (!/^https?:\/\/[^\s<>"']+$/i.test(url)) throw new Error('an email link must be an absolute http(s) URL');
}

function renderText({ heading, blocks, footer }: EmailContent): string {
  const parts = [oneLine(heading)];
  for (const block of blocks) {
    switch (block.kind) {
      case 'paragraph':
        parts.push(oneLine(block.text));
        break;
      case 'quote':
        parts.push(paragraphText(block.text).split('\n').map((line) => `  > ${line}`.trimEnd()).join('\n'));
        break;
      case 'facts':
        parts.push(block.rows.map(([label, value]) => `${oneLine(label)}: ${oneLine(value)}`).join('\n'));
        break;
      case 'list':
        parts.push([...block.items.map((item) => `  - ${oneLine(item)}`), ...(block.more ? [`  ${oneLine(block.more)}`] : [])].join('\n'));
        break;
      case 'button':
        parts.push(`${oneLine(block.label)}:\n${block.url}`);
        break;
    }
  }
  parts.push(`-- \n${oneLine(footer)}`);
  return `${parts.join('\n\n')}\n`;
}

const FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";
const MUTED = '#57606a';
const ACCENT = '#2563eb';

/** One user value for HTML: cleaned as one line, then escaped. */
const html1 = (value: string): string => escapeHtml(oneLine(value));

function renderHtml({ subject, heading, blocks, footer }: EmailContent): string {
  const body = blocks.map(blockHtml).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>${escapeHtml(subjectLine(subject))}</title>
</head>
<body style="margin:0;padding:0;background-color:#f4f5f7;">
<table role="presentation" width="100%" cellspacing="0" cellpadding="0" border="0" style="background-color:#f4f5f7;">
<tr><td align="center" style="padding:32px 16px;">
<table role="presentation" width="100%" cellspacing="0" cellpadding="0" border="0" style="max-width:560px;background-color:#ffffff;border:1px solid #e3e5e8;border-radius:8px;">
<tr><td style="padding:32px;font-family:${FONT};font-size:15px;line-height:1.5;color:#1f2328;">
<h1 style="margin:0 0 16px;font-size:20px;line-height:1.3;font-weight:600;color:#1f2328;">${html1(heading)}</h1>
${body}
</td></tr>
</table>
<p style="max-width:560px;margin:16px auto 0;font-family:${FONT};font-size:12px;line-height:1.5;color:${MUTED};">${html1(footer)}</p>
</td></tr>
</table>
</body>
</html>
`;
}

function blockHtml(block: Block): string {
  switch (block.kind) {
    case 'paragraph':
      return `<p style="margin:0 0 16px;">${html1(block.text)}</p>`;
    case 'quote': {
      const lines = paragraphText(block.text).split('\n').map(escapeHtml).join('<br>\n');
      return `<div style="margin:0 0 16px;padding:12px 16px;background-color:#f6f8fa;border-left:4px solid #d0d7de;border-radius:4px;">${lines}</div>`;
    }
    case 'facts': {
      const rows = block.rows
        .map(([label, value]) => `<tr><td style="padding:2px 16px 2px 0;color:${MUTED};white-space:nowrap;vertical-align:top;">${html1(label)}</td><td style="padding:2px 0;word-break:break-word;">${html1(value)}</td></tr>`)
        .join('\n');
      return `<table role="presentation" cellspacing="0" cellpadding="0" border="0" style="margin:0 0 16px;font-family:${FONT};font-size:15px;">\n${rows}\n</table>`;
    }
    case 'list': {
      const items = block.items.map((item) => `<li style="margin:0 0 4px;word-break:break-word;">${html1(item)}</li>`).join('\n');
      const more = block.more ? `\n<p style="margin:0 0 16px;color:${MUTED};">${html1(block.more)}</p>` : '';
      return `<ul style="margin:0 0 16px;padding-left:20px;">\n${items}\n</ul>${more}`;
    }
    case 'button': {
      const href = escapeHtml(block.url);
      return `<table role="presentation" cellspacing="0" cellpadding="0" border="0" style="margin:8px 0 16px;"><tr><td style="border-radius:6px;background-color:${ACCENT};">` +
        `<a href="${href}" style="display:inline-block;padding:12px 24px;font-family:${FONT};font-size:15px;font-weight:600;color:#ffffff;text-decoration:none;border-radius:6px;">${html1(block.label)}</a>` +
        `</td></tr></table>\n<p style="margin:0 0 16px;font-size:13px;color:${MUTED};word-break:break-all;">Or open this link: <a href="${href}" style="color:${ACCENT};">${href}</a></p>`;
    }
  }
}
