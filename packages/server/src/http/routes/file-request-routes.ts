import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { MAX_MESSAGE_LENGTH, MAX_TITLE_LENGTH } from '../../domain/transfer-rules.ts';
import { MAX_ALLOWED_TYPES, MAX_UPLOADER_NAME_LENGTH } from '../../domain/file-request-rules.ts';
import { MAX_REQUEST_FILES } from '../../services/file-request-input.ts';
import type { FileRequestDetail } from '../../services/file-request-service.ts';
import { Data, DateTime, errorResponses, IdParam, Nullable, Page, PageQuery, Passwords } from '../schemas.ts';
import { renderFileRequestPage } from '../file-request-page.ts';
import { PAGE_HEADERS } from '../transfer-page.ts';
import type { RouteContext } from './index.ts';

const RequestRef = Type.Ref('FileRequest');
const Params = IdParam('id', 'frq');
const TokenParams = Type.Object({ token: Type.String({ pattern: '^[0-9A-Za-z]{32}$', description: 'The token of the request\'s link /r/{token}' }) });
const Size = Type.Integer({ minimum: 1 });

const editable = {
  message: Type.Optional(Nullable(Type.String({ maxLength: MAX_MESSAGE_LENGTH, description: 'Shown to uploaders on the request\'s page.' }))),
  expires_at: Type.Optional(Nullable(Type.String({ format: 'date-time', description: 'After it the link takes no uploads (410); null = until deleted.' }))),
  max_files: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: MAX_REQUEST_FILES, description: 'Files across every uploader together.' }))),
  max_bytes: Type.Optional(Nullable({ ...Size, description: 'Declared bytes across every uploader together.' })),
  max_file_size: Type.Optional(Nullable({ ...Size, description: 'Bytes of one file.' })),
  allowed_types: Type.Optional(
    Nullable(
      Type.Array(Type.String({ maxLength: 255 }), {
        maxItems: MAX_ALLOWED_TYPES,
        description:
          'MIME types ("application/pdf"), ranges ("image/*") and extensions (".pdf"); a file passes when its declared content type ' +
          'matches a MIME entry or its name ends with an extension entry. Empty or null: any type. Ferry does not look inside files.',
      }),
    ),
  ),
  password: Type.Optional(Nullable({ ...Passwords.link, description: 'Uploaders must send it to open a transfer; null removes it.' })),
  require_name: Type.Optional(Type.Boolean({ description: 'Uploaders must give their name (default false).' })),
  require_email: Type.Optional(Type.Boolean({ description: 'Uploaders must give their email address (default false).' })),
  notify: Type.Optional(Type.Boolean({ description: 'Tell the requester when files arrive (default true).' })),
};

const CreateBody = Type.Object({ title: Type.String({ minLength: 1, maxLength: MAX_TITLE_LENGTH }), ...editable }, { additionalProperties: false });
const UpdateBody = Type.Object({ title: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_TITLE_LENGTH })), ...editable }, { additionalProperties: false });

const ListQuery = Type.Object({
  ...PageQuery,
  sort: Type.Optional(Type.String({ enum: ['created_at', 'expires_at', 'title', '-created_at', '-expires_at', '-title'], default: '-created_at' })),
}, { additionalProperties: false });

const TransfersQuery = Type.Object({
  ...PageQuery,
  sort: Type.Optional(Type.String({ enum: ['created_at', 'size', '-created_at', '-size'], default: '-created_at' })),
  state: Type.Optional(Type.String({ enum: ['uploading', 'ready', 'expired'] })),
}, { additionalProperties: false });

const UploaderBody = Type.Object({
  name: Type.Optional(Nullable(Type.String({ maxLength: MAX_UPLOADER_NAME_LENGTH, description: 'Required when the request has require_name.' }))),
  email: Type.Optional(Nullable(Type.String({ maxLength: 320, description: 'Required when the request has require_email.' }))),
  message: Type.Optional(Nullable(Type.String({ maxLength: MAX_MESSAGE_LENGTH }))),
  password: Type.Optional(Type.String({ maxLength: 4096, description: 'The request\'s password, when it has one.' })),
}, { additionalProperties: false });

const OpenedUpload = Type.Object({
  transfer_id: Type.String(),
  upload_token: Type.String({ description: 'fyu_...: the only credential the uploader needs, for this one transfer. Shown once.' }),
  expires_at: Nullable({ ...DateTime, description: 'When the new transfer expires (the plan\'s default); upload and finalize before then.' }),
  upload: Type.Object(
    {
      files_url: Type.String({ description: 'POST {name, size, content_type?} here, then PUT the bytes to the answer\'s upload.url; or POST multipart/form-data with the file.' }),
      tus_url: Type.String({ description: 'tus 1.0 endpoint; Upload-Metadata carries transfer_id and filename.' }),
      finalize_url: Type.String({ description: 'POST here when every file is uploaded.' }),
      authorization: Type.String({ description: 'The header every upload request sends.' }),
    },
    { description: 'Where the ordinary upload routes are, with the upload token as credential.' },
  ),
});

