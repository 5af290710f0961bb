import net from 'node:net';
import { sleep, type TestClient, type TestServer } from './server.ts';

/** Stream management and hibernation: sessions whose connection dies without a stream close. */

/** Waits until the server has stream management with resume on for this client. */
export async function smReady(t: TestServer, c: TestClient): Promise<void> {
  for (let i = 0; i < 100 && !t.server.ctx.sessions.get(c.jid)?.sm?.id; i++) await sleep(20);
  if (!t.server.ctx.sessions.get(c.jid)?.sm?.id) throw new Error('stream management with resume is not on');
}

/**
 * Kills a TCP client's socket without closing the stream (a closed tab, a phone going to
 * sleep, a lost network). The client reconnects unless `c.xmpp.reconnect.stop()` came first.
 */
export function killSocket(c: TestClient): void {
  const sock = c.xmpp.socket?.socket;
  if (!(sock instanceof net.Socket)) throw new Error('killSocket needs a connected TCP client');
  sock.destroy();
}

/** Resolves when the server hibernates a session of `bare`. */
export function nextHibernation(t: TestServer, bare: string): Promise<void> {
  return new Promise((resolve) => {
    const off: () => void = t.server.ctx.hooks.on('session:hibernated', ({ session }): void => {
      if (session.jid.bare === bare) (off(), resolve());
    });
  });
}

/** Resolves when a hibernated session of `bare` is resumed. */
export function nextResume(t: TestServer, bare: string): Promise<void> {
  return new Promise((resolve) => {
    const off: () => void = t.server.ctx.hooks.on('session:resumed', ({ session }): void => {
      if (session.jid.bare === bare) (off(), resolve());
    });
  });
}
