import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fail } from '../../errors.ts';
import { incompressibleStream, measureUpload, SPEED_MEASUREMENT } from '../../services/speed-measurement.ts';
import { Data, DateTime, errorResponses } from '../schemas.ts';
import { uploadBody } from '../upload-body-scope.ts';
import type { RouteContext } from './index.ts';

/**
 * The measurement endpoints a client runs a speed test against. They move real bytes, so each
 * takes a key with speed:write (the key that will store the result) and counts against the
 * account's per-minute limit like any request; answers are never cached or transformed.
 */
const tags = ['speed-tests'];
const auth = { scope: 'speed:write' as const };
const NO_STORE = 'no-store, no-transform';
const { defaultDownloadBytes, maxDownloadBytes, maxUploadBytes } = SPEED_MEASUREMENT;

export function speedMeasurementRoutes(server: FastifyInstance, { services }: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/api/v1/speed-tests/ping', {
    config: { auth },
    schema: {
      tags,
      operationId: 'pingSpeedTest',
      summary: 'Latency probe',
      description: 'A tiny answer to time round trips (send several: their spread is the jitter). Cache-Control: no-store.',
      response: { 200: Data(Type.Object({ server_time: DateTime })), ...errorResponses(401, 403) },
    },
  }, async (_request, reply) => {
    void reply.header('cache-control', NO_STORE);
    return { data: { server_time: services.clock.now().toISOString() } };
  });

  app.get('/api/v1/speed-tests/download', {
    config: { auth },
    // A HEAD would make the bytes only to drop them.
    exposeHeadRoute: false,
    schema: {
      tags,
      operationId: 'downloadSpeedTest',
      summary: 'Download random bytes to time',
      description:
        `?bytes=1..${maxDownloadBytes} (default ${defaultDownloadBytes}): exactly that many random bytes, made as they are sent and never ` +
        'compressible; Content-Length is set, no Content-Encoding is ever applied, and Cache-Control is no-store, no-transform. ' +
        'Time from the first byte to the last on the client.',
      querystring: Type.Object({ bytes: Type.Optional(Type.Integer({ minimum: 1, maximum: maxDownloadBytes, default: defaultDownloadBytes })) }),
      response: { 200: Type.String({ format: 'binary', description: 'Random bytes (application/octet-stream).' }), ...errorResponses(400, 401, 403) },
    },
  }, async (request, reply) => {
    const size = request.query.bytes ?? defaultDownloadBytes;
    // The binary schema types the body as a string; the stream is what is sent.
    return (reply as FastifyReply)
      .header('cache-control', NO_STORE)
      .header('content-type', 'application/octet-stream')
      .header('content-length', String(size))
      .header('x-content-type-options', 'nosniff')
      .send(incompressibleStream(size));
  });
}

const UploadMeasurement = Type.Object({
  bytes: Type.Integer({ description: 'Bytes received.' }),
  duration_ms: Type.Number({ description: 'From when the server began reading the body to its last byte.' }),
  mbps: Type.Number({ description: 'bytes * 8 / duration, in megabits (10^6 bits) per second.' }),
});

/** POST .../upload streams a body, so it lives in the upload body scope and obeys its rules. */
export function speedUploadRoutes(server: FastifyInstance, _ctx: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();

  app.post('/api/v1/speed-tests/upload', {
    config: { auth, streamsBody: true },
    // Refused before the upload scope takes one of the account's body slots.
    preValidation: async (request) => requireOctetStream(request),
    schema: {
      tags,
      operationId: 'uploadSpeedTest',
      summary: 'Upload bytes to time',
      description:
        `The body (application/octet-stream, 1 to ${maxUploadBytes} bytes) is read and discarded; the answer is how many bytes arrived, ` +
        'how long reading them took and the rate. Larger: 413 payload_too_large, before reading when Content-Length says so. ' +
        'Like every upload: compressed bodies are 415, an idle body is cut, and it takes one of the account\'s upload slots. ' +
        'Send several MiB: the server starts its clock when it starts reading, so a small body mostly measures buffers.',
      response: { 200: Data(UploadMeasurement), ...errorResponses(400, 401, 403, 413, 415) },
    },
  }, async (request) => ({ data: await measureUpload(uploadBody(request), request.uploadContentLength) }));
}

function requireOctetStream(request: FastifyRequest): void {
  const type = request.headers['content-type']?.split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/octet-stream') throw fail.unsupported_media_type('Send the bytes as Content-Type: application/octet-stream.');
}