export const PublicFileRequest = Type.Object({
  title: Type.String(),
  message: Nullable(Type.String()),
  expires_at: Nullable(DateTime),
  state: Type.Union([Type.Literal('open'), Type.Literal('full')]),
  max_files: Nullable(Type.Integer()),
  max_bytes: Nullable(Type.Integer()),
  max_file_size: Nullable(Type.Integer()),
  allowed_types: Type.Array(Type.String()),
  files_left: Nullable(Type.Integer({ description: 'Files the request still takes; null = no cap.' })),
  bytes_left: Nullable(Type.Integer({ description: 'Bytes the request still takes; null = no cap.' })),
  password_protected: Type.Boolean(),
  require_name: Type.Boolean(),
  require_email: Type.Boolean(),
});

/** What anyone holding the link may know about the request (never who made it or what came in). */
export function publicFileRequest({ request, usage }: FileRequestDetail) {
  const filesLeft = request.max_files === null ? null : Math.max(0, request.max_files - usage.files);
  const bytesLeft = request.max_bytes === null ? null : Math.max(0, request.max_bytes - usage.bytes);
  return {
    title: request.title,
    message: request.message,
    expires_at: request.expires_at,
    state: filesLeft === 0 || bytesLeft === 0 ? ('full' as const) : ('open' as const),
    max_files: request.max_files,
    max_bytes: request.max_bytes,
    max_file_size: request.max_file_size,
    allowed_types: request.allowed_types === null ? [] : (JSON.parse(request.allowed_types) as string[]),
    files_left: filesLeft,
    bytes_left: bytesLeft,
    password_protected: request.password_hash !== null,
    require_name: request.require_name === 1,
    require_email: request.require_email === 1,
  };
}

