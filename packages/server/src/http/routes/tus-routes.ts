import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fail, type AppError } from '../../errors.ts';
import { errorResponses } from '../schemas.ts';
import { TUS_PATH, uploadUrl } from '../../tus/tus-request.ts';
import { UPLOAD_ID } from '../../tus/tus-store.ts';
import type { Concat, FinishedUpload, SendToTus } from '../../tus/tus-service.ts';
import { TUS_CHECKSUM_ALGORITHMS } from '../content-digests.ts';
import { checkCreation, checkMetadata, checkPatch, checkTusVersion, finalUploadIds, TUS_EXTENSIONS, TUS_VERSION } from '../tus-request-checks.ts';
import type { RouteContext } from './index.ts';

const WRITE = { scope: 'files:write', uploadToken: true } as const;
const empty = (description: string) => ({ type: 'null', description });
const DOC = 'tus 1.0 (core, creation, creation-with-upload, creation-defer-length, termination, expiration, checksum, concatenation). ' +
  'Credentials: an API key with files:write, or the transfer\'s upload token (X-Token, X-Upload-Token or Bearer fyu_...). ' +
  'Upload-Metadata carries transfer_id and either file_id (a declared file) or filename and filetype (a new file; relativePath keeps its folders).';

/** Upload-Concat as tus states it: `partial`, or `final;` and the paths of the partial uploads. */
const concatHeader = (concat: Concat): string =>
  concat.kind === 'partial' ? 'partial' : `final;${concat.partials.map((id) => `${TUS_PATH}/${id}`).join(' ')}`;

/** tus's checksum extension answers a chunk that fails its Upload-Checksum with 460. */
const inTusTerms = (error: AppError): AppError => (error.code === 'checksum_mismatch' ? error.withStatus(460) : error);

/**
 * The tus endpoint: Fastify authenticates and checks the headers, the tus service decides, and
 * what @tus/server answers for it is relayed, errors in Ferry's envelope. This context parses
 * no body: PATCH bytes stream from the socket to the store.
 */
