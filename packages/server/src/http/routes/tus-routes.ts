import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NodeRequest } from 'srvx/node';
import { AppError, conflict, forbidden, notFound } from '../../errors.ts';
import { errorResponses } from '../schemas.ts';
import type { Principal } from '../../services/principal.ts';
import { tusContext, type TusRequestContext } from '../../tus/upload-context.ts';
import { codeForStatus } from '../../tus/tus-errors.ts';
import { TUS_PATH } from '../../tus/tus-server.ts';
import { TUS_CHECKSUM_ALGORITHMS } from '../content-digests.ts';
import { checkCreation, checkMetadata, checkPatch, checkTusVersion, TUS_EXTENSIONS, TUS_VERSION, UPLOAD_ID } from '../tus-request-checks.ts';
import type { RouteContext } from './index.ts';

const WRITE = { scope: 'files:write', uploadToken: true } as const;
const empty = (description: string) => ({ type: 'null', description });
const DOC = 'tus 1.0 (core, creation, creation-with-upload, creation-defer-length, termination, expiration, checksum, concatenation). ' +
  'Credentials: an API key with files:write, or the transfer\'s upload token (X-Token, X-Upload-Token or Bearer fyu_...). ' +
  'Upload-Metadata carries transfer_id and either file_id (a declared file) or filename and filetype (a new file; relativePath keeps its folders).';

/**
 * The tus endpoint: Fastify authenticates and checks Ferry's rules on the headers, @tus/server
 * speaks the protocol (its hooks apply the rest), and its answer is relayed, errors in Ferry's
 * envelope. This context parses no body: PATCH bytes stream from the socket to the store.
 */
