import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import cookie from '@fastify/cookie';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config } from './config.ts';
import type { Db } from './db/database.ts';
import { systemClock, type Clock } from './domain/clock.ts';
import { randomBase62 } from './ids.ts';
import { createServices, type Services } from './services/services.ts';
import type { BlobStoreRegistry } from './storage/blob-store-registry.ts';
import { frameworkErrorHandler, registerErrorHandling } from './http/error-handler.ts';
import { registerAuthGuard } from './http/auth-guard.ts';
import { validatorCompiler } from './http/validation.ts';
import { addJsonParser, requireJsonBodies } from './http/json-body.ts';
import { withRequestRedaction } from './http/request-log.ts';
import { sharedSchemas } from './http/schemas.ts';
import { webhookSchemas } from './http/webhook-schemas.ts';
import { analyticsSchemas } from './http/analytics-schemas.ts';
import { speedTestSchemas } from './http/speed-test-schemas.ts';
import { adminSchemas } from './http/admin-schemas.ts';
import { registerOpenApi } from './http/openapi.ts';
import { registerRoutes } from './http/routes/index.ts';
import { createTusServer } from './tus/tus-server.ts';
import type { Redis } from 'ioredis';

export interface AppDeps {
  config: Config;
  db: Db;
  stores: BlobStoreRegistry;
  secret: string;
  /** Shared state across instances (FERRY_REDIS_URL); opened and closed by the caller. */
  redis?: Redis | null;
  clock?: Clock;
  /** Logger options; credentials in headers and query strings are always kept out of the lines. */
  logger?: FastifyServerOptions['logger'];
}

export type App = FastifyInstance & { services: Services };

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Builds the HTTP application without listening: tests inject() into it or listen on port 0. */
export async function buildApp(deps: AppDeps): Promise<App> {
  const app = Fastify({
    logger: deps.logger ? withRequestRedaction(deps.logger === true ? {} : deps.logger) : false,
    trustProxy: deps.config.trustProxy,
    bodyLimit: 1024 * 1024,
    requestIdHeader: false,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : `req_${randomBase62(20)}`;
    },
    ajv: { customOptions: { removeAdditional: false } },
    frameworkErrors: frameworkErrorHandler,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const services = createServices({ ...deps, redis: deps.redis ?? null, clock: deps.clock ?? systemClock, log: app.log });
  app.decorate('services', services);
  app.addHook('onClose', async () => services.webhookAgent.close());
  // Receipts of downloads that ended as the server stopped are written before the database closes.
  app.addHook('onClose', () => services.receipts.idle());
  app.setValidatorCompiler(validatorCompiler);
  for (const schema of [...sharedSchemas, ...webhookSchemas, ...analyticsSchemas, ...speedTestSchemas, ...adminSchemas]) app.addSchema(schema);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  addJsonParser(app);
  requireJsonBodies(app);

  // The download page's password form posts urlencoded; nothing else uses this type.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  await app.register(cookie);
  registerErrorHandling(app);
  registerAuthGuard(app, services);
  await registerOpenApi(app);
  // The tus protocol server: its hooks call the tus service, its answers are relayed by the tus routes.
  const tusServer = createTusServer({ tus: services.tus, leases: services.leases, config: deps.config });
  await app.register(registerRoutes, { services, config: deps.config, tusServer });
  await app.ready();
  return app as unknown as App;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}
