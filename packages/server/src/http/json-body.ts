import type { FastifyInstance } from 'fastify';
import { badRequest } from '../errors.ts';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from './validation.ts';

/**
 * Ferry's JSON body parser for `scope`: Fastify's own, behind a nesting cap; `__proto__` and
 * `constructor.prototype` keys are refused (SECURITY D61, I97).
 */
export function addJsonParser(scope: FastifyInstance): void {
  const defaultJson = scope.getDefaultJsonParser('error', 'error');
  scope.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (jsonDepthExceeds(body as string, MAX_JSON_DEPTH)) {
      done(badRequest(`JSON nested deeper than ${MAX_JSON_DEPTH} levels.`, 'invalid_json'), undefined);
      return;
    }
    defaultJson(request, body as string, done);
  });
}
