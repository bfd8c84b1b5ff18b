import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Data, DateTime, errorResponses, NotModified, Nullable } from '../schemas.ts';
import { sendFile, sendZip } from '../send-download.ts';
import { PAGE_HEADERS, renderTransferPage } from '../transfer-page.ts';
import type { RouteContext } from './index.ts';

export const accessCookieName = (transferId: string) => `ferry_access_${transferId}`;

/** Access token from the X-Ferry-Access-Token header or the cookie set by unlock. */
const tokenLookup = (request: FastifyRequest) => (transferId: string) => {
  const header = request.headers['x-ferry-access-token'];
  return typeof header === 'string' ? header : request.cookies[accessCookieName(transferId)];
};

const Slug = Type.Object({ slug: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$' }) });
const SlugFile = Type.Object({ slug: Slug.properties.slug, fileId: Type.String({ pattern: '^fl_[0-9a-zA-Z]{22}$' }) });
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

  async function publicView(request: FastifyRequest, slug: string) {
    const transfer = await downloads.publicTransfer(slug);
    let locked = false;
    try {
      downloads.assertUnlocked(transfer, tokenLookup(request)(transfer.id));
    } catch {
      locked = true;
    }
    const head = { title: transfer.title, expires_at: transfer.expires_at, password_protected: transfer.password_hash !== null, locked };
    // A locked link shows what its password form needs, nothing the password protects.
    if (locked) return head;
    const base = presenter.publicLink(slug);
    const files = await downloads.listedFiles(transfer);
    return {
      ...head,
      message: transfer.message,
      size: transfer.size,
      file_count: transfer.file_count,
      zip_url: `${base}/download.zip`,
      files: files.map((f) => ({ id: f.id, name: f.name, size: f.size, content_type: f.content_type, sha256: f.sha256, url: `${base}/files/${f.id}` })),
    };
  }

  /** Both unlock routes: the token also goes into the cookie every download path reads. */
  async function unlock(request: FastifyRequest, reply: FastifyReply, slug: string, password: string) {
    const { transferId, token, expiresAt } = await services.unlock.unlock(slug, password, request.ip);
    void reply.setCookie(accessCookieName(transferId), token, { httpOnly: true, sameSite: 'lax', secure: config.cookieSecure, path: '/', expires: expiresAt });
    return { token, expiresAt };
  }

  app.get('/api/v1/public/transfers/:slug', {
    config: { auth: { public: true } },
    schema: { tags, summary: 'A shared transfer as recipients see it', description: '409 transfer_not_ready until the sender finalizes it.', security: [], params: Slug, response: { 200: Data(PublicTransfer), ...errorResponses(404, 409, 410) } },
  }, async (request) => ({ data: await publicView(request, request.params.slug) }));

  app.post('/api/v1/public/transfers/:slug/unlock', {
    config: { auth: { public: true } },
    bodyLimit: 16 * 1024,
    schema: {
      tags,
      summary: 'Trade a link password for a short-lived access token',
      description: 'Also sets it as a cookie. Send it back as X-Ferry-Access-Token (or the cookie) on every download path. Guesses are throttled per link and per address.',
      security: [],
      params: Slug,
      body: Type.Object(Unlock.properties, { additionalProperties: false }),
      response: { 200: Data(Type.Object({ access_token: Type.String(), expires_at: DateTime })), ...errorResponses(400, 401, 404, 409, 410, 413) },
    },
  }, async (request, reply) => {
    const { token, expiresAt } = await unlock(request, reply, request.params.slug, request.body.password);
    return { data: { access_token: token, expires_at: expiresAt.toISOString() } };
  });

  app.get('/t/:slug', {
    config: { auth: { public: true } },
    schema: {
      tags,
      summary: 'Download page (HTML)',
      description: 'The file list, or a password form while locked. Errors on /t/ paths and downloads are HTML pages for clients whose Accept prefers text/html.',
      security: [],
      params: Slug,
      produces: ['text/html'],
    },
  }, async (request, reply) => {
    const { slug } = request.params;
    const view = await publicView(request, slug);
    return reply.type('text/html; charset=utf-8').headers(PAGE_HEADERS).send(renderTransferPage(slug, view));
  });

  // The page's password form posts here (no script needed); success sets the cookie and returns to the page.
  app.post('/t/:slug/unlock', {
    config: { auth: { public: true } },
    bodyLimit: 16 * 1024,
    schema: {
      tags,
      summary: 'Password form of the download page',
      description:
        'The HTML form behind GET /t/{slug} posts `password` here (application/x-www-form-urlencoded). Success sets the same ' +
        'access cookie as the JSON unlock and answers 303 to the page; a wrong password is 401, throttled like the JSON unlock.',
      security: [],
      params: Slug,
      consumes: ['application/x-www-form-urlencoded'],
      body: Unlock,
      response: { 303: Type.Null({ description: 'Unlocked: Location is the download page.' }), ...errorResponses(400, 401, 404, 409, 410, 413) },
    },
  }, async (request, reply) => {
    const { slug } = request.params;
    await unlock(request, reply, slug, request.body.password);
    return reply.redirect(`/t/${encodeURIComponent(slug)}`, 303);
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: '/t/:slug/files/:fileId',
    config: { auth: { public: true } },
    schema: { tags, summary: 'Download one file of a shared transfer', security: [], params: SlugFile, response: { 200: Binary, 206: Binary, 304: NotModified, 302: Redirect, ...errorResponses(401, 404, 409, 410, 416) } },
    handler: async (request, reply) => {
      const { slug, fileId } = request.params as { slug: string; fileId: string };
      return sendFile(request, reply, downloads, await downloads.publicFile(slug, fileId, tokenLookup(request)));
    },
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: '/t/:slug/download.zip',
    config: { auth: { public: true } },
    schema: { tags, summary: 'Download a shared transfer as one ZIP', security: [], params: Slug, response: { 200: Binary, 206: Binary, 304: NotModified, ...errorResponses(401, 404, 409, 410, 416) } },
    handler: async (request, reply) => {
      const { slug } = request.params as { slug: string };
      return sendZip(request, reply, downloads, await downloads.publicZip(slug, tokenLookup(request)));
    },
  });
}
