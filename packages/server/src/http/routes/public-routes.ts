import { Type, type TObject } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Data, DateTime, errorResponses, NotModified, Nullable } from '../schemas.ts';
import { sendFile, sendZip } from '../send-download.ts';
import { PAGE_HEADERS, renderTransferPage } from '../transfer-page.ts';
import type { RouteContext } from './index.ts';
import { RECIPIENT_TOKEN_PATTERN } from '../../domain/recipients.ts';
import type { LinkRef } from '../../services/download-service.ts';

export const accessCookieName = (transferId: string) => `ferry_access_${transferId}`;

/** Access token from the X-Ferry-Access-Token header or the cookie set by unlock. */
const tokenLookup = (request: FastifyRequest) => (transferId: string) => {
  const header = request.headers['x-ferry-access-token'];
  return typeof header === 'string' ? header : request.cookies[accessCookieName(transferId)];
};

const FileId = Type.String({ pattern: '^fl_[0-9a-zA-Z]{22}$' });
const Slug = Type.Object({ slug: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$' }) });
const Token = Type.Object({ token: Type.String({ pattern: RECIPIENT_TOKEN_PATTERN, description: 'A recipient\'s own link token.' }) });
const Binary = Type.String({ format: 'binary' });
const Redirect = Type.Null({ description: 'With S3 storage and FERRY_S3_REDIRECT_DOWNLOADS on: Location is a presigned S3 GET valid 60 s.' });

const LOCKED_ABSENT = { description: 'Absent while locked.' };
const PublicTransfer = Type.Object({
  title: Type.String(),
  expires_at: Nullable(DateTime),
  password_protected: Type.Boolean(),
  locked: Type.Boolean({ description: 'True while a password is needed: then only title, expiry and these flags are sent.' }),
  message: Type.Optional(Type.Union([Type.String(), Type.Null()], LOCKED_ABSENT)),
  size: Type.Optional(Type.Integer(LOCKED_ABSENT)),
  file_count: Type.Optional(Type.Integer(LOCKED_ABSENT)),
  zip_url: Type.Optional(Type.String(LOCKED_ABSENT)),
  files: Type.Optional(
    Type.Array(Type.Object({ id: Type.String(), name: Type.String(), size: Type.Integer(), content_type: Type.String(), sha256: Nullable(Type.String()), url: Type.String() }), LOCKED_ABSENT),
  ),
});
const Unlock = Type.Object({ password: Type.String({ maxLength: 4096 }) });

export function publicRoutes(server: FastifyInstance, { services, presenter, config }: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['public'];
  const { downloads } = services;

  /** What a link shows; `base` is the link's own URL, under which its files and ZIP are reached. */
  async function publicView(request: FastifyRequest, link: LinkRef, base: string) {
    const visit = await downloads.openLink(link);
    const { transfer } = visit;
    let locked = false;
    try {
      downloads.assertUnlocked(transfer, tokenLookup(request)(transfer.id));
    } catch {
      locked = true;
    }
    const head = { title: transfer.title, expires_at: transfer.expires_at, password_protected: transfer.password_hash !== null, locked };
    // A locked link shows what its password form needs, nothing the password protects.
    if (locked) return { visit, view: head };
    const files = await downloads.listedFiles(transfer);
    const view = {
      ...head,
      message: transfer.message,
      size: transfer.size,
      file_count: transfer.file_count,
      zip_url: `${base}/download.zip`,
      files: files.map((f) => ({ id: f.id, name: f.name, size: f.size, content_type: f.content_type, sha256: f.sha256, url: `${base}/files/${f.id}` })),
    };
    return { visit, view };
  }

  /** Both unlock routes: the token also goes into the cookie every download path reads. */
  async function unlock(request: FastifyRequest, reply: FastifyReply, link: LinkRef, password: string) {
    const { transferId, token, expiresAt } = await services.unlock.unlock(link, password, request.ip);
    void reply.setCookie(accessCookieName(transferId), token, { httpOnly: true, sameSite: 'lax', secure: config.cookieSecure, path: '/', expires: expiresAt });
    return { token, expiresAt };
  }

  app.get('/api/v1/public/transfers/:slug', {
    config: { auth: { public: true } },
    schema: {
      tags,
      operationId: 'getPublicTransfer',
      summary: 'A shared transfer as recipients see it',
      description: '409 transfer_not_ready until the sender finalizes it; 404 while its owner has turned the shared link off (public_link false).',
      security: [],
      params: Slug,
      response: { 200: Data(PublicTransfer), ...errorResponses(404, 409, 410) },
    },
  }, async (request) => {
    const { slug } = request.params;
    return { data: (await publicView(request, { slug }, presenter.publicLink(slug))).view };
  });

  app.post('/api/v1/public/transfers/:slug/unlock', {
    config: { auth: { public: true } },
    bodyLimit: 16 * 1024,
    schema: {
      tags,
      operationId: 'unlockPublicTransfer',
      summary: 'Trade a link password for a short-lived access token',
      description:
        'Also sets it as a cookie. Send it back as X-Ferry-Access-Token (or the cookie) on every download path, of the shared link and of ' +
        'recipients\' /d/ links alike. Guesses are throttled per link and per address.',
      security: [],
      params: Slug,
      body: Type.Object(Unlock.properties, { additionalProperties: false }),
      response: { 200: Data(Type.Object({ access_token: Type.String(), expires_at: DateTime })), ...errorResponses(400, 401, 404, 409, 410, 413) },
    },
  }, async (request, reply) => {
    const { token, expiresAt } = await unlock(request, reply, { slug: request.params.slug }, request.body.password);
    return { data: { access_token: token, expires_at: expiresAt.toISOString() } };
  });

  linkRoutes({
    prefix: '/t/:slug',
    params: Slug,
    name: 'Shared',
    what: 'the shared link',
    note: 'Answers 404 while the owner has turned the shared link off (public_link false).',
    toLink: (p) => ({ slug: (p as { slug: string }).slug }),
    pagePath: (p) => `/t/${encodeURIComponent((p as { slug: string }).slug)}`,
    url: (p) => presenter.publicLink((p as { slug: string }).slug),
  });
  linkRoutes({
    prefix: '/d/:token',
    params: Token,
    name: 'Recipient',
    what: "a recipient's own link",
    note: 'Answers 404 once the recipient is removed. Visits and downloads show on that recipient and in the receipts.',
    toLink: (p) => ({ token: (p as { token: string }).token }),
    pagePath: (p) => `/d/${(p as { token: string }).token}`,
    url: (p) => presenter.recipientLink((p as { token: string }).token),
  });

  /** The page, its password form, its files and its ZIP, for one kind of link. */
  function linkRoutes(link: {
    prefix: string;
    params: TObject;
    name: string;
    what: string;
    note: string;
    toLink: (params: unknown) => LinkRef;
    pagePath: (params: unknown) => string;
    url: (params: unknown) => string;
  }) {
    const withFile = Type.Object({ ...link.params.properties, fileId: FileId });
    app.get(link.prefix, {
      config: { auth: { public: true } },
      schema: {
        tags,
        operationId: `get${link.name}LinkPage`,
        summary: `Download page of ${link.what} (HTML)`,
        description:
          `The file list, or a password form while locked. Each visit is a receipt. ${link.note} Errors on link pages and ` +
          'downloads are HTML pages for clients whose Accept prefers text/html.',
        security: [],
        params: link.params,
        produces: ['text/html'],
      },
    }, async (request, reply) => {
      const { visit, view } = await publicView(request, link.toLink(request.params), link.url(request.params));
      // HEAD shows nothing to anyone, so it is no visit.
      if (request.method === 'GET') await services.receipts.pageView(visit);
      return reply.type('text/html; charset=utf-8').headers(PAGE_HEADERS).send(renderTransferPage(link.pagePath(request.params), view));
    });

    // The page's password form posts here (no script needed); success sets the cookie and returns to the page.
    app.post(`${link.prefix}/unlock`, {
      config: { auth: { public: true } },
      bodyLimit: 16 * 1024,
      schema: {
        tags,
        operationId: `unlock${link.name}LinkForm`,
        summary: `Password form of the download page of ${link.what}`,
        description:
          'The HTML form of the page posts `password` here (application/x-www-form-urlencoded). Success sets the same ' +
          'access cookie as the JSON unlock and answers 303 to the page; a wrong password is 401, throttled like the JSON unlock.',
        security: [],
        params: link.params,
        consumes: ['application/x-www-form-urlencoded'],
        body: Unlock,
        response: { 303: Type.Null({ description: 'Unlocked: Location is the download page.' }), ...errorResponses(400, 401, 404, 409, 410, 413) },
      },
    }, async (request, reply) => {
      await unlock(request, reply, link.toLink(request.params), (request.body as { password: string }).password);
      return reply.redirect(link.pagePath(request.params), 303);
    });

    app.route({
      method: ['GET', 'HEAD'],
      url: `${link.prefix}/files/:fileId`,
      config: { auth: { public: true } },
      schema: {
        tags,
        operationId: `download${link.name}LinkFile`,
        summary: `Download one file through ${link.what}`,
        description: link.note,
        security: [],
        params: withFile,
        response: { 200: Binary, 206: Binary, 304: NotModified, 302: Redirect, ...errorResponses(401, 404, 409, 410, 416) },
      },
      handler: async (request, reply) => {
        const { fileId } = request.params as { fileId: string };
        return sendFile(request, reply, services, await downloads.publicFile(link.toLink(request.params), fileId, tokenLookup(request)));
      },
    });

    app.route({
      method: ['GET', 'HEAD'],
      url: `${link.prefix}/download.zip`,
      config: { auth: { public: true } },
      schema: {
        tags,
        operationId: `download${link.name}LinkZip`,
        summary: `Download the whole transfer as one ZIP through ${link.what}`,
        description: link.note,
        security: [],
        params: link.params,
        response: { 200: Binary, 206: Binary, 304: NotModified, ...errorResponses(401, 404, 409, 410, 416) },
      },
      handler: async (request, reply) => sendZip(request, reply, services, await downloads.publicZip(link.toLink(request.params), tokenLookup(request))),
    });
  }
}
