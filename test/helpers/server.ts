import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { client, xml, type Client } from '@xmpp/client';
import { WebSocket } from 'ws';
import type { Element } from '@xmpp/xml';
import { defaultConfig } from '../../src/config/defaults.ts';
import type { Config } from '../../src/config/types.ts';
import { createLogger } from '../../src/core/logger.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { deriveCredentials } from '../../src/stream/sasl/credentials.ts';

// The generated certificate is self-signed: the test clients accept it.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
process.removeAllListeners('warning');
// Node 20 has no global WebSocket; @xmpp/websocket expects the browser API, which ws provides.
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

export interface TestServer {
  server: RunningServer;
  config: Config;
  dataDir: string;
  domain: string;
  /** Creates an account directly in the store. */
  addUser(username: string, password?: string): Promise<void>;
  /** Logs a client in over TCP (STARTTLS) or WebSocket and waits until it is online. */
  login(username: string, opts?: { password?: string; transport?: 'tcp' | 'ws'; resource?: string }): Promise<TestClient>;
  /** Stops the server but keeps the data folder (for restart tests). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface TestClient {
  xmpp: Client;
  jid: string;
  /** Resolves with the next stanza that matches. */
  next(match: (el: Element) => boolean, timeoutMs?: number): Promise<Element>;
  /** All stanzas received so far. */
  received: Element[];
  send(el: Element): Promise<void>;
  iq(el: Element, timeoutMs?: number): Promise<Element>;
  stop(): Promise<void>;
}

function merge<T>(base: T, patch: DeepPartial<T> | undefined): T {
  if (!patch) return base;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(patch)) {
    const b = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' ? merge(b, v as never) : v;
  }
  return out as T;
}

/** Starts the real server on free loopback ports with a LevelDB in a temporary folder. */
export async function startTestServer(overrides?: DeepPartial<Config>): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mucpush-test-'));
  const base = defaultConfig();
  base.c2s.port = 0;
  base.http.port = 0;
  base.dataDir = dataDir;
  base.log.level = (process.env.MUCPUSH_TEST_LOG as Config['log']['level']) ?? 'silent';
  const config = merge(base, overrides);
  const log = createLogger(config.log.level, 2);
  let server = await startServer(config, log);
  const clients = new Set<TestClient>();

  const t: TestServer = {
    get server() {
      return server;
    },
    config,
    dataDir,
    domain: config.domain,
    async addUser(username, password = 'secret') {
      await server.ctx.accounts.put({ username, credentials: await deriveCredentials(password, 1024), created: Date.now() });
    },
    async login(username, opts = {}) {
      const service = opts.transport === 'ws' ? `ws://127.0.0.1:${server.ports.http}/xmpp-websocket` : `xmpp://127.0.0.1:${server.ports.c2s}`;
      const xmpp = client({ service, domain: config.domain, username, password: opts.password ?? 'secret', resource: opts.resource });
      const c = wrapClient(xmpp);
      xmpp.on('error', () => {});
      try {
        await xmpp.start();
      } catch (err) {
        // A failed login must not leave the client reconnecting in the background.
        await xmpp.stop().catch(() => {});
        throw err;
      }
      c.jid = xmpp.jid!.toString();
      clients.add(c);
      return c;
    },
    async restart() {
      for (const c of clients) await c.stop().catch(() => {});
      clients.clear();
      await server.stop();
      config.c2s.port = 0;
      config.http.port = 0;
      server = await startServer(config, log);
    },
    async stop() {
      for (const c of clients) await c.stop().catch(() => {});
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}

/** startTestServer with these accounts (password 'secret') already created. */
export async function startWithUsers(users: string[], overrides?: DeepPartial<Config>): Promise<TestServer> {
  const t = await startTestServer(overrides);
  for (const u of users) await t.addUser(u);
  return t;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function wrapClient(xmpp: Client): TestClient {
  const received: Element[] = [];
  const waiters: { match: (el: Element) => boolean; resolve: (el: Element) => void }[] = [];
  xmpp.on('stanza', (el: Element) => {
    received.push(el);
    const i = waiters.findIndex((w) => w.match(el));
    if (i !== -1) waiters.splice(i, 1)[0]!.resolve(el);
  });
  return {
    xmpp,
    jid: '',
    received,
    next(match, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const w = { match, resolve: (el: Element) => (clearTimeout(timer), resolve(el)) };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error('timed out waiting for a stanza'));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    send: (el) => xmpp.send(el),
    iq: (el, timeoutMs = 5000) => xmpp.iqCaller.request(el, timeoutMs),
    async stop() {
      await xmpp.stop().catch(() => {});
    },
  };
}

export { xml };
