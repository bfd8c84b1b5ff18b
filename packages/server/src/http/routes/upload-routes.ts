import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Data, errorResponses } from '../schemas.ts';
import type { RouteContext } from './index.ts';

/** PUT of a declared file's bytes; lives in the upload body scope, which parses no body. */
export function uploadRoutes(server: FastifyInstance, { services, presenter }: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();

  app.put('/api/v1/transfers/:id/files/:fileId/content', {
    config: { auth: { scope: 'files:write', uploadToken: true }, streamsBody: true },
    schema: {
      tags: ['files'],
      summary: 'Upload a declared file in one request',
      description:
        'The raw bytes are the body (any Content-Type). The body must be exactly the declared size: more stops reading and ' +
        'answers 413, less answers 400 size_mismatch; in both cases the file stays pending and nothing is served. ' +
        'Takes the transfer\'s upload token (Bearer fyu_..., X-Upload-Token or X-Token) as well as a key.',
      params: Type.Object({
        id: Type.String({ pattern: '^tr_[0-9a-zA-Z]{22}$' }),
        fileId: Type.String({ pattern: '^fl_[0-9a-zA-Z]{22}$' }),
      }),
      response: { 200: Data(Type.Ref('File')), ...errorResponses(400, 401, 403, 404, 409, 410, 413, 415, 507) },
    },
  }, async (request) => {
    const { id, fileId } = request.params as { id: string; fileId: string };
    const principal = request.principal!;
    const file = await services.files.receiveContent(principal, id, fileId, request.raw, request.uploadContentLength);
    // An upload token uploads; it never gets a way to download (no signed URL).
    return { data: presenter.file(file, { signedUrl: principal.via !== 'upload_token' }) };
  });
}
