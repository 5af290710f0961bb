import { createLogger, flushLogger } from '../core/logger.ts';
import { installRejectionHandler } from '../core/unhandled.ts';
import { resolveConfig, type ConfigOptions } from './common.ts';

/** Seconds `stop()` may take after a signal before the process exits anyway. */
const STOP_TIMEOUT_MS = 15_000;

/**
 * `mucpush start`: starts the server, logs one `listening` line with the bound ports, and on
 * SIGTERM/SIGINT stops it and exits 0 (a second signal exits at once with status 1). SIGHUP reads
 * the same config file and flags again and applies what can change live (src/admin/reload.ts).
 */
export async function start(opts: ConfigOptions): Promise<void> {
  const { config, file } = await resolveConfig(opts);
  const logger = createLogger(config.log.level);
  installRejectionHandler(logger);
  logger.debug({ configFile: file, dataDir: config.dataDir }, 'configuration loaded');
  // Imported here so the admin commands never load the server.
  const { startServer } = await import('../server.ts');
  let server;
  try {
    server = await startServer(config, logger, { loadConfig: async () => (await resolveConfig(opts)).config });
  } catch (err) {
    await flushLogger(logger);
    throw err;
  }
  const running = server;
  logger.info(
    { c2s: running.ports.c2s, http: running.ports.http, directTls: running.ports.directTls, domain: config.domain },
    'listening',
  );

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`mucpush: ${signal} again, exiting without finishing the shutdown\n`);
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'stopping');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: STOP_TIMEOUT_MS }, 'shutdown timed out');
      void flushLogger(logger).then(() => process.exit(1));
    }, STOP_TIMEOUT_MS);
    timer.unref();
    running.stop().then(
      async () => {
        logger.info('stopped');
        await flushLogger(logger);
        process.exit(0);
      },
      async (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        await flushLogger(logger);
        process.exit(1);
      },
    );
  };
  // reload() logs what it applied, or the file's errors (the running config then stays).
  process.on('SIGHUP', () => void running.reload().catch(() => {}));
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
