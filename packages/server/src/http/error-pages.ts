import type { FastifyRequest } from 'fastify';
import { SLUG_PATTERN } from '../domain/transfer-rules.ts';
import { RECIPIENT_TOKEN_PATTERN } from '../domain/recipients.ts';
import type { ErrorCode } from '../errors.ts';
import type { ErrorPageRenderer } from './error-handler.ts';
import { PAGE_HEADERS, renderErrorPage, type ErrorPageView } from './transfer-page.ts';

/**
 * Error pages for recipients: a browser that follows a link (to the page, a file, the ZIP or a
 * signed URL) gets a readable page instead of the JSON envelope. Same status, same headers.
 */

/** The q-value the most specific range of `accept` gives to `type/subtype` (0 when none matches). */
function quality(ranges: { type: string; q: number }[], mediaType: string): number {
  const [type] = mediaType.split('/');
  const match = ranges.find((r) => r.type === mediaType) ?? ranges.find((r) => r.type === `${type}/*`) ?? ranges.find((r) => r.type === '*/*');
  return match?.q ?? 0;
}

/**
 * True when the client ranks HTML above JSON, as browsers navigating do
 * (`text/html,…,*\/*;q=0.8`). No Accept, `*\/*` and `application/json` keep the envelope.
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const ranges = accept.split(',').map((part) => {
    const [type = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    const value = q === undefined ? 1 : Number(q.slice(2));
    return { type, q: Number.isFinite(value) ? Math.min(Math.max(value, 0), 1) : 0 };
  });
  const html = quality(ranges, 'text/html');
  return html > 0 && html > quality(ranges, 'application/json');
}

const HEADINGS: Partial<Record<ErrorCode, string>> = {
  password_required: 'Password required',
  invalid_password: 'Wrong password',
  rate_limited: 'Too many attempts',
  transfer_expired: 'This transfer has expired',
  transfer_deleted: 'This transfer has been deleted',
  transfer_removed: 'This transfer has been removed',
  download_limit_reached: 'Download limit reached',
  transfer_not_ready: 'Still being uploaded',
  file_incomplete: 'Still being uploaded',
  invalid_signature: 'This link is invalid or has expired',
  not_found: 'Not found',
  file_request_expired: 'This file request has expired',
  file_request_deleted: 'This file request has been deleted',
};

/** Errors after which the transfer's page is the way on, and what the link to it says. */
const BACK_TO_PAGE: Partial<Record<ErrorCode, string>> = {
  password_required: 'Enter the password',
  invalid_password: 'Enter the password',
  rate_limited: 'Back to the transfer',
  transfer_not_ready: 'Check again',
  file_incomplete: 'Back to the transfer',
};

export const recipientErrorPage: ErrorPageRenderer = (request: FastifyRequest, status, body) => {
  if (!prefersHtml(request.headers.accept)) return null;
  const { code, message } = body.error;
  const params = request.params as { slug?: unknown; token?: unknown } | undefined;
  const view: ErrorPageView = {
    heading: HEADINGS[code] ?? (status >= 500 ? 'Something went wrong' : 'This request cannot be served'),
    // Messages of planned errors are written for people; a 5xx's never carries internals.
    message,
  };
  const label = BACK_TO_PAGE[code];
  const page = linkPage(params?.slug, params?.token);
  if (label && page) view.link = { href: page, label };
  if (typeof body.request_id === 'string') view.requestId = body.request_id;
  return { html: renderErrorPage(view), headers: PAGE_HEADERS };
};

const TOKEN = new RegExp(RECIPIENT_TOKEN_PATTERN);

/** The download page of the link in the path: the shared /t/{slug} or a recipient's /d/{token}. */
function linkPage(slug: unknown, token: unknown): string | null {
  if (typeof slug === 'string' && SLUG_PATTERN.test(slug)) return `/t/${encodeURIComponent(slug)}`;
  if (typeof token === 'string' && TOKEN.test(token)) return `/d/${token}`;
  return null;
}
