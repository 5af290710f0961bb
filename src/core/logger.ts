import pino from 'pino';
import pretty from 'pino-pretty';
import type { LogLevel } from '../config/types.ts';

export type Logger = pino.Logger;
export type { LogLevel } from '../config/types.ts';

/**
 * A JSON-lines logger on stdout (or `dest`: a file descriptor or path); on stdout when it is a
 * terminal, human-readable lines instead (pino-pretty, written synchronously: a person reads
 * them, no process parses them, and none is lost at exit). The JSON destination is
 * asynchronous (sonic-boom, `sync: false`): a log call appends to a buffer and the write happens
 * off the call path, so logging never blocks a hot path. Lines are written as soon as the
 * previous write completes (no minimum batch), so a watcher sees them promptly. Call
 * `flushLogger` before exiting (pino also flushes synchronously on process exit as a last resort).
 */
export function createLogger(level: LogLevel = 'info', dest: number | string = 1, terminal = dest === 1 && process.stdout.isTTY === true): Logger {
  const destination = terminal
    ? pretty({ destination: dest, sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
    : pino.destination({ dest, sync: false, minLength: 0 });
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** Writes out everything buffered; resolves even if the destination errored or is already closed. */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    try {
      logger.flush(() => resolve());
    } catch {
      resolve();
    }
  });
}
