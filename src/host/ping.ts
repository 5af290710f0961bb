import { randomUUID } from 'node:crypto';
import type { ServerContext } from '../core/context.ts';
import { xml } from '../xml/element.ts';
import { NS } from '../xml/ns.ts';
import type { Host } from './host.ts';

/**
 * XEP-0199 both ways: answers pings to the server and to accounts, and pings clients that have
 * been silent for `ping.idleSeconds`; one that stays silent is treated as a dead connection
 * (hibernated if it can resume, closed otherwise).
 */
export function installPing(ctx: ServerContext, host: Host): () => void {
  host.iq.on('server', 'get', 'ping', NS.PING, () => undefined);
  host.iq.on('account', 'get', 'ping', NS.PING, () => undefined);
  host.disco.addFeature('server', NS.PING);
  const { idleSeconds, timeoutSeconds } = ctx.config.ping;
  if (idleSeconds <= 0) return () => {};
  const pinged = new Map<string, number>();
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const session of ctx.sessions.all()) {
        const conn = session.connection;
        if (!conn || session.state !== 'active') continue;
        const idle = now - session.lastActivity;
        const sentAt = pinged.get(session.jid.full);
        // Any input since the ping (even within the same millisecond) proves the client alive.
        if (sentAt !== undefined && sentAt <= session.lastActivity) pinged.delete(session.jid.full);
        else if (sentAt !== undefined && now - sentAt >= timeoutSeconds * 1000) {
          pinged.delete(session.jid.full);
          ctx.log.debug({ jid: session.jid.full }, 'no answer to ping: dropping the connection');
          conn.destroy();
        } else if (sentAt === undefined && idle >= idleSeconds * 1000) {
          pinged.set(session.jid.full, now);
          session.send(xml('iq', { type: 'get', id: `ping-${randomUUID()}`, from: ctx.config.domain, to: session.jid.full }, xml('ping', { xmlns: NS.PING })));
        }
      }
      for (const jid of pinged.keys()) if (!ctx.sessions.get(jid)) pinged.delete(jid);
    },
    Math.max(250, Math.min(idleSeconds, timeoutSeconds) * 500),
  );
  sweep.unref();
  return () => clearInterval(sweep);
}
