import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { MAX_MESSAGE_LENGTH, MAX_TITLE_LENGTH, RECIPIENTS_CEILING } from '../../domain/transfer-rules.ts';
import { Data, DateTime, errorResponses, IdParam, Nullable, Page, PageQuery, Passwords } from '../schemas.ts';
import type { RouteContext } from './index.ts';

const TransferRef = Type.Ref('Transfer');
const Params = IdParam('id', 'tr');

export const FileDeclarationSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 1024 }),
  size: Type.Integer({ minimum: 0 }),
  content_type: Type.Optional(Type.String({ maxLength: 255 })),
}, { additionalProperties: false });

const editable = {
  message: Type.Optional(Nullable(Type.String({ maxLength: MAX_MESSAGE_LENGTH }))),
  recipients: Type.Optional(Type.Array(Type.String({ maxLength: 320 }), {
    maxItems: RECIPIENTS_CEILING,
    description: 'Plain addresses; each gets a link of its own (see /recipients). On PATCH the list replaces the set: new addresses are added, missing ones removed (their links die).',
  })),
  expires_days: Type.Optional(Type.Integer({ minimum: -1, description: 'Days until expiry, capped by the plan; -1 = permanent where the plan allows.' })),
  expires_at: Type.Optional(DateTime),
  password: Type.Optional(Nullable(Passwords.link)),
  slug: Type.Optional(Type.String({
    maxLength: 64,
    description:
      'Custom URL /t/{slug}: 3-64 letters, digits, "-" and "_", starting with a letter or digit. One link whatever its letter case: ' +
      'a slug another transfer holds in any case is 409 slug_taken, and the link opens in any case. A purged transfer\'s slug stays ' +
      'reserved for its owner for 30 days.',
  })),
  max_downloads: Type.Optional(Nullable(Type.Integer({ minimum: 1 }))),
  confirmation: Type.Optional(Type.Boolean({ description: 'Email the sender when the transfer is ready (default false).' })),
  notify: Type.Optional(Type.Boolean({ description: 'Email the sender at the first download (naming the recipient when known), then a summary after the second; no more after that (default false).' })),
  reminders: Type.Optional(Type.Boolean({ description: 'Remind recipients who have not downloaded one day before expiry (default true).' })),
  public_link: Type.Optional(Type.Boolean({ description: 'false turns the shared link /t/{slug} off (404); recipients\' own /d/ links keep working. Default true.' })),
};

const CreateBody = Type.Object({
  title: Type.String({ minLength: 1, maxLength: MAX_TITLE_LENGTH }),
  ...editable,
  files: Type.Optional(Type.Array(FileDeclarationSchema, { maxItems: 100_000 })),
}, { additionalProperties: false });

const UpdateBody = Type.Object({ title: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_TITLE_LENGTH })), ...editable }, { additionalProperties: false });

const ListQuery = Type.Object({
  ...PageQuery,
  sort: Type.Optional(Type.String({ enum: ['created_at', 'expires_at', 'title', 'size', '-created_at', '-expires_at', '-title', '-size'], default: '-created_at' })),
  order: Type.Optional(Type.String({ enum: ['asc', 'desc'] })),
  state: Type.Optional(Type.String({ enum: ['uploading', 'ready', 'expired'] })),
  q: Type.Optional(Type.String({ maxLength: 200, description: 'Text to find in the title' })),
}, { additionalProperties: false });

