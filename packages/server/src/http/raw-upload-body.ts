import type { Socket } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { AppError, badRequest } from '../errors.ts';

/**
 * A header that must be a whole number (SECURITY B20/B21): digits only, a safe integer. JS would
 * happily read `1e3`, `0x10` and `12abc` as numbers.
 */
export function strictHeaderInteger(value: string | undefined, header: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9]{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) throw badRequest(`${header} must be a whole number.`);
  return Number(value);
}

/** Raw-body upload headers: no compressed bodies (SECURITY I103), a strict Content-Length, answered. */
export function checkRawUploadHeaders(request: FastifyRequest): number | undefined {
  const encoding = request.headers['content-encoding'];
  if (encoding !== undefined && encoding !== 'identity') {
    throw new AppError(415, 'unsupported_media_type', 'Compressed upload bodies are not accepted; send the raw bytes.');
  }
  return strictHeaderInteger(request.headers['content-length'], 'Content-Length');
}

/**
 * Checks shared by raw-body uploads: no compressed bodies (SECURITY I103), a well-formed
 * Content-Length. Answers that length and the body, read through an iterator that leaves the
 * request alone when we stop early (so a 413 can still be answered on its socket) and that cuts
 * a body idle for `idleSeconds` (I100). The idle timer is off again once the body is read, so
 * slow work after it (assembling a large file) never costs the client its answer.
 */
export function rawUploadBody(request: FastifyRequest, idleSeconds: number): { contentLength?: number; body: AsyncIterable<Buffer> } {
  return { contentLength: checkRawUploadHeaders(request), body: idleGuarded(request, idleSeconds) };
}

async function* idleGuarded(request: FastifyRequest, idleSeconds: number): AsyncGenerator<Buffer> {
  const socket = request.raw.socket as Socket | undefined;
  const armed = typeof socket?.setTimeout === 'function';
  const cut = () => socket!.destroy();
  if (armed) socket!.setTimeout(idleSeconds * 1000, cut);
  try {
    for await (const chunk of request.raw.iterator({ destroyOnReturn: false })) yield chunk as Buffer;
  } finally {
    if (armed) {
      socket!.setTimeout(0);
      socket!.off('timeout', cut);
    }
  }
}