export function tusRoutes(server: FastifyInstance, { services, config }: RouteContext): void {
  const { tus } = services;

  /**
   * Runs @tus/server on the request with the caller's context and relays its response. `headers`
   * replace the library's; `after` runs once the library succeeded, before the reply is sent.
   */
  const relay = async (request: FastifyRequest, reply: FastifyReply, context: TusRequestContext, extra: RelayExtras = {}) => {
    const response = await tusContext.run(context, () => tus.server.handleWeb(new NodeRequest({ req: request.raw, res: reply.raw }) as unknown as Request));
    response.headers.forEach((value, name) => {
      if (name !== 'content-length' && name !== 'content-type') reply.header(name, value);
    });
    reply.headers(extra.headers ?? {});
    if (response.status >= 400) {
      const text = (await response.text()).trim();
      throw context.error ?? new AppError(response.status, codeForStatus(response.status), text || 'The upload request failed.');
    }
    await extra.after?.();
    reply.code(response.status);
    return reply.send();
  };

  const uploadId = (request: FastifyRequest): string => {
    const { id } = request.params as { id: string };
    if (!UPLOAD_ID.test(id)) throw notFound('Upload');
    return id;
  };

  for (const url of [TUS_PATH, `${TUS_PATH}/:id`]) {
    server.options(url, { config: { auth: { public: true } }, schema: { tags: ['uploads'], summary: 'tus discovery and CORS preflight', description: DOC, response: { 204: empty('Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm, and CORS headers for FERRY_CORS_ORIGINS.'), ...errorResponses() } } }, async (request, reply) => {
      // The library announces its store's extensions (with its misspelt 'concatentation'): Ferry's list replaces them.
      return relay(request, reply, { principal: { userId: '', scopes: [], via: 'key' }, kind: 'single' }, {
        headers: { 'tus-extension': TUS_EXTENSIONS, 'tus-checksum-algorithm': TUS_CHECKSUM_ALGORITHMS.join(',') },
      });
    });
  }

  server.post(TUS_PATH, {
    // A final concatenation has no body: it assembles uploads already stored.
    config: { auth: WRITE, streamsBody: (request) => !/^\s*final\s*;/i.test(String(request.headers['upload-concat'] ?? '')) },
    schema: { tags: ['uploads'], summary: 'Create a tus upload', description: DOC, response: { 201: empty('Location of the new upload (Upload-Offset with creation-with-upload; X-Ferry-File-Id once finished).'), ...errorResponses(400, 401, 403, 404, 409, 412, 413, 415, 423, 460, 507) } },
  }, async (request, reply) => {
    checkTusVersion(request);
    const creation = checkCreation(request, config.uploads.tusMaxSizeBytes);
    checkMetadata(request);
    const principal = request.principal!;
    if (creation.kind === 'final') return finalUpload(request, reply, principal, creation.concat!);
    const context: TusRequestContext = { principal, kind: creation.kind as 'single' | 'partial', checksum: creation.checksum };
    try {
      return await relay(request, reply, context);
    } catch (error) {
      // The upload was made but the client gets no Location: nothing of it may stay behind.
      if (context.created) await tus.completion.discard(context.created.uploadId, context.created.declaredFileId);
      throw error;
    }
  });

  const finalUpload = async (request: FastifyRequest, reply: FastifyReply, principal: Principal, concat: string) => {
    const hosts = [request.headers.host ?? '', new URL(config.publicUrl).host];
    const ids = tus.concatenation.parseFinal(concat, hosts);
    const metadata = checkMetadata(request);
    const finalId = tus.rules.newUploadId();
    const file = await tus.concatenation.finalize(principal, ids, metadata, finalId);
    return reply
      .code(201)
      .header('tus-resumable', TUS_VERSION)
      .header('location', `${config.publicUrl}${TUS_PATH}/${finalId}`)
      .header('upload-offset', String(file.size))
      .header('x-ferry-file-id', file.id)
      .send();
  };

  server.route({
    method: 'HEAD',
    url: `${TUS_PATH}/:id`,
    config: { auth: WRITE },
    schema: { tags: ['uploads'], summary: 'Offset of a tus upload', description: 'Answers Upload-Offset and Upload-Length with Cache-Control: no-store. 410 once an unfinished upload expired.', response: { 200: empty('Upload-Offset, Upload-Length (or Upload-Defer-Length), Upload-Concat for partial and final uploads.'), ...errorResponses(401, 403, 404, 410, 412) } },
    handler: async (request, reply) => {
      checkTusVersion(request);
      const row = await tus.rules.visible(request.principal!, uploadId(request));
      if (row.kind !== 'single') reply.header('upload-concat', row.kind === 'partial' ? 'partial' : `final;${(JSON.parse(row.concat ?? '[]') as string[]).map((id) => `${TUS_PATH}/${id}`).join(' ')}`);
      if (row.completed_at !== null && row.kind !== 'partial') {
        return reply.header('tus-resumable', TUS_VERSION).header('cache-control', 'no-store').header('upload-offset', String(row.size)).header('upload-length', String(row.size)).code(200).send();
      }
      return relay(request, reply, { principal: request.principal!, kind: 'single' });
    },
  });

  const patch = async (request: FastifyRequest, reply: FastifyReply) => {
    checkTusVersion(request);
    const principal = request.principal!;
    const row = await tus.rules.visible(principal, uploadId(request));
    if (row.kind === 'final') throw forbidden('A final upload is assembled from its partial uploads; it takes no PATCH.', 'final_upload');
    const { offset, length, checksum } = checkPatch(request);
    if (row.completed_at !== null) {
      // PATCH into a finished upload (SECURITY B35): an empty PATCH at the end is harmless.
      if (offset === row.size && request.headers['content-length'] === '0') return reply.code(204).header('tus-resumable', TUS_VERSION).header('upload-offset', String(row.size)).send();
      throw conflict('This upload is complete; its bytes can no longer change.', 'upload_complete');
    }
    await tus.rules.checkWritable(principal, row);
    if (length !== undefined) await tus.rules.checkLengthDeclaration(principal, row, length, await tus.datastore.offsetOf(row.id));
    return relay(request, reply, { principal, kind: row.kind as 'single' | 'partial', checksum });
  };

  const terminate = async (request: FastifyRequest, reply: FastifyReply) => {
    checkTusVersion(request);
    const row = await tus.rules.visible(request.principal!, uploadId(request));
    if (row.completed_at !== null) throw conflict('A finished upload belongs to its file now; delete the file instead.', 'upload_complete');
    // A file the upload declared by filename goes with it (else its name stays taken, pending forever).
    const declared = tus.rules.declaredBy(row);
    return relay(request, reply, { principal: request.principal!, kind: 'single' }, { after: async () => declared ? tus.completion.dropPendingFile(declared) : undefined });
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
      throw new AppError(405, 'method_not_allowed', 'POST to an upload needs X-HTTP-Method-Override: PATCH or DELETE.', {}, undefined, { allow: 'HEAD, PATCH, DELETE' });
    }
    request.raw.method = override;
    return override === 'PATCH' ? patch(request, reply) : terminate(request, reply);
  });
}

interface RelayExtras {
  headers?: Record<string, string>;
  after?: () => Promise<void>;
}
