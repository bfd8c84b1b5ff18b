import type { FastifyInstance } from 'fastify';
import type { RouteContext } from './index.ts';

/** POST /api/v1/upload-chunk (the Trinsfer flow), in the raw-body context. */
export function chunkRoutes(_server: FastifyInstance, _ctx: RouteContext): void {}