export function fileRequestRoutes(server: FastifyInstance, { services, presenter, config }: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['file-requests'];
  const view = (detail: FileRequestDetail) => presenter.fileRequest(detail.request, detail.usage, { token: detail.token });

  app.post('/api/v1/file-requests', {
    config: { auth: { scope: 'requests:write' } },
    schema: {
      tags,
      summary: 'Create a file request',
      description:
        'Answers the request with its link `url` (/r/{token}) this once: only a hash of the token is stored. Anyone with the link opens ' +
        'transfers owned by you and uploads into them, within the caps, which count every upload of every uploader together.',
      body: CreateBody,
      response: { 201: Data(RequestRef), ...errorResponses(400, 401, 403, 413) },
    },
  }, async (request, reply) => reply.code(201).send({ data: view(await services.fileRequests.create(request.principal!.userId, request.body)) }));

  app.get('/api/v1/file-requests', {
    config: { auth: { scope: 'requests:read' } },
    schema: { tags, summary: 'List file requests', description: 'Deleted requests are not listed; `url` is null (see creation).', querystring: ListQuery, response: { 200: Page(RequestRef), ...errorResponses(400, 401, 403) } },
  }, async (request) => {
    const { limit = 20, offset = 0, sort = '-created_at' } = request.query;
    const { rows, total } = await services.fileRequests.list({
      userId: request.principal!.userId,
      limit,
      offset,
      sort: sort.replace(/^-/, '') as 'created_at' | 'expires_at' | 'title',
      order: sort.startsWith('-') ? 'desc' : 'asc',
    });
    return { data: rows.map(view), pagination: { limit, offset, total } };
  });

  app.get('/api/v1/file-requests/:id', {
    config: { auth: { scope: 'requests:read' } },
    schema: { tags, summary: 'Get a file request with what it has received', params: Params, response: { 200: Data(RequestRef), ...errorResponses(401, 403, 404) } },
  }, async (request) => ({ data: view(await services.fileRequests.get(request.principal!.userId, request.params.id)) }));

  app.patch('/api/v1/file-requests/:id', {
    config: { auth: { scope: 'requests:write' } },
    schema: {
      tags,
      summary: 'Update a file request',
      description: 'Fields left out stay as they are; null clears. Caps may go below what was received: the request is then full, and keeps every file.',
      params: Params,
      body: UpdateBody,
      response: { 200: Data(RequestRef), ...errorResponses(400, 401, 403, 404, 413) },
    },
  }, async (request) => ({ data: view(await services.fileRequests.update(request.principal!.userId, request.params.id, request.body)) }));

  app.delete('/api/v1/file-requests/:id', {
    config: { auth: { scope: 'requests:write' } },
    schema: {
      tags,
      summary: 'Delete a file request',
      description: 'Its link answers 410 and uploads into its transfers stop (410 file_request_deleted); the transfers received stay yours.',
      params: Params,
      response: { 204: Type.Null(), ...errorResponses(401, 403, 404) },
    },
  }, async (request, reply) => {
    await services.fileRequests.delete(request.principal!.userId, request.params.id);
    return reply.code(204).send(null);
  });

  app.post('/api/v1/file-requests/:id/link', {
    config: { auth: { scope: 'requests:write' } },
    schema: {
      tags,
      summary: 'Replace the link of a file request',
      description: 'A new /r/{token} link, in `url` of this answer only; the old link stops working at once (404). Transfers already opened keep their upload tokens.',
      params: Params,
      response: { 200: Data(RequestRef), ...errorResponses(401, 403, 404) },
    },
  }, async (request) => ({ data: view(await services.fileRequests.replaceLink(request.principal!.userId, request.params.id)) }));

  app.get('/api/v1/file-requests/:id/transfers', {
    config: { auth: { scope: 'requests:read' } },
    schema: {
      tags,
      summary: 'List the transfers received through a file request',
      description: 'Ordinary transfers of yours (GET /api/v1/transfers lists them too), each with `file_request_id` and `uploader`.',
      params: Params,
      querystring: TransfersQuery,
      response: { 200: Page(Type.Ref('Transfer')), ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => {
    const { limit = 20, offset = 0, sort = '-created_at', state } = request.query;
    const { rows, total } = await services.fileRequests.transfersOf(request.principal!.userId, request.params.id, {
      limit,
      offset,
      sort: sort.replace(/^-/, '') as 'created_at' | 'size',
      order: sort.startsWith('-') ? 'desc' : 'asc',
      state: state as 'uploading' | 'ready' | 'expired' | undefined,
    });
    return { data: rows.map((t) => presenter.transfer(t, [])), pagination: { limit, offset, total } };
  });

  app.get('/api/v1/public/file-requests/:token', {
    config: { auth: { public: true } },
    schema: {
      tags,
      summary: 'A file request as its uploaders see it',
      description: '404 for an unknown link, 410 file_request_expired or file_request_deleted once it ended.',
      security: [],
      params: TokenParams,
      response: { 200: Data(PublicFileRequest), ...errorResponses(404, 410) },
    },
  }, async (request) => ({ data: publicFileRequest(await services.fileRequests.publicView(request.params.token)) }));

  app.post('/api/v1/file-requests/:token/transfers', {
    config: { auth: { public: true } },
    bodyLimit: 64 * 1024,
    schema: {
      tags,
      summary: 'Open a transfer to upload into a file request (no account needed)',
      description:
        'The link\'s token is the credential. Answers a new transfer (owned by the requester) and its upload token `fyu_...`; upload with ' +
        'the ordinary routes and `Authorization: Bearer <upload_token>`: POST .../files with {name, size} then PUT the bytes, a multipart ' +
        'POST, tus with transfer_id in Upload-Metadata, chunks or signed parts; then POST .../finalize. The token grants nothing else. ' +
        '400 when name or email is required and missing; 401 password_required or invalid_password (guesses throttled, 429); ' +
        '409 file_request_full; 410 file_request_expired or file_request_deleted; 404 for an unknown link.',
      security: [],
      params: TokenParams,
      body: UploaderBody,
      response: { 201: Data(OpenedUpload), ...errorResponses(400, 401, 404, 409, 410, 413) },
    },
  }, async (request, reply) => {
    const { transfer, uploadToken } = await services.fileRequests.openUpload(request.params.token, request.body, request.ip);
    const base = `${config.publicUrl}/api/v1`;
    return reply.code(201).send({
      data: {
        transfer_id: transfer.id,
        upload_token: uploadToken,
        expires_at: transfer.expires_at,
        upload: {
          files_url: `${base}/transfers/${transfer.id}/files`,
          tus_url: `${base}/uploads`,
          finalize_url: `${base}/transfers/${transfer.id}/finalize`,
          authorization: `Bearer ${uploadToken}`,
        },
      },
    });
  });
}

/** The link's HTML page; lives in the scope whose errors are pages for browsers (error-pages.ts). */
export function fileRequestPageRoutes(server: FastifyInstance, { services, config }: RouteContext): void {
  server.withTypeProvider<TypeBoxTypeProvider>().get('/r/:token', {
    config: { auth: { public: true } },
    schema: {
      tags: ['file-requests'],
      summary: 'File request page (HTML)',
      description: 'What the request asks for and how to upload with curl. An unknown link is 404, an ended one 410 (an HTML page for browsers).',
      security: [],
      params: TokenParams,
      produces: ['text/html'],
      response: { 200: Type.String({ description: 'The page.' }), ...errorResponses(404, 410) },
    },
  }, async (request, reply) => {
    const view = publicFileRequest(await services.fileRequests.publicView(request.params.token));
    return reply.type('text/html; charset=utf-8').headers(PAGE_HEADERS).send(renderFileRequestPage(request.params.token, view, config.publicUrl));
  });
}
