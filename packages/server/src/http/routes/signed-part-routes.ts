import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { fail } from '../../errors.ts';
import type { PartGrant } from '../../services/signed-part-service.ts';
import { partChecksums } from '../content-digests.ts';
import { uploadBody } from '../upload-body-scope.ts';
import { Data, DateTime, errorResponses, Nullable } from '../schemas.ts';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../validation.ts';
import type { RouteContext } from './index.ts';

/**
 * Signed part URLs, the WeTransfer Transfer API v2 flow: declare files with sizes (each pending
 * file shows `multipart: {part_numbers, chunk_size}`), GET a signed URL per part, PUT each part's
 * bytes to it (any order, in parallel, retries overwrite), PUT upload-complete per file, then
 * finalize the transfer.
 */

const tags = ['uploads'];

const PartNumber = Type.String({
  description:
    'Part number, 1 to `multipart.part_numbers`, in plain decimal digits. `0` answers 417 invalid_part_number ' +
    '("Chunk numbers are 1-based", as WeTransfer); a sign, point, exponent, leading zero or a number past the ' +
    'file\'s part count answers 400 invalid_part_number.',
});

const FileParams = Type.Object({
  id: Type.String({ pattern: '^tr_[0-9a-zA-Z]{22}$', description: 'tr_ id of the transfer' }),
  fileId: Type.String({ pattern: '^fl_[0-9a-zA-Z]{22}$', description: 'fl_ id of the file' }),
});
const PartParams = Type.Object({ ...FileParams.properties, partNumber: PartNumber });

const PartUrlView = Type.Object({
  url: Type.String({ description: 'Signed PUT URL for this part; needs no credentials; valid for one hour.' }),
  part_number: Type.Integer({ minimum: 1 }),
  expires_at: DateTime,
});

const PartView = Type.Object({
  part_number: Type.Integer({ minimum: 1 }),
  size: Type.Integer({ description: 'Bytes stored for this part.' }),
});

const CompletedFileView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  size: Type.Integer(),
  part_numbers: Type.Integer({ description: 'How many parts the file was joined from.' }),
  chunk_size: Type.Integer({ description: 'Bytes in every part but the last.' }),
  retries: Type.Integer({ description: 'Always 0; kept for WeTransfer clients.' }),
  state: Type.Literal('complete'),
  sha256: Type.String({ description: 'SHA-256 of the whole file, hex.' }),
  crc32: Type.String({ description: 'CRC-32 of the whole file, 8 hex digits.' }),
});

const CompleteBody = Nullable(
  Type.Object(
    { part_numbers: Type.Optional(Type.Integer({ minimum: 0, description: 'When sent, must equal the file\'s part count (else 400).' })) },
    { additionalProperties: false },
  ),
);

/**
 * A part number as the path gives it: plain decimal digits, no sign, point, exponent or leading
 * zero (`-1`, `1.5`, `01`, `1e1` are 400), so none of them reaches arithmetic.
 * Part `0` answers 417, as WeTransfer documents it.
 */
function partNumber(raw: string): number {
  if (raw === '0') throw fail.invalid_part_number('Chunk numbers are 1-based').withStatus(417);
  if (!/^[1-9]\d{0,15}$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw fail.invalid_part_number('The part number must be a whole number from 1, in plain digits.');
  }
  return Number(raw);
}

const partUrl = (publicUrl: string, transferId: string, fileId: string, grant: PartGrant) =>
  grant.directUrl ?? `${publicUrl}/api/v1/transfers/${transferId}/files/${fileId}/parts/${grant.partNumber}?expires=${grant.expiresAtSeconds}&signature=${grant.signature}`;

