import type { FastifyInstance } from 'fastify';
import type { RouteContext } from './index.ts';

/** PUT / and PUT /:name (curl -T), in the raw-body context. */
export function singleRequestRoutes(_server: FastifyInstance, _ctx: RouteContext): void {}