export function transferRoutes(server: FastifyInstance, { services, presenter }: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['transfers'];

  app.post('/api/v1/transfers', {
    config: { auth: { scope: 'transfers:write' } },
    bodyLimit: 8 * 1024 * 1024,
    schema: {
      tags,
      summary: 'Create a transfer',
      description:
        'Optionally declares files; each comes back with how to upload it. Expiry defaults to 7 days, capped by the plan (422 expiry_too_long). ' +
        'Declared sizes are reserved until uploaded (or FERRY_UPLOAD_EXPIRY passes): 413 pending_uploads_limit past the account\'s pending-upload cap, ' +
        '507 storage_full when the disk cannot hold them.',
      body: CreateBody,
      response: { 201: Data(TransferRef), ...errorResponses(400, 401, 403, 409, 413, 422, 507) },
    },
  }, async (request, reply) => {
    const { transfer, files, uploadToken } = await services.transfers.create(request.principal!, request.body);
    return reply.code(201).send({ data: presenter.transfer(transfer, files, { uploadToken }) });
  });

  app.post('/api/v1/transfers/:id/upload-token', {
    config: { auth: { scope: 'transfers:write' } },
    schema: {
      tags,
      summary: 'Rotate the upload token',
      description: 'Issues a new upload token for the transfer; the old one stops working at once. The token is shown only here.',
      params: Params,
      response: { 200: Data(Type.Object({ upload_token: Type.String() })), ...errorResponses(401, 403, 404) },
    },
  }, async (request) => {
    const transfer = await services.transfers.requireOwned(request.principal!.userId, request.params.id);
    return { data: { upload_token: await services.uploadTokens.rotate(transfer.id) } };
  });

  app.get('/api/v1/transfers', {
    config: { auth: { scope: 'transfers:read' } },
    schema: {
      tags,
      summary: 'List transfers',
      description: 'sort is a field name, optionally prefixed with "-" for descending (or use order=asc|desc). Deleted transfers are not listed.',
      querystring: ListQuery,
      response: { 200: Page(TransferRef), ...errorResponses(400, 401, 403) },
    },
  }, async (request) => {
    const { limit = 20, offset = 0, sort = '-created_at', order, state, q } = request.query;
    const field = sort.replace(/^-/, '') as 'created_at' | 'expires_at' | 'title' | 'size';
    const direction = (order ?? (sort.startsWith('-') ? 'desc' : 'asc')) as 'asc' | 'desc';
    const { rows, total } = await services.transfers.list({
      userId: request.principal!.userId,
      limit,
      offset,
      sort: field,
      order: direction,
      state: state as 'uploading' | 'ready' | 'expired' | undefined,
      q,
    });
    return { data: rows.map((t) => presenter.transfer(t, [])), pagination: { limit, offset, total } };
  });

  app.get('/api/v1/transfers/:id', {
    config: { auth: { scope: 'transfers:read' } },
    schema: {
      tags,
      summary: 'Get a transfer with its files and signed download URLs',
      params: Params,
      response: { 200: Data(TransferRef), ...errorResponses(401, 403, 404) },
    },
  }, async (request) => {
    const { transfer, files } = await services.transfers.get(request.principal!.userId, request.params.id);
    return { data: presenter.transfer(transfer, files, { signedUrls: true }) };
  });

  for (const method of ['PATCH', 'PUT'] as const) {
    app.route({
      method,
      url: '/api/v1/transfers/:id',
      config: { auth: { scope: 'transfers:write' } },
      schema: {
        tags,
        summary: method === 'PATCH' ? 'Update a transfer' : 'Update a transfer (same as PATCH)',
        description: 'Fields left out stay as they are. Expiry is capped by the plan.',
        params: Params,
        body: UpdateBody,
        response: { 200: Data(TransferRef), ...errorResponses(400, 401, 403, 404, 409, 413, 422) },
      },
      handler: async (request) => {
        const { transfer, files } = await services.transfers.update(request.principal!, (request.params as { id: string }).id, request.body as never);
        return { data: presenter.transfer(transfer, files) };
      },
    });
  }

  app.delete('/api/v1/transfers/:id', {
    config: { auth: { scope: 'transfers:write' } },
    schema: {
      tags,
      summary: 'Delete a transfer',
      description: 'Soft delete: it leaves lists at once, its links answer 410, and its files are purged after FERRY_PURGE_GRACE.',
      params: Params,
      response: { 204: Type.Null(), ...errorResponses(401, 403, 404) },
    },
  }, async (request, reply) => {
    await services.transfers.delete(request.principal!.userId, request.params.id);
    return reply.code(204).send(null);
  });

  for (const method of ['POST', 'PUT'] as const) {
    app.route({
      method,
      url: '/api/v1/transfers/:id/finalize',
      config: { auth: { scope: 'transfers:write', uploadToken: true } },
      schema: {
        tags,
        summary: 'Finalize a transfer',
        description:
          'Requires every declared file complete (409 files_incomplete otherwise). Idempotent. Locks the transfer: its files can no longer change. ' +
          'Takes the transfer\'s upload token as well as a key; the token\'s answer leaves out the link and download URLs.',
        params: Params,
        response: { 200: Data(TransferRef), ...errorResponses(401, 403, 404, 409) },
      },
      handler: async (request) => {
        const { id } = request.params as { id: string };
        const principal = request.principal!;
        const { transfer, files } = await services.transfers.finalize(principal, id);
        return { data: presenter.transfer(transfer, files, principal.via === 'upload_token' ? { uploader: true } : { signedUrls: true }) };
      },
    });
  }
}

