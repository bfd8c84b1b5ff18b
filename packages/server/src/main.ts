import { loadConfig, ConfigError } from './config.ts';
import { buildApp } from './app.ts';
import { openRuntime } from './runtime.ts';
import { holdPort, ListenError, listenError } from './port-hold.ts';

/**
 * The composition root: read the environment once, bind the port, open what the app needs,
 * listen, and shut down cleanly. The port comes first so that a port in use is reported before
 * anything is created in the data folder.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const port = await holdPort(config.port, config.host);
  let onRedisError: (err: Error) => void = () => undefined;
  const runtime = await openRuntime(config, (err) => onRedisError(err));
  const { database, stores, secret, redis } = runtime;
  const app = await buildApp({ config, db: database.db, stores, secret, redis, logger: { level: config.logLevel } });
  onRedisError = (err) => app.log.warn({ err: err.message }, 'redis connection error');
  const { worker } = app.services;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: no new connections, finishing requests in flight');
    // tus PATCHes stop reading, keep what arrived and answer 503 (docs/security-checklist.md J114).
    app.services.shutdown.abort();
    const force = setTimeout(() => {
      app.log.warn('in-flight requests did not finish in time; closing them');
      app.server.closeAllConnections();
    }, config.shutdownGraceSeconds * 1000);
    force.unref();
    // Jobs in flight get the same grace; those still running then are retried by whoever comes next.
    await worker.stop(config.shutdownGraceSeconds * 1000);
    await app.services.mailer.close();
    await app.close();
    await runtime.close();
    clearTimeout(force);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  port.handOver(app.server);
  await app.listen({ port: port.port, host: config.host }).catch((error: NodeJS.ErrnoException) => {
    throw listenError(error, port.port, config.host);
  });
  // The worker starts once the app listens; the first sweep is due at once.
  if (config.jobs.worker) worker.start();
  app.log.info(`Ferry is listening on ${config.publicUrl} (data in ${config.dataDir})`);
  if (config.webhooks.allowPrivate) {
    app.log.warn('FERRY_WEBHOOK_ALLOW_PRIVATE is on: webhooks can reach this host and its private network. For tests only.');
  }
}

main().catch((error) => {
  if (error instanceof ListenError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`Ferry failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