/** Signed part URLs: the JSON routes, in the normal (parsing) context. */
export function signedPartRoutes(server: FastifyInstance, { services, config }: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/api/v1/transfers/:id/files/:fileId/upload-url/:partNumber', {
    config: { auth: { scope: 'files:write', uploadToken: true } },
    schema: {
      tags,
      summary: 'Get a signed upload URL for one part of a file',
      description:
        'For a pending file of your open transfer: a URL to PUT the raw bytes of part `partNumber` to, without credentials, ' +
        'for one hour (request it again after that). Parts are `multipart.chunk_size` bytes each, the last one holds the ' +
        'rest; `multipart.part_numbers` says how many. 409 transfer_finalized once the transfer is finalized, 409 ' +
        'file_complete once the file is complete; another account\'s transfer or file is 404. With S3 storage the URL is ' +
        'a presigned S3 UploadPart URL: the part goes straight to the bucket, which checks the signature, the expiry and ' +
        'the exact Content-Length itself and answers 200 with an ETag (no JSON). Parts are then at least 5 MiB.',
      params: PartParams,
      response: { 200: Data(PartUrlView), ...errorResponses(400, 401, 403, 404, 409, 417) },
    },
  }, async (request) => {
    const { id, fileId, partNumber: rawPart } = request.params;
    const grant = await services.signedParts.grant(request.principal!, id, fileId, partNumber(rawPart));
    return {
      data: { url: partUrl(config.publicUrl, id, fileId, grant), part_number: grant.partNumber, expires_at: new Date(grant.expiresAtSeconds * 1000).toISOString() },
    };
  });

  // Its own context: WeTransfer clients send `Content-Type: application/json` with an empty body.
  void server.register(async (scope) => {
    jsonOnly(scope);
    scope.withTypeProvider<TypeBoxTypeProvider>().put('/api/v1/transfers/:id/files/:fileId/upload-complete', {
      config: { auth: { scope: 'files:write', uploadToken: true } },
      schema: {
        tags,
        summary: 'Complete a file uploaded in parts',
        description:
          'Joins the parts in order into the file, computing its SHA-256 and CRC-32, and marks it complete. The body is ' +
          'optional: none, an empty JSON body, or `{"part_numbers": n}` checked against the part count (400 otherwise). Missing parts: 409 parts_missing ' +
          '("Chunks 3, 5 are still missing") with `missing_parts` (the first 1000) and `missing_count` beside `error`. Idempotent: a complete file answers the same ' +
          '200 again, and concurrent calls make exactly one state change. An empty file has no parts and completes as is. ' +
          'Then finalize the transfer with PUT /api/v1/transfers/{id}/finalize.',
        params: FileParams,
        body: { content: { 'application/json': { schema: CompleteBody } } } as never,
        response: { 200: Data(CompletedFileView), ...errorResponses(400, 401, 403, 404, 409, 413, 415) },
      },
    }, async (request) => {
      const { id, fileId } = request.params as { id: string; fileId: string };
      const body = request.body as { part_numbers?: number } | null | undefined;
      const { file, partNumbers, chunkSize } = await services.signedParts.complete(request.principal!, id, fileId, body?.part_numbers);
      return {
        data: {
          id: file.id,
          name: file.name,
          size: file.size,
          part_numbers: partNumbers,
          chunk_size: chunkSize,
          retries: 0,
          state: 'complete' as const,
          sha256: file.sha256!,
          crc32: (file.crc32 ?? 0).toString(16).padStart(8, '0'),
        },
      };
    });
  });
}

/**
 * JSON as everywhere else (nesting cap, prototype-poisoning keys refused), except that an empty
 * body reads as null instead of 400: "no body" and "an empty JSON body" mean the same here. Any
 * other media type is 415, so a form or text body can never pass for the JSON one.
 */
function jsonOnly(scope: FastifyInstance): void {
  const strictJson = scope.getDefaultJsonParser('error', 'error');
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 16 * 1024 }, (request, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, null);
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) return done(fail.invalid_json(`JSON nested deeper than ${MAX_JSON_DEPTH} levels.`), undefined);
    strictJson(request, text, done);
  });
}

/** The part PUT, in the upload body scope: `request.raw` is unread and streamed to storage. */
export function signedPartUploadRoutes(server: FastifyInstance, { services }: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();

  app.put('/api/v1/transfers/:id/files/:fileId/parts/:partNumber', {
    // signedUrl: with ?expires=&signature= the guard lets the request through without credentials
    // and the preValidation hook verifies the signature (the upload scope's rules need the
    // account); without them, an owner's key with files:write works.
    config: { auth: { scope: 'files:write', signedUrl: true }, streamsBody: true },
    preValidation: async (request) => {
      const { id, fileId, partNumber: rawPart } = request.params as { id: string; fileId: string; partNumber: string };
      const { expires, signature } = request.query as { expires?: string; signature?: string };
      request.principal ??= await services.signedParts.signedPrincipal(id, fileId, partNumber(rawPart), expires ?? '', signature ?? '');
    },
    schema: {
      tags,
      summary: 'Upload one part (the signed URL from upload-url)',
      description:
        'The raw bytes of the part are the body (any Content-Type, `curl -T` works). Exactly `chunk_size` bytes, the last ' +
        'part exactly the rest: longer stops reading with 413, shorter is 400 size_mismatch. Content-MD5 and Content-Digest ' +
        '(sha-256, sha-512, md5), when sent, are checked (400 checksum_mismatch). Compressed bodies (Content-Encoding) are 415. ' +
        'A refused part keeps nothing. Sending a part again replaces it; parts may arrive in any order and in parallel. ' +
        'A bad or expired signature is 403 invalid_signature.',
      params: PartParams,
      // No credentials with a signature; an owner's key (files:write) without one.
      security: [{}, { bearerAuth: [] }],
      querystring: Type.Object({
        expires: Type.Optional(Type.String({ maxLength: 20, description: 'From the signed URL.' })),
        signature: Type.Optional(Type.String({ maxLength: 100, description: 'From the signed URL.' })),
      }),
      // Documentation only: the schema has no type, so the unread (undefined) body passes validation.
      body: { content: { 'application/octet-stream': { schema: Type.Unsafe({ format: 'binary', description: 'The part\'s bytes.' }) } } } as never,
      response: { 200: Data(PartView), ...errorResponses(400, 401, 403, 404, 409, 413, 415, 417, 507) },
    },
  }, async (request) => {
    const { id, fileId, partNumber: rawPart } = request.params;
    const stored = await services.signedParts.receivePart(request.principal!, id, fileId, partNumber(rawPart), {
      body: uploadBody(request),
      contentLength: request.uploadContentLength,
      checksums: partChecksums(request.headers),
    });
    return { data: { part_number: stored.partNumber, size: stored.size } };
  });
}
