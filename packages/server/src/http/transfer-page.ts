/** The plain download page served at /t/{slug} until the web app replaces it. No script, everything escaped. */

interface PageView {
  title: string;
  message: string | null;
  expires_at: string | null;
  locked: boolean;
  size: number;
  file_count: number;
  zip_url: string | null;
  files: { name: string; size: number; url: string }[];
}

const escapeHtml = (value: string): string =>
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

export function renderTransferPage(slug: string, view: PageView): string {
  const action = `/t/${encodeURIComponent(slug)}/unlock`;
  const body = view.locked
    ? `<form method="post" action="${escapeHtml(action)}">
  <label>This transfer is protected. Password <input type="password" name="password" required autofocus></label>
  <button type="submit">Unlock</button>
</form>`
    : `<ul>
${view.files.map((f) => `  <li><a href="${escapeHtml(f.url)}" download>${escapeHtml(f.name)}</a> <small>${formatBytes(f.size)}</small></li>`).join('\n')}
</ul>
${view.zip_url ? `<p><a href="${escapeHtml(view.zip_url)}" download>Download everything as ZIP</a> <small>${formatBytes(view.size)}</small></p>` : ''}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(view.title)} · Ferry</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}li{margin:.4rem 0}small{color:#666}</style>
</head>
<body>
<h1>${escapeHtml(view.title)}</h1>
${view.message ? `<p>${escapeHtml(view.message)}</p>` : ''}
<p><small>${view.file_count} file(s), ${formatBytes(view.size)}${view.expires_at ? `, available until ${escapeHtml(view.expires_at)}` : ''}</small></p>
${body}
</body>
</html>`;
}
