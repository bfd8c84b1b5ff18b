import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';
import { addJsonParser } from '../json-body.ts';
import { fail } from '../../errors.ts';
import { Data, errorResponses, IdParam } from '../schemas.ts';
import { FileDeclarationSchema } from './transfer-routes.ts';
import type { RouteContext } from './index.ts';

const FileRef = Type.Ref('File');
const TransferParams = IdParam('id', 'tr');
const FileParams = IdParam('id', 'fl');

export function fileRoutes(server: FastifyInstance, { services, presenter }: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['files'];

  app.get('/api/v1/transfers/:id/files', {
    config: { auth: { scope: 'files:read' } },
    schema: { tags, summary: 'List the files of a transfer', params: TransferParams, response: { 200: Data(Type.Array(FileRef)), ...errorResponses(401, 403, 404) } },
  }, async (request) => {
    const files = await services.files.list(request.principal!.userId, request.params.id);
    return { data: files.map((f) => presenter.file(f, { signedUrl: true })) };
  });

  app.get('/api/v1/files/:id', {
    config: { auth: { scope: 'files:read' } },
    schema: { tags, summary: 'Get a file', params: FileParams, response: { 200: Data(FileRef), ...errorResponses(401, 403, 404) } },
  }, async (request) => {
    const { file } = await services.files.getOwned(request.principal!.userId, request.params.id);
    return { data: presenter.file(file, { signedUrl: true }) };
  });

  app.delete('/api/v1/files/:id', {
    config: { auth: { scope: 'files:write' } },
    schema: {
      tags,
      summary: 'Remove a file from a transfer that is not finalized',
      params: FileParams,
      response: { 204: Type.Null(), ...errorResponses(401, 403, 404, 409) },
    },
  }, async (request, reply) => {
    await services.files.delete(request.principal!.userId, request.params.id);
    return reply.code(204).send(null);
  });
}

/**
 * POST of a file: a JSON declaration, or a multipart upload of one file. It lives in a child of
 * the upload body scope that parses JSON and recognises multipart, so the multipart upload gets
 * the scope's rules while the declaration is read as JSON.
 */
export async function fileCreationRoutes(server: FastifyInstance, { services, presenter }: RouteContext): Promise<void> {
  addJsonParser(server);
  await server.register(multipart, { limits: { files: 1, fields: 10, fieldSize: 16 * 1024, parts: 12, headerPairs: 100, fileSize: Number.MAX_SAFE_INTEGER } });
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['files'];

  app.post('/api/v1/transfers/:id/files', {
    config: { auth: { scope: 'files:write', uploadToken: true }, streamsBody: (request) => request.isMultipart() },
    schema: {
      tags,
      summary: 'Declare a file, or declare and upload it at once',
      description:
        'application/json {name, size, content_type?} declares a file and answers how to upload it. multipart/form-data with ' +
        'optional text fields size and content_type followed by one file part declares and uploads in one request (the name ' +
        'is the part\'s filename; without size the size is whatever arrives, within the plan). A declared size is reserved: 413 ' +
        'pending_uploads_limit past the account\'s pending-upload cap, 507 storage_full when the disk cannot hold it. ' +
        'Takes the transfer\'s upload token as well as a key. In a transfer opened through a file request, the request\'s caps apply: ' +
        '409 file_request_full, 413 payload_too_large past its max_file_size, 422 file_type_not_allowed, 410 file_request_expired or file_request_deleted.',
      params: TransferParams,
      body: { content: { 'application/json': { schema: FileDeclarationSchema } } } as never,
      response: { 201: Data(FileRef), ...errorResponses(400, 401, 403, 404, 409, 410, 413, 415, 422, 507) },
    },
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const principal = request.principal!;
    if (request.isMultipart()) {
      // preservePath: busboy would otherwise cut "../../etc/passwd" down to "passwd" and accept it;
      // the whole name must reach the name rules so a path is refused (docs/security-checklist.md A1-A3).
      const file = await services.files.receiveMultipart(principal, id, request.parts({ preservePath: true }));
      return reply.code(201).send({ data: presenter.file(file, { signedUrl: principal.via !== 'upload_token' }) });
    }
    // The JSON schema only applies to JSON bodies: anything else (text, urlencoded, no body) is refused here.
    if (!/^application\/json\s*(;|$)/i.test(request.headers['content-type'] ?? '')) {
      throw fail.unsupported_media_type('Declare a file with application/json, or upload one with multipart/form-data.');
    }
    const file = await services.files.declare(principal, id, request.body as { name: string; size: number; content_type?: string });
    return reply.code(201).send({ data: presenter.file(file) });
  });
}
