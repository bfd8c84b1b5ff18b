import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config.ts';
import type { Services } from '../../services/services.ts';
import type { TusServer } from '../../tus/tus-server.ts';
import { Presenter } from '../presenters.ts';
import { healthRoutes } from './health-routes.ts';
import { authRoutes } from './auth-routes.ts';
import { keyRoutes } from './key-routes.ts';
import { accountRoutes } from './account-routes.ts';
import { transferRoutes } from './transfer-routes.ts';
import { recipientRoutes } from './recipient-routes.ts';
import { fileCreationRoutes, fileRoutes } from './file-routes.ts';
import { makeUploadBodyScope } from '../upload-body-scope.ts';
import { useErrorPages } from '../error-handler.ts';
import { recipientErrorPage } from '../error-pages.ts';
import { uploadRoutes } from './upload-routes.ts';
import { downloadRoutes } from './download-routes.ts';
import { publicRoutes } from './public-routes.ts';
import { signedPartRoutes, signedPartUploadRoutes } from './signed-part-routes.ts';
import { chunkRoutes } from './chunk-routes.ts';
import { singleRequestRoutes } from './single-request-routes.ts';
import { tusRoutes } from './tus-routes.ts';
import { adminJobRoutes } from './admin-job-routes.ts';
import { fileRequestPageRoutes, fileRequestRoutes } from './file-request-routes.ts';
import { webhookRoutes } from './webhook-routes.ts';
import { analyticsRoutes } from './analytics-routes.ts';
import { reportRoutes } from './report-routes.ts';
import { speedTestRoutes } from './speed-test-routes.ts';
import { speedMeasurementRoutes, speedUploadRoutes } from './speed-measurement-routes.ts';
import { adminUserRoutes } from './admin-user-routes.ts';
import { adminTransferRoutes } from './admin-transfer-routes.ts';

export interface RouteContext {
  services: Services;
  config: Config;
  presenter: Presenter;
  tusServer: TusServer;
}

export async function registerRoutes(app: FastifyInstance, options: { services: Services; config: Config; tusServer: TusServer }): Promise<void> {
  const ctx: RouteContext = { ...options, presenter: new Presenter(options.config, options.services.signer, options.services.clock) };
  for (const routes of [healthRoutes, authRoutes, keyRoutes, accountRoutes, transferRoutes, recipientRoutes, fileRoutes, signedPartRoutes, adminJobRoutes, fileRequestRoutes, webhookRoutes, analyticsRoutes, reportRoutes, speedTestRoutes, speedMeasurementRoutes, adminUserRoutes, adminTransferRoutes]) {
    routes(app, ctx);
  }
  // Every route a recipient's browser may land on (the page, its form, files, ZIPs, signed URLs)
  // lives in this scope, whose errors are pages for clients that prefer HTML (error-pages.ts).
  await app.register(async (scope) => {
    useErrorPages(scope, recipientErrorPage);
    downloadRoutes(scope, ctx);
    publicRoutes(scope, ctx);
    fileRequestPageRoutes(scope, ctx);
  });
  // Every route that streams an upload body lives in this one scope, which applies the rules
  // every upload must obey (upload-body-scope.ts).
  await app.register(async (scope) => {
    makeUploadBodyScope(scope, { slots: options.services.uploadSlots, idleTimeoutSeconds: options.config.uploads.idleTimeoutSeconds });
    uploadRoutes(scope, ctx);
    signedPartUploadRoutes(scope, ctx);
    chunkRoutes(scope, ctx);
    singleRequestRoutes(scope, ctx);
    speedUploadRoutes(scope, ctx);
    await scope.register(async (files) => fileCreationRoutes(files, ctx));
    await scope.register(async (tus) => tusRoutes(tus, ctx));
  });
}