export function tusRoutes(server: FastifyInstance, { services, config, tusServer }: RouteContext): void {
  const { tus } = services;

  /**
   * Runs @tus/server on this request; its headers go on the reply (`headers` and Upload-Concat
   * replace them). A refusal is answered in tus's terms.
   */
  const relay = (request: FastifyRequest, reply: FastifyReply, headers: Record<string, string> = {}): SendToTus => async (call, concat) => {
    const { response, refusal } = await tusServer.handle(call, request.raw, reply.raw);
    response.headers.forEach((value, name) => {
      if (name !== 'content-length' && name !== 'content-type') reply.header(name, value);
    });
    reply.headers(headers);
    if (concat) reply.header('upload-concat', concatHeader(concat));
    if (refusal) throw inTusTerms(refusal);
    reply.code(response.status);
  };

  /** A finished upload, answered by Ferry: its offset is its length. */
  const finished = (reply: FastifyReply, upload: FinishedUpload, status: number) => {
    if (upload.concat) reply.header('upload-concat', concatHeader(upload.concat));
    return reply.code(status).header('tus-resumable', TUS_VERSION).header('upload-offset', String(upload.size));
  };

  const uploadId = (request: FastifyRequest): string => {
    const { id } = request.params as { id: string };
    if (!UPLOAD_ID.test(id)) throw fail.not_found('Upload not found.');
    return id;
  };

  for (const url of [TUS_PATH, `${TUS_PATH}/:id`]) {
    server.options(url, { config: { auth: { public: true } }, schema: { tags: ['uploads'], summary: 'tus discovery and CORS preflight', description: DOC, response: { 204: empty('Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm, and CORS headers for FERRY_CORS_ORIGINS.'), ...errorResponses() } } }, async (request, reply) => {
      // The library announces its store's extensions (with its misspelt 'concatentation'): Ferry's list replaces them.
      await tus.discover(relay(request, reply, { 'tus-extension': TUS_EXTENSIONS, 'tus-checksum-algorithm': TUS_CHECKSUM_ALGORITHMS.join(',') }));
      return reply.send();
    });
  }

  server.post(TUS_PATH, {
    // A final concatenation has no body: it assembles uploads already stored.
    config: { auth: WRITE, streamsBody: (request) => !/^\s*final\s*;/i.test(String(request.headers['upload-concat'] ?? '')) },
    schema: { tags: ['uploads'], summary: 'Create a tus upload', description: DOC, response: { 201: empty('Location of the new upload (Upload-Offset with creation-with-upload; X-Ferry-File-Id once finished).'), ...errorResponses(400, 401, 403, 404, 409, 412, 413, 415, 423, 460, 507) } },
  }, async (request, reply) => {
    checkTusVersion(request);
    const creation = checkCreation(request, config.uploads.tusMaxSizeBytes);
    const metadata = checkMetadata(request);
    const principal = request.principal!;
    if (creation.kind === 'final') {
      const partials = finalUploadIds(creation.concat!, [request.headers.host ?? '', new URL(config.publicUrl).host]);
      const joined = await tus.joinFinal(principal, partials, metadata);
      return reply.code(201).header('tus-resumable', TUS_VERSION).header('location', uploadUrl(config.publicUrl, joined.uploadId))
        .header('upload-offset', String(joined.size)).header('x-ferry-file-id', joined.fileId).send();
    }
    await tus.create(principal, { kind: creation.kind, checksum: creation.checksum }, relay(request, reply));
    return reply.send();
  });

  server.route({
    method: 'HEAD',
    url: `${TUS_PATH}/:id`,
    config: { auth: WRITE },
    schema: { tags: ['uploads'], summary: 'Offset of a tus upload', description: 'Answers Upload-Offset and Upload-Length with Cache-Control: no-store. 410 once an unfinished upload expired.', response: { 200: empty('Upload-Offset, Upload-Length (or Upload-Defer-Length), Upload-Concat for partial and final uploads.'), ...errorResponses(401, 403, 404, 410, 412) } },
    handler: async (request, reply) => {
      checkTusVersion(request);
      const upload = await tus.head(request.principal!, uploadId(request), relay(request, reply));
      if (upload) finished(reply, upload, 200).header('cache-control', 'no-store').header('upload-length', String(upload.size));
      return reply.send();
    },
  });

  const patch = async (request: FastifyRequest, reply: FastifyReply) => {
    checkTusVersion(request);
    const readChunk = () => ({ ...checkPatch(request), empty: request.headers['content-length'] === '0' });
    const upload = await tus.patch(request.principal!, uploadId(request), readChunk, relay(request, reply));
    if (upload) finished(reply, upload, 204);
    return reply.send();
  };

  const terminate = async (request: FastifyRequest, reply: FastifyReply) => {
    checkTusVersion(request);
    await tus.terminate(request.principal!, uploadId(request), relay(request, reply));
    return reply.send();
  };

  server.patch(`${TUS_PATH}/:id`, {
    config: { auth: WRITE, streamsBody: true },
    schema: { tags: ['uploads'], summary: 'Append to a tus upload', description: `${DOC} Upload-Checksum (sha1, sha256, md5) is verified: a mismatch answers 460 and the chunk is discarded. A second writer gets 423.`, response: { 204: empty('The new Upload-Offset (X-Ferry-File-Id when the upload finished).'), ...errorResponses(400, 401, 403, 404, 409, 410, 412, 413, 415, 423, 460, 503, 507) } },
  }, patch);

  server.delete(`${TUS_PATH}/:id`, {
    config: { auth: WRITE },
    schema: { tags: ['uploads'], summary: 'Terminate a tus upload', description: 'Removes an unfinished upload and its bytes.', response: { 204: empty('Terminated.'), ...errorResponses(401, 403, 404, 409, 410, 412, 423) } },
  }, terminate);

  // X-HTTP-Method-Override for clients that can only POST; authorization follows the effective
  // method (both need files:write), and anything but PATCH or DELETE is refused (C49).
  server.post(`${TUS_PATH}/:id`, {
    config: { auth: WRITE, streamsBody: (request) => String(request.headers['x-http-method-override'] ?? '').toUpperCase() === 'PATCH' },
    schema: { tags: ['uploads'], summary: 'PATCH or DELETE through X-HTTP-Method-Override', response: { 204: empty('As the overridden method.'), ...errorResponses(401, 403, 404, 405) } },
  }, async (request, reply) => {
    const override = String(request.headers['x-http-method-override'] ?? '').toUpperCase();
    if (override !== 'PATCH' && override !== 'DELETE') {
      throw fail.method_not_allowed('POST to an upload needs X-HTTP-Method-Override: PATCH or DELETE.', { headers: { allow: 'HEAD, PATCH, DELETE' } });
    }
    request.raw.method = override;
    return override === 'PATCH' ? patch(request, reply) : terminate(request, reply);
  });
}
