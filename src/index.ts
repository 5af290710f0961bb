/**
 * The in-process API for test suites: `import { startServer } from 'mucpush'` starts a real
 * server (real sockets, real LevelDB) on free loopback ports in a temporary data folder, and
 * gives the push notifications the built-in app server received.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { PushNotificationRecord } from './appserver/app-server.ts';
import { listNotifications, nextNotification, type NotificationFilter } from './appserver/inspection.ts';
import { addAccount } from './admin/accounts.ts';
import { accountOf } from './cli/common.ts';
import { defaultConfig } from './config/defaults.ts';
import { validateConfig } from './config/load.ts';
import type { Config } from './config/types.ts';
import { createLogger, flushLogger, type LogLevel } from './core/logger.ts';
import { startServer as startRunning, type RunningServer } from './server.ts';
import { selfSignedPaths } from './transport/tls.ts';

export type { Config } from './config/types.ts';
export type { LogLevel } from './core/logger.ts';
export type { PushNotificationRecord } from './appserver/app-server.ts';
export type { NotificationFilter } from './appserver/inspection.ts';
export type { RunningServer } from './server.ts';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

export interface StartOptions {
  /** The served domain (default `localhost`); the MUC and push services follow it. */
  domain?: string;
  /** Data folder to use and keep (as `config.dataDir` would). Default: a new temporary folder, removed by `stop()`. */
  dataDir?: string;
  /** Rooms open without the owner's configuration form (muc.unlockedByDefault). Default true. */
  unlockedRooms?: boolean;
  /** Default `silent`; log lines go to stdout as JSON. */
  logLevel?: LogLevel;
  /** Any other settings, as in a config file (ports default to 0: free ones, on 127.0.0.1). */
  config?: DeepPartial<Config>;
  /** Accounts to create: local part (or bare JID) to password. */
  users?: Record<string, string>;
}

export interface PushInspector {
  /** The kept notifications that match the filter (all by default), oldest first. */
  notifications(filter?: NotificationFilter): PushNotificationRecord[];
  /**
   * The oldest matching notification that no earlier `next()` returned, whether it arrived
   * before the call or after it; rejects when none comes within `timeoutMs` (default 5000).
   */
  next(filter?: NotificationFilter, opts?: { timeoutMs?: number }): Promise<PushNotificationRecord>;
  /** Forgets the kept notifications (of one node, or all); returns how many. */
  clear(node?: string): number;
}

export interface MucpushServer {
  domain: string;
  /** The MUC service (null when disabled). */
  mucDomain: string | null;
  /** The built-in push app server, the `jid` of an `<enable/>` (null when disabled). */
  pushDomain: string | null;
  ports: RunningServer['ports'];
  /** `xmpp://127.0.0.1:PORT` (STARTTLS) and `ws://127.0.0.1:PORT/xmpp-websocket`. */
  urls: { xmpp: string; websocket: string };
  dataDir: string;
  /** The generated self-signed certificate (PEM), when no tls.certFile is configured. */
  certFile: string | null;
  config: Config;
  addUser(user: string, password: string): Promise<void>;
  push: PushInspector;
  /** The running server's internals, for what this API does not cover. */
  server: RunningServer;
  /** Stops the server and removes the temporary data folder (unless `dataDir` was given). */
  stop(): Promise<void>;
}

/** Starts a server for a test; see `StartOptions` for the defaults. */
export async function startServer(options: StartOptions = {}): Promise<MucpushServer> {
  const given = options.dataDir ?? options.config?.dataDir;
  const ephemeral = given === undefined;
  const dataDir = given ?? (await mkdtemp(join(tmpdir(), 'mucpush-')));
  const base = defaultConfig();
  base.c2s.host = base.http.host = '127.0.0.1';
  base.c2s.port = base.http.port = 0;
  base.muc.unlockedByDefault = true;
  base.log.level = 'silent';
  const raw = structuredClone(options.config ?? {}) as DeepPartial<Config>;
  raw.dataDir = resolve(dataDir);
  if (options.domain !== undefined) raw.domain = options.domain;
  if (options.unlockedRooms !== undefined) raw.muc = { ...raw.muc, unlockedByDefault: options.unlockedRooms };
  if (options.logLevel !== undefined) raw.log = { ...raw.log, level: options.logLevel };
  let running: RunningServer;
  let config: Config;
  let log: ReturnType<typeof createLogger>;
  try {
    config = validateConfig(raw, base);
    log = createLogger(config.log.level);
    running = await startRunning(config, log);
  } catch (err) {
    if (ephemeral) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }

  const addUser = async (user: string, password: string) => {
    const { username, jid } = accountOf(config, user.includes('@') ? user : `${user}@${config.domain}`);
    await addAccount(running.ctx.accounts, username, jid, password);
  };

  const app = () => {
    if (!running.appServer) throw new Error('the built-in push app server is disabled (appServer.domain is false)');
    return running.appServer;
  };
  /** Ids `next()` returned: each notification is returned once. */
  const taken = new Set<number>();
  const push: PushInspector = {
    notifications: (filter = {}) => listNotifications(app(), filter),
    async next(filter = {}, opts = {}) {
      const timeoutMs = opts.timeoutMs ?? 5000;
      // Claimed as it matches, so two waiting calls never get the same one.
      const claim = (r: PushNotificationRecord) => !taken.has(r.id) && taken.add(r.id) !== undefined;
      const found = await nextNotification(app(), { ...filter, since: filter.since ?? -1 }, timeoutMs, undefined, claim);
      if (!found) throw new Error(`no push notification matching ${JSON.stringify(filter)} within ${timeoutMs} ms`);
      return found;
    },
    clear(node) {
      // Ids only grow: once none is kept, none taken can come back.
      if (node === undefined) taken.clear();
      return app().clear(node);
    },
  };

  try {
    for (const [user, password] of Object.entries(options.users ?? {})) await addUser(user, password);
  } catch (err) {
    await running.stop();
    if (ephemeral) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }

  let stopping: Promise<void> | null = null;
  return {
    domain: config.domain,
    mucDomain: config.muc.domain,
    pushDomain: config.appServer.domain,
    ports: running.ports,
    urls: { xmpp: `xmpp://127.0.0.1:${running.ports.c2s}`, websocket: `ws://127.0.0.1:${running.ports.http}/xmpp-websocket` },
    dataDir: config.dataDir,
    certFile: config.tls.certFile === null ? selfSignedPaths(config.dataDir).cert : null,
    config,
    addUser,
    push,
    server: running,
    stop() {
      stopping ??= (async () => {
        await running.stop();
        await flushLogger(log);
        if (ephemeral) await rm(dataDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
