import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/types.ts';
import { createLogger, flushLogger } from '../core/logger.ts';
import { installRejectionHandler } from '../core/unhandled.ts';
import { resolveConfig, type ConfigOptions } from './common.ts';

export interface StartOptions extends ConfigOptions {
  /** `--ephemeral`: a new temporary data folder, removed when the process exits. */
  ephemeral?: boolean;
}

/** Seconds `stop()` may take after a signal before the process exits anyway. */
const STOP_TIMEOUT_MS = 15_000;

/** A new temporary data folder, removed at exit (however the process exits, `process.exit` included). */
function ephemeralDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mucpush-ephemeral-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * `mucpush start`: starts the server, logs one `listening` line with the bound ports, and on
 * SIGTERM/SIGINT stops it and exits 0 (a second signal exits at once with status 1). SIGHUP reads
 * the same config file and flags again and applies what can change live (src/admin/reload.ts).
 */
export async function start(opts: StartOptions): Promise<void> {
  const { config, file } = await resolveConfig(opts);
  // Made once the configuration is known to be valid: a bad one leaves nothing behind.
  if (opts.ephemeral) config.dataDir = ephemeralDataDir();
  const logger = createLogger(config.log.level);
  installRejectionHandler(logger);
  logger.debug({ configFile: file, dataDir: config.dataDir }, 'configuration loaded');
  if (opts.ephemeral) logger.info({ dataDir: config.dataDir }, 'ephemeral data folder: removed on exit');
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
  // Only now: a supervisor that signals as soon as it reads this line finds the handlers in place
  // (the line is written off the main thread, which may not have run on yet).
  logger.info(
    { c2s: running.ports.c2s, http: running.ports.http, directTls: running.ports.directTls, domain: config.domain },
    'listening',
  );
  // The line a person reads (the one above is for programs: its format stays).
  logger.info(readyMessage(config, running.ports));
}

/** `mucpush ready: domain D, c2s P, [direct TLS P,] http P, demo page URL` */
export function readyMessage(config: Config, ports: { c2s: number; http: number; directTls: number | null }): string {
  const host = config.http.host;
  // A wildcard address is reachable as localhost from this machine; IPv6 literals need brackets.
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  const tls = ports.directTls !== null ? `, direct TLS ${ports.directTls}` : '';
  return `mucpush ready: domain ${config.domain}, c2s ${ports.c2s}${tls}, http ${ports.http}, demo page http://${shown}:${ports.http}/`;
}
