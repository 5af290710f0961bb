import type net from 'node:net';
import type { Config } from './config/types.ts';
import type { Logger } from './core/logger.ts';
import type { ServerContext } from './core/context.ts';
import type { SessionEvents } from './core/events.ts';
import { Hooks } from './core/hooks.ts';
import { Store } from './store/db.ts';
import { AccountStore } from './store/accounts.ts';
import { Router } from './router/router.ts';
import { SessionRegistry } from './router/sessions.ts';
import { HttpServer, sendJson } from './transport/http.ts';
import { listenTcp, type TcpOptions } from './transport/tcp.ts';
import { listenNamed } from './transport/listen-error.ts';
import { createWebSocketEndpoint } from './transport/websocket.ts';
import { createSecureContext, loadConfiguredTls, loadOrCreateSelfSigned } from './transport/tls.ts';
import type { Connection } from './transport/connection.ts';
import { C2sStream } from './stream/c2s.ts';
import { SessionLifecycle } from './stream/lifecycle.ts';
import { AddressLimit } from './core/address-limit.ts';
import { StreamError, streamErrorElement } from './xml/errors.ts';
import { Host } from './host/host.ts';
import { installHostFeatures } from './host/features.ts';
import { installMuc } from './muc/index.ts';
import { installDemoPage } from './demo/page.ts';
import type { MucService } from './muc/service.ts';
import { installPush, type PushService } from './push/index.ts';
import { installAppServer, type AppServer } from './appserver/index.ts';
import { requestGuard, resolveHttpToken } from './appserver/http-token.ts';
import { installMetrics } from './ops/metrics.ts';
import { installHostMeta } from './transport/host-meta.ts';
import { AdminService } from './admin/service.ts';
import { listenAdminSocket } from './admin/socket.ts';
import { installServerCommands } from './host/adhoc.ts';
import { installMucCommands } from './muc/adhoc.ts';
import { applyReload, type ReloadResult } from './admin/reload.ts';
import { ConfigError } from './config/load.ts';

export interface RunningServer {
  ports: { c2s: number; http: number; directTls: number | null };
  ctx: ServerContext;
  host: Host;
  muc: MucService | null;
  push: PushService;
  /** The built-in XEP-0357 app server (null when disabled). */
  appServer: AppServer | null;
  http: HttpServer;
  /** Hands a connection from any transport to the stream layer (the listeners use it too). */
  accept(conn: Connection): void;
  /** What a service admin can do (also reached over <dataDir>/admin.sock and XEP-0133 commands). */
  admin: AdminService;
  /**
   * Reads the configuration again (the source `startServer` was given) and applies what can
   * change live (src/admin/reload.ts). A bad file is logged with its errors and rethrown; the
   * running configuration stays.
   */
  reload(): Promise<ReloadResult>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Where `reload()` reads the configuration from (the CLI: the same file and flags as at start). */
  loadConfig?: () => Promise<Config>;
}

