import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fail } from '../../errors.ts';
import { errorResponses } from '../schemas.ts';
import { DEFAULT_UPLOAD_NAME } from '../../services/single-request-upload-service.ts';
import { strictHeaderInteger, uploadBody } from '../upload-body-scope.ts';
import type { RouteContext } from './index.ts';

const Headers = Type.Object({
  'max-days': Type.Optional(Type.String({ maxLength: 16, description: 'Days until the transfer expires, capped by the plan (422 expiry_too_long); -1 = permanent where the plan allows. Default 7.' })),
  'max-downloads': Type.Optional(Type.String({ maxLength: 16, description: 'How many times the transfer may be downloaded.' })),
});

const Created = {
  description: 'The transfer was created, holding the file, and is ready to share. Its id is in X-Ferry-Transfer-Id.',
  content: {
    'text/plain': { schema: Type.String({ description: 'The public link followed by a newline.' }) },
    'application/json': { schema: Type.Object({ data: Type.Ref('Transfer') }) },
  },
};

const DESCRIPTION =
  'The transfer.sh habit: `curl -T ./report.pdf -H "Authorization: Bearer $KEY" https://ferry.example/` (curl appends the file ' +
  'name, so the request is PUT /report.pdf) creates a transfer titled with the file name, holding that one file, already ' +
  `finalized, and answers its public link as text/plain (or the transfer as JSON with Accept: application/json). PUT / with no name ` +
  `stores the body as "${DEFAULT_UPLOAD_NAME}". The key needs files:write and transfers:write. With Content-Length the size is ` +
  'exact and checked first against the account\'s pending-upload cap (413 pending_uploads_limit) and free space (507); with chunked encoding (curl -T -) the body is read up to the plan\'s ' +
  'transfer size (413 beyond). Optional headers Max-Days and Max-Downloads. Nothing is created unless every byte arrived: a ' +
  'cut-short body answers 400 and leaves no transfer behind. Compressed bodies are 415.';

/** Max-Days: a whole number of days, or -1 for permanent (as expires_days). */
function maxDays(value: string | undefined): number | undefined {
  if (value === '-1') return -1;
  try {
    return strictHeaderInteger(value, 'Max-Days');
  } catch {
    throw fail.validation_failed('Max-Days must be a whole number of days, or -1 for permanent.');
  }
}

const wantsJson = (request: FastifyRequest) => /\bapplication\/(?:[\w.+-]*\+)?json\b/i.test(request.headers.accept ?? '');

/** PUT / and PUT /:name (curl -T), in the raw-body context. */
export function singleRequestRoutes(server: FastifyInstance, { services, presenter, config }: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();

  async function handle(request: FastifyRequest, reply: FastifyReply, name: string | undefined) {
    const h = request.headers as Record<string, string | undefined>;
    const { transfer, files } = await services.singleRequest.upload(request.principal!, {
      name,
      contentType: h['content-type'],
      contentLength: request.uploadContentLength,
      maxDays: maxDays(h['max-days']),
      maxDownloads: strictHeaderInteger(h['max-downloads'], 'Max-Downloads'),
    }, uploadBody(request));
    reply.code(201).header('x-ferry-transfer-id', transfer.id);
    if (wantsJson(request)) return reply.type('application/json; charset=utf-8').send({ data: presenter.transfer(transfer, files, { signedUrls: true }) });
    return reply.type('text/plain; charset=utf-8').send(`${presenter.publicLink(transfer.slug!)}\n`);
  }

  const schema = {
    tags: ['uploads'],
    description: DESCRIPTION,
    headers: Headers,
    response: { 201: Created, ...errorResponses(400, 401, 403, 413, 415, 422, 507) },
  };

  app.put('/', {
    config: { auth: { scope: 'files:write' }, streamsBody: true },
    schema: { ...schema, summary: `Upload one file as a new, ready transfer (curl -T; named ${DEFAULT_UPLOAD_NAME})` },
  }, (request, reply) => handle(request, reply, undefined));

  app.put('/:name', {
    config: { auth: { scope: 'files:write' }, streamsBody: true },
    schema: {
      ...schema,
      summary: 'Upload one file as a new, ready transfer (curl -T)',
      params: Type.Object({ name: Type.String({ description: 'The file name (percent-encoded in the URL); curl -T appends it.' }) }),
    },
  }, (request, reply) => handle(request, reply, (request.params as { name: string }).name));
}
