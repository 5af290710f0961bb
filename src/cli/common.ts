import { InvalidArgumentError } from 'commander';
import { createInterface } from 'node:readline';
import { ConfigError, loadConfig, type ConfigFlags } from '../config/load.ts';
import type { Config } from '../config/types.ts';
import { accountOf as parseAccount } from '../admin/accounts.ts';
import { adminRequest, NoServerError } from '../admin/client.ts';
import type { AdminRequest } from '../admin/protocol.ts';
import { Store } from '../store/db.ts';

/** An error caused by the user (bad input, missing account...): printed without a stack. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** Environment variable naming a config file that is read when present (used by the Docker image). */
export const CONFIG_ENV = 'MUCPUSH_CONFIG';

/** Options shared by every command that needs the configuration. */
export interface ConfigOptions {
  config?: string;
  dataDir?: string;
  domain?: string;
  c2sPort?: number;
  httpPort?: number;
  host?: string;
  unlockedRooms?: boolean;
  logLevel?: string;
}

/** commander argument parser for a TCP port. */
export function parsePort(value: string): number {
  const n = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 0 && n <= 65535)) throw new InvalidArgumentError('must be an integer from 0 to 65535.');
  return n;
}

/** commander argument parser for a non-empty value. */
export function nonEmpty(value: string): string {
  if (value.length === 0) throw new InvalidArgumentError('must not be empty.');
  return value;
}

/**
 * The effective configuration: defaults, then `--config FILE` (which must exist) or else the
 * file named by $MUCPUSH_CONFIG (skipped when missing), then the command-line flags.
 */
export async function resolveConfig(opts: ConfigOptions): Promise<{ config: Config; file: string | null }> {
  const flags: ConfigFlags = {};
  if (opts.domain !== undefined) flags.domain = opts.domain;
  if (opts.dataDir !== undefined) flags.dataDir = opts.dataDir;
  if (opts.c2sPort !== undefined) flags.c2sPort = opts.c2sPort;
  if (opts.httpPort !== undefined) flags.httpPort = opts.httpPort;
  if (opts.host !== undefined) flags.host = opts.host;
  if (opts.unlockedRooms !== undefined) flags.unlockedRooms = opts.unlockedRooms;
  if (opts.logLevel !== undefined) flags.logLevel = opts.logLevel;
  const envFile = process.env[CONFIG_ENV];
  return loadConfig({
    ...(opts.config !== undefined ? { file: opts.config } : envFile ? { optionalFile: envFile } : {}),
    flags,
  });
}

/**
 * The account key of a JID given on the command line: its localpart as parsing prepares it
 * (PRECIS, src/core/jid.ts), the same form IBR and SASL use.
 */
export function accountOf(config: Config, input: string): { username: string; jid: string } {
  return parseAccount(config.domain, input);
}

/**
 * Runs an account command on the running server through its admin socket when one listens on
 * this data folder (the server holds the database), else directly on the stopped server's store.
 */
export async function viaServerOrStore<T>(config: Config, req: AdminRequest, direct: (store: Store) => Promise<T>): Promise<T> {
  try {
    return (await adminRequest(config.dataDir, req)) as T;
  } catch (err) {
    if (!(err instanceof NoServerError)) throw err;
  }
  return withStore(config, direct);
}

/** Opens the store, runs `fn`, and always closes it. */
export async function withStore<T>(config: Config, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await Store.open(config.dataDir);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** The password from `--password`, else one line from stdin (a prompt without echo on a terminal). */
export async function readPassword(flag: string | undefined): Promise<string> {
  const password = flag ?? (process.stdin.isTTY ? await promptHidden('Password: ') : await readLine());
  if (password === undefined) throw new UserError('no password given: use --password or write it on stdin');
  if (password.length === 0) throw new UserError('the password must not be empty');
  return password;
}

function readLine(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
    let line: string | undefined;
    rl.once('line', (l) => {
      line = l.replace(/\r$/, '');
      rl.close();
    });
    rl.once('close', () => {
      process.stdin.pause();
      resolve(line);
    });
  });
}

function promptHidden(prompt: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.setEncoding('utf8');
    stdin.resume();
    let value = '';
    const done = (result: string | undefined, err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(result);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done(value);
        if (ch === '\u0003') return done(undefined, new UserError('interrupted'));
        if (ch === '\u0004') return done(value.length > 0 ? value : undefined);
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** Lines to print for an error: one per configuration problem, else the message. */
export function errorLines(err: unknown): string[] {
  if (err instanceof ConfigError) {
    const prefix = err.source ? `${err.source}: ` : '';
    return err.errors.map((e) => `${prefix}${e}`);
  }
  if (err instanceof Error) return [err.message];
  return [String(err)];
}
