import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { fail } from '../../errors.ts';
import { strictHeaderInteger, uploadBody } from '../upload-body-scope.ts';
import { partChecksums } from '../content-digests.ts';
import { Data, errorResponses } from '../schemas.ts';
import { MAX_CHUNKS } from '../../services/chunk-upload-service.ts';
import type { RouteContext } from './index.ts';

const DIGITS = '^[0-9]+$';

const ChunkHeaders = Type.Object({
  'x-token': Type.Optional(Type.String({ description: 'The transfer\'s upload token (fyu_...), as POST /api/v1/transfers returned it. X-Upload-Token or Authorization: Bearer fyu_... work too.' })),
  'x-transfer-id': Type.Optional(Type.String({ pattern: '^tr_[0-9a-zA-Z]{22}$', description: 'With an API key (files:write) instead of an upload token: the transfer to upload into.' })),
  'x-file-id': Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$', description: 'Your own stable id for the file within the transfer (a UUID, say), or the fl_ id of a file declared in the transfer.' }),
  'x-chunk-index': Type.String({ pattern: DIGITS, maxLength: 16, description: 'Zero-based chunk number, below X-Total-Chunks.' }),
  'x-total-chunks': Type.String({ pattern: DIGITS, maxLength: 16, description: `How many chunks the file is cut into (1 to ${MAX_CHUNKS}); the same on every chunk.` }),
  'x-file-name': Type.Optional(Type.String({ maxLength: 2048, description: 'The file name; percent-encode non-ASCII names (UTF-8) and literal "%" as %25. Required for a new X-File-Id.' })),
  'x-file-size': Type.Optional(Type.String({ pattern: DIGITS, maxLength: 16, description: 'The whole file\'s size in bytes. Required for a new X-File-Id.' })),
  'content-md5': Type.Optional(Type.String({ description: 'Base64 MD5 of this chunk (RFC 1864); checked when sent.' })),
  'content-digest': Type.Optional(Type.String({ description: 'RFC 9530 digest of this chunk (sha-256, sha-512, md5); checked when sent.' })),
});

const ChunkReceipt = Type.Object({
  file_id: Type.String({ description: 'The file\'s fl_ id.' }),
  client_file_id: Type.Union([Type.String(), Type.Null()], { description: 'The X-File-Id it was declared with; null for a file declared up front.' }),
  chunk_index: Type.Integer(),
  received_chunks: Type.Integer({ description: 'Distinct chunks stored so far.' }),
  total_chunks: Type.Integer(),
  file_state: Type.Union([Type.Literal('pending'), Type.Literal('complete')]),
  transfer_state: Type.Union([Type.Literal('uploading'), Type.Literal('ready'), Type.Literal('expired'), Type.Literal('deleted')]),
  sha256: Type.Optional(Type.String({ description: 'SHA-256 of the whole file, once complete.' })),
});

/** X-File-Name as sent: raw UTF-8 bytes (read by Node as Latin-1) are re-read as UTF-8, then `%XX` decoded. */
function decodeFileName(raw: string): string {
  let value = raw;
  if (/[\x80-\xff]/.test(value) && /^[\x00-\xff]*$/.test(value)) {
    try {
      value = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(value, 'latin1'));
    } catch {
      // Not UTF-8: keep the Latin-1 reading.
    }
  }
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    throw fail.invalid_file_name('X-File-Name is not valid percent-encoded UTF-8 (send a literal "%" as %25).');
  }
}

/** POST /api/v1/upload-chunk (the Trinsfer flow), in the raw-body context. */
export function chunkRoutes(server: FastifyInstance, { services }: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();

  app.post('/api/v1/upload-chunk', {
    config: { auth: { scope: 'files:write', uploadToken: true }, streamsBody: true },
    schema: {
      tags: ['uploads'],
      summary: 'Upload one chunk of a file (Trinsfer-style idempotent chunks)',
      description:
        'The raw chunk is the body (any Content-Type; compressed bodies are 415); metadata travels in X-* headers. ' +
        'Authenticate with the transfer\'s upload token in X-Token (as POST /api/v1/transfers returned it), or with an API key ' +
        '(files:write) plus X-Transfer-Id. The first chunk of a new X-File-Id declares the file (name, size, chunk count; 413 ' +
        'pending_uploads_limit past the account\'s pending-upload cap, 507 when the disk cannot hold it); later chunks must announce the same X-File-Name, X-File-Size and X-Total-Chunks (409 ' +
        'chunk_mismatch). Chunks may arrive in any order and in parallel, each at most the file\'s size; re-sending an index replaces ' +
        'it. The request that brings the last missing chunk assembles the file (SHA-256 in the answer); if the chunks do not add up ' +
        'to X-File-Size it answers 400 size_mismatch and keeps them, so resend the wrong one. When every file of the transfer is ' +
        'complete the transfer turns ready by itself: there is no finalize call. To send several files by chunks, declare them all ' +
        'when creating the transfer and use their fl_ ids as X-File-Id; otherwise the first completed file makes the transfer ready. ' +
        'A ready transfer refuses chunks (409).',
      headers: ChunkHeaders,
      response: { 200: Data(ChunkReceipt), ...errorResponses(400, 401, 403, 404, 409, 413, 415, 423, 507) },
    },
  }, async (request) => {
    const h = request.headers;
    const expected = partChecksums(h);
    const receipt = await services.chunks.receive(request.principal!, {
      transferId: h['x-transfer-id'],
      fileRef: h['x-file-id'],
      index: strictHeaderInteger(h['x-chunk-index'], 'X-Chunk-Index')!,
      total: strictHeaderInteger(h['x-total-chunks'], 'X-Total-Chunks')!,
      name: h['x-file-name'] === undefined ? undefined : decodeFileName(h['x-file-name']),
      size: strictHeaderInteger(h['x-file-size'], 'X-File-Size'),
      contentLength: request.uploadContentLength,
      expected,
    }, uploadBody(request));
    return { data: receipt };
  });
}
