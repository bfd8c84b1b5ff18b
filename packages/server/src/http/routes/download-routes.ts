import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { errorResponses, IdParam, NotModified } from '../schemas.ts';
import { sendFile, sendZip } from '../send-download.ts';
import type { RouteContext } from './index.ts';

const Binary = Type.String({ format: 'binary', description: 'The file bytes (200 whole, 206 one range).' });
const Redirect = Type.Null({ description: 'With S3 storage and FERRY_S3_REDIRECT_DOWNLOADS on: Location is a presigned S3 GET valid 60 s; send the same Range there.' });

export function downloadRoutes(server: FastifyInstance, { services }: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['downloads'];

  app.route({
    method: ['GET', 'HEAD'],
    url: '/api/v1/files/:id/download',
    config: { auth: { scope: 'files:read', signedUrl: true } },
    schema: {
      tags,
      summary: 'Download a file (owner key, or a signed URL without credentials)',
      description:
        'One Range (206, 416 past the end), If-Range, ETag (SHA-256) with If-None-Match (304, not counted), Last-Modified. Signed URLs (from GET transfer) carry ' +
        'expires and signature and die with the transfer. Served as an attachment with nosniff and a sandbox CSP. With S3 ' +
        'storage and FERRY_S3_REDIRECT_DOWNLOADS on, a GET answers 302 to a presigned S3 GET (60 s) that carries the same ' +
        'headers; it counts as a download like the range asked for. HEAD is always answered by Ferry.',
      params: IdParam('id', 'fl'),
      querystring: Type.Object({ expires: Type.Optional(Type.String({ maxLength: 20 })), signature: Type.Optional(Type.String({ maxLength: 100 })) }),
      response: { 200: Binary, 206: Binary, 304: NotModified, 302: Redirect, ...errorResponses(401, 403, 404, 409, 410, 416) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as { id: string };
      const { expires, signature } = request.query as { expires?: string; signature?: string };
      const target = request.principal
        ? await services.downloads.ownerFile(request.principal.userId, id)
        : await services.downloads.signedFile(id, expires ?? '', signature ?? '');
      return sendFile(request, reply, services, target);
    },
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: '/api/v1/transfers/:id/download.zip',
    config: { auth: { scope: 'files:read' } },
    schema: {
      tags,
      summary: 'Download every complete file of a transfer as one ZIP',
      description: 'Stored (uncompressed) ZIP64, streamed, Content-Length known up front, one Range supported to resume; If-None-Match with the ETag answers 304.',
      params: IdParam('id', 'tr'),
      response: { 200: Binary, 206: Binary, 304: NotModified, ...errorResponses(401, 403, 404, 410, 416) },
    },
    handler: async (request, reply) => {
      const { id } = request.params as { id: string };
      return sendZip(request, reply, services, await services.downloads.ownerZip(request.principal!.userId, id));
    },
  });
}
