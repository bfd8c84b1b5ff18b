import { escapeHtml, formatBytes, layout } from './transfer-page.ts';

/** The page at /r/{token} until the web app gives it an uploader: what is asked, and how to upload with curl. */

interface RequestPageView {
  title: string;
  message: string | null;
  expires_at: string | null;
  state: 'open' | 'full';
  max_files: number | null;
  max_file_size: number | null;
  allowed_types: string[];
  files_left: number | null;
  bytes_left: number | null;
  password_protected: boolean;
  require_name: boolean;
  require_email: boolean;
}

/** A shell word in single quotes, so a value pasted into the command stays one argument. */
const shellQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

export function renderFileRequestPage(token: string, view: RequestPageView, publicUrl: string): string {
  const api = `${publicUrl}/api/v1`;
  const limits: string[] = [];
  if (view.files_left !== null) limits.push(`${view.files_left} more file(s) of ${view.max_files}`);
  if (view.bytes_left !== null) limits.push(`${formatBytes(view.bytes_left)} more in all`);
  if (view.max_file_size !== null) limits.push(`at most ${formatBytes(view.max_file_size)} per file`);
  if (view.allowed_types.length > 0) limits.push(`only ${view.allowed_types.join(', ')}`);
  if (view.expires_at) limits.push(`until ${view.expires_at}`);
  const asks = [view.require_name ? 'your name' : null, view.require_email ? 'your email address' : null, view.password_protected ? 'the password you were given' : null].filter(Boolean);
  const fields = [
    view.require_name ? '"name": "Your Name"' : null,
    view.require_email ? '"email": "you@example.com"' : null,
    view.password_protected ? '"password": "…"' : null,
    '"message": "Here you go"',
  ].filter(Boolean);
  const open = `curl -s -X POST ${shellQuote(`${api}/file-requests/${token}/transfers`)} \\
  -H 'Content-Type: application/json' -d ${shellQuote(`{${fields.join(', ')}}`)}
# answers {"data": {"transfer_id": "tr_…", "upload_token": "fyu_…", …}}
TID=tr_…; TOKEN=fyu_…`;
  const upload = `# declare the file, then PUT its bytes to the answer's upload.url
curl -s -X POST "${api}/transfers/$TID/files" -H "Authorization: Bearer $TOKEN" \\
  -H 'Content-Type: application/json' -d '{"name": "report.pdf", "size": 48213}'
curl -s -T report.pdf "${api}/transfers/$TID/files/fl_…/content" -H "Authorization: Bearer $TOKEN"
# or both in one request:  curl -s -F "file=@report.pdf" "${api}/transfers/$TID/files" -H "Authorization: Bearer $TOKEN"
# when every file is uploaded:
curl -s -X POST "${api}/transfers/$TID/finalize" -H "Authorization: Bearer $TOKEN"`;
  return layout(view.title, `<h1>${escapeHtml(view.title)}</h1>
${view.message ? `<p>${escapeHtml(view.message)}</p>` : ''}
<p>Someone asks you to upload files. ${view.state === 'full' ? '<strong>This request has received everything it asks for and takes no more files.</strong>' : ''}</p>
${limits.length > 0 ? `<p><small>It takes ${escapeHtml(limits.join('; '))}.</small></p>` : ''}
${asks.length > 0 ? `<p><small>It asks for ${escapeHtml(asks.join(', '))}.</small></p>` : ''}
<h2>Upload with curl</h2>
<p>Open a transfer of your own; its upload token is your only credential:</p>
<pre style="overflow-x:auto">${escapeHtml(open)}</pre>
<p>Upload each file, then finalize:</p>
<pre style="overflow-x:auto">${escapeHtml(upload)}</pre>
<p><small>Resumable uploads: tus 1.0 at ${escapeHtml(`${api}/uploads`)} with <code>transfer_id</code> and <code>filename</code> in Upload-Metadata and the same token.</small></p>`);
}
