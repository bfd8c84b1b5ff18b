import type { FastifyInstance } from 'fastify';
import type { RouteContext } from './index.ts';

/** Signed part URLs (the WeTransfer flow): JSON routes, in the normal (parsing) context. */
export function signedPartRoutes(_server: FastifyInstance, _ctx: RouteContext): void {}

/** The raw-body part PUT, registered in the raw-body context beside the other uploads. */
export function signedPartUploadRoutes(_server: FastifyInstance, _ctx: RouteContext): void {}
