import type { Config } from '../config/types.ts';
import { createLogger, flushLogger } from '../core/logger.ts';
import { installRejectionHandler } from '../core/unhandled.ts';
import { resolveConfig, type ConfigOptions } from './common.ts';

/** Seconds `stop()` may take after a signal before the process exits anyway. */
const STOP_TIMEOUT_MS = 15_000;

/**
 * `mucpush start`: starts the server, logs one `listening` line with the bound ports, and on
 * SIGTERM/SIGINT stops it and exits 0 (a second signal exits at once with status 1).
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
    server = await startServer(config, logger);
  } catch (err) {
    await flushLogger(logger);
    throw err;
  }
  const running = server;
  logger.info(
    { c2s: running.ports.c2s, http: running.ports.http, directTls: running.ports.directTls, domain: config.domain },
    'listening',
  );
  // The line a person reads (the one above is for programs: its format stays).
  logger.info(readyMessage(config, running.ports));

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
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** `mucpush ready: domain D, c2s P, [direct TLS P,] http P, demo page URL` */
export function readyMessage(config: Config, ports: { c2s: number; http: number; directTls: number | null }): string {
  const host = config.http.host;
  // A wildcard address is reachable as localhost from this machine; IPv6 literals need brackets.
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  const tls = ports.directTls !== null ? `, direct TLS ${ports.directTls}` : '';
  return `mucpush ready: domain ${config.domain}, c2s ${ports.c2s}${tls}, http ${ports.http}, demo page http://${shown}:${ports.http}/`;
}
