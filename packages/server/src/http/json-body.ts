import type { FastifyInstance, FastifyRequest, preValidationHookHandler } from 'fastify';
import { fail } from '../errors.ts';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from './validation.ts';
import { hasBody, streamsUploadBody } from './upload-body-scope.ts';

/**
 * Ferry's JSON body parser for `scope`: Fastify's own, behind a nesting cap; `__proto__` and
 * `constructor.prototype` keys are refused (docs/security-checklist.md D61, I97).
 */
export function addJsonParser(scope: FastifyInstance): void {
  const defaultJson = scope.getDefaultJsonParser('error', 'error');
  scope.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (jsonDepthExceeds(body as string, MAX_JSON_DEPTH)) {
      done(fail.invalid_json(`JSON nested deeper than ${MAX_JSON_DEPTH} levels.`), undefined);
      return;
    }
    defaultJson(request, body as string, done);
  });
}

/**
 * Every route registered on `app` after this call that declares a body schema takes JSON only,
 * unless its schema names other media types in `consumes` (the download page's password form
 * posts urlencoded): a body of any other media type (a form, text, none named) is refused with 415
 * before validation, so a form post can never pass for the JSON a route validates. Upload bodies,
 * which their routes stream, are the upload scope's business (whether a request streams one is
 * known once its parser ran, hence this hook's place).
 */
export function requireJsonBodies(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (route.schema?.body === undefined) return;
    const accepted = new Set((route.schema.consumes ?? ['application/json']).map((type) => type.toLowerCase()));
    const refuseOthers = async (request: FastifyRequest): Promise<void> => {
      if (!hasBody(request) || streamsUploadBody(request)) return;
      const mediaType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (!accepted.has(mediaType)) {
        const names = [...accepted].join(' or ');
        throw fail.unsupported_media_type(`This route takes a body of Content-Type: ${names}.`);
      }
    };
    route.preValidation = [refuseOthers, ...([] as preValidationHookHandler[]).concat(route.preValidation ?? [])];
  });
}
