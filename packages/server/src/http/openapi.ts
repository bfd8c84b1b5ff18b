import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { UPLOADS_TAG_DESCRIPTION } from './openapi-uploads-doc.ts';
import { GEOIP_ATTRIBUTION } from './analytics-schemas.ts';

/** OpenAPI 3.1 generated from the route schemas, served at /openapi.json, browsable at /docs. */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Ferry API',
        version: '1.0.0',
        description:
          'Self-hosted, API-first file transfer. Authenticate with `Authorization: Bearer fy_<prefix>_<secret>` ' +
          '(or a session cookie plus `X-CSRF-Token` for writes). Success bodies are `{ "data": ... }`; errors are ' +
          '`{ "error": { "code", "message", "details"? } }`.',
      },
      tags: [
        { name: 'uploads', description: UPLOADS_TAG_DESCRIPTION },
        {
          name: 'analytics',
          description:
            'Downloads through links, uploads and API use over time, by file, country, recipient and client; reports as JSON or CSV, ' +
            `and reports emailed on a schedule to the account's own address. Countries: ${GEOIP_ATTRIBUTION}`,
        },
      ],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'API key fy_<prefix>_<secret>' },
          sessionCookie: { type: 'apiKey', in: 'cookie', name: 'ferry_session' },
        },
      },
      security: [{ bearerAuth: [] }, { sessionCookie: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true }, config: { auth: { public: true } } }, async () => app.swagger());
}