/** Wires storage, routing, the user host and the transports; resolves once listening. */
export async function startServer(config: Config, log: Logger, opts: StartOptions = {}): Promise<RunningServer> {
  // Configured certificate files are checked before the data folder is opened (and created):
  // a bad file is a configuration error, which leaves nothing behind.
  const configuredTls = await loadConfiguredTls(config);
  const store = await Store.open(config.dataDir, {
    onStateChange: (state, err) =>
      state === 'failed'
        ? log.error({ err }, 'storage write failed: refusing writes until the database reopens cleanly (is the disk full?)')
        : log.warn('storage recovered: writes accepted again'),
  });
  const sessions = new SessionRegistry();
  const hooks = new Hooks<SessionEvents>();
  hooks.onError = (err, event) => log.error({ err, event }, 'event handler failed');
  const ctx: ServerContext = {
    config,
    log,
    hooks,
    router: new Router(sessions, log),
    sessions,
    store,
    accounts: new AccountStore(store),
  };
  const host = new Host(ctx);
  const lifecycle = new SessionLifecycle(ctx);
  const http = new HttpServer();
  const stoppers: (() => void | Promise<void>)[] = [];
  stoppers.push(await installHostFeatures(ctx, host, lifecycle));
  const muc = config.muc.domain ? await installMuc(ctx, host, config.muc.domain) : null;
  // One rule for every view that shows what users do: push inspection and /metrics.
  const guard = requestGuard(await resolveHttpToken(config, log));
  const appServer = config.appServer.domain ? await installAppServer(ctx, host, http, config.appServer.domain, guard) : null;
  if (appServer) stoppers.push(() => appServer.stop());
  const push = await installPush(ctx, host, muc, appServer?.app ?? null);
  stoppers.push(() => push.stop());
  stoppers.push(installMetrics({ ctx, traffic: lifecycle.traffic, muc, push, appServer: appServer?.app ?? null }, http, guard));

  const reload = async (): Promise<ReloadResult> => {
    if (!opts.loadConfig) throw new ConfigError(['this server was started without a config source to reload from']);
    let next: Config;
    try {
      next = await opts.loadConfig();
    } catch (err) {
      const errors = err instanceof ConfigError ? err.errors : [(err as Error).message];
      log.error({ errors, source: err instanceof ConfigError ? err.source : undefined }, 'config reload failed: the running configuration stays');
      throw err;
    }
    return applyReload(config, next, log);
  };
  const admin = new AdminService(ctx, lifecycle, muc, reload);
  installServerCommands(ctx, host, admin);
  if (muc) installMucCommands(muc, admin);

  const tlsMaterial = configuredTls ?? (await loadOrCreateSelfSigned(config));
  const secureContext = createSecureContext(tlsMaterial);
  const throttle = new AddressLimit(() => config.limits.authFailuresPerMinute);
  const open = new Set<C2sStream>();
  const track = (conn: Connection) => void new C2sStream(conn, { ctx, host, lifecycle, throttle, open });
  // The transports read the limits when a connection opens: with config.limits as the prototype
  // (not a copy), a reload's new limits apply to every later connection.
  const liveLimits = <T extends object>(extra: T): Config['limits'] & T => Object.assign(Object.create(config.limits) as Config['limits'], extra);
  const tcpOpts: TcpOptions = liveLimits({ secureContext, tlsMaterial });
  const servers: net.Server[] = [];
  const ws = createWebSocketEndpoint(liveLimits({ trustedProxies: config.http.trustedProxies }), track);
  const wsPath = '/xmpp-websocket';
  http.upgrade(wsPath, ws.upgrade, 'This is the XMPP over WebSocket endpoint (RFC 7395): connect with a WebSocket client, subprotocol "xmpp".\n');
  installDemoPage(config, http);
  installHostMeta(http, { trustedProxies: config.http.trustedProxies, wsPath });
  http.route('/health', (_req, res) => sendJson(res, 200, { status: 'ok', sessions: sessions.size }));
  let httpPort: number;
  try {
    const { host } = config.c2s;
    servers.push(await listenNamed({ port: config.c2s.port, host, portKey: 'c2s.port', portFlag: '--c2s-port', hostKey: 'c2s.host' }, () => listenTcp(host, config.c2s.port, tcpOpts, false, track)));
    const directTls = config.c2s.directTlsPort;
    if (directTls !== null) {
      servers.push(await listenNamed({ port: directTls, host, portKey: 'c2s.directTlsPort', portFlag: null, hostKey: 'c2s.host' }, () => listenTcp(host, directTls, tcpOpts, true, track)));
    }
    httpPort = await listenNamed({ port: config.http.port, host: config.http.host, portKey: 'http.port', portFlag: '--http-port', hostKey: 'http.host' }, () => http.listen(config.http.port, config.http.host));
  } catch (err) {
    // Nothing stays open behind a failed start (an in-process caller may try again).
    for (const s of servers) s.close();
    ws.close();
    for (const stop of stoppers.reverse()) await stop();
    await store.close();
    throw err;
  }
  const port = (s: net.Server) => (s.address() as net.AddressInfo).port;

  // Last, once everything it reaches is up; the LOCK is held, so no other server uses this folder.
  const closeAdmin = await listenAdminSocket(admin, config.dataDir, log);

  let stopped = false;
  return {
    ports: { c2s: port(servers[0]!), http: httpPort, directTls: servers[1] ? port(servers[1]) : null },
    ctx,
    host,
    muc,
    push,
    appServer: appServer?.app ?? null,
    http,
    accept: track,
    admin,
    reload,
    async stop() {
      if (stopped) return;
      stopped = true;
      await closeAdmin?.();
      for (const s of servers) s.close();
      // Rooms say goodbye (status 332) while the sessions can still hear it.
      await muc?.shutdown();
      const shutdown = streamErrorElement('system-shutdown').toString();
      for (const session of [...sessions.all()]) {
        session.connection?.write(shutdown);
        session.connection?.closeStream();
        lifecycle.close(session, 'server shutdown');
      }
      // Connections with no session yet (or no more) are ended too: none is left holding the process.
      for (const stream of [...open]) stream.fail(new StreamError('system-shutdown'));
      ws.close();
      // Let the session:closed handlers queued above run, then the services drain their writes
      // (offline messages of closing sessions among them) before storage goes away.
      await new Promise((r) => setImmediate(r));
      for (const stop of stoppers.reverse()) await stop();
      await http.close();
      await store.close();
    },
  };
}

