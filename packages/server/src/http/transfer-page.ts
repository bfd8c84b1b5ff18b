/** The plain pages served under /t/{slug} and /d/{token} until the web app replaces them. No script, everything escaped. */

/**
 * Headers of every page: nothing loads but inline styles, forms post only to Ferry, and no other site
 * may frame the page (a framed password form or download button invites clickjacking).
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  // The same for browsers that predate frame-ancestors.
  'x-frame-options': 'DENY',
};

/** What the page shows; a locked link has only its title and expiry until the password is given. */
interface PageView {
  title: string;
  expires_at: string | null;
  locked: boolean;
  message?: string | null;
  size?: number;
  file_count?: number;
  zip_url?: string | null;
  files?: { name: string; size: number; url: string }[];
}

export const escapeHtml = (value: string): string =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)} · Ferry</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}li{margin:.4rem 0}small{color:#666}</style>
</head>
<body>
${body}
</body>
</html>`;
}

/** The page of the link at `linkPath` (`/t/{slug}` or `/d/{token}`, already encoded); its form posts to `{linkPath}/unlock`. */
export function renderTransferPage(linkPath: string, view: PageView): string {
  const action = `${linkPath}/unlock`;
  const until = view.expires_at ? escapeHtml(view.expires_at) : null;
  if (view.locked) {
    return layout(view.title, `<h1>${escapeHtml(view.title)}</h1>
${until ? `<p><small>Available until ${until}</small></p>` : ''}
<form method="post" action="${escapeHtml(action)}">
  <label>This transfer is protected. Password <input type="password" name="password" required autofocus></label>
  <button type="submit">Unlock</button>
</form>`);
  }
  const files = view.files ?? [];
  const size = view.size ?? 0;
  return layout(view.title, `<h1>${escapeHtml(view.title)}</h1>
${view.message ? `<p>${escapeHtml(view.message)}</p>` : ''}
<p><small>${view.file_count ?? files.length} file(s), ${formatBytes(size)}${until ? `, available until ${until}` : ''}</small></p>
<ul>
${files.map((f) => `  <li><a href="${escapeHtml(f.url)}" download>${escapeHtml(f.name)}</a> <small>${formatBytes(f.size)}</small></li>`).join('\n')}
</ul>
${view.zip_url ? `<p><a href="${escapeHtml(view.zip_url)}" download>Download everything as ZIP</a> <small>${formatBytes(size)}</small></p>` : ''}`);
}

/** What an error page says: a heading, the error's own message, and where to go next. */
export interface ErrorPageView {
  heading: string;
  message: string;
  link?: { href: string; label: string };
  /** Shown for server errors, so a report can name the request. */
  requestId?: string;
}

export function renderErrorPage(view: ErrorPageView): string {
  return layout(view.heading, `<h1>${escapeHtml(view.heading)}</h1>
<p>${escapeHtml(view.message)}</p>
${view.link ? `<p><a href="${escapeHtml(view.link.href)}">${escapeHtml(view.link.label)}</a></p>` : ''}
${view.requestId ? `<p><small>Request ${escapeHtml(view.requestId)}</small></p>` : ''}`);
}
