import http from 'node:http';
import { attr, escapeXml, hasCode, isError, type Target } from '../lib/client.ts';
import { closeAll, loginMany, RUN_ID } from '../lib/load.ts';
import { processCpuSeconds } from '../lib/server.ts';
import { CpuMeter, now, pool, round, until } from '../lib/util.ts';
import type { Scenario } from './context.ts';

const NS_PUSH = 'urn:xmpp:push:0';
const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';

/** The scenario cannot run against this server (yet): reported, not failed. */
export class Skip extends Error {}

function httpGet(t: Target, path: string, timeoutMs = 5000): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: t.host, port: t.httpPort!, path, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
  });
}

/**
 * Counts Server-Sent Events from GET /push/events whose data mentions `marker`. Resolves once
 * the stream is open (status 200, text/event-stream), else rejects.
 */
function sseCounter(t: Target, marker: string): Promise<{ count: () => number; last: () => number; close: () => void }> {
  return new Promise((resolve, reject) => {
    let n = 0;
    let lastAt = 0;
    let carry = '';
    const req = http.get({ host: t.host, port: t.httpPort!, path: '/push/events', headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200 || !String(res.headers['content-type'] ?? '').includes('text/event-stream')) {
        res.resume();
        req.destroy();
        return reject(new Skip(`GET /push/events answered ${res.statusCode} ${res.headers['content-type'] ?? ''}`));
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const s = carry + chunk;
        let pos = 0;
        for (;;) {
          const nl = s.indexOf('\n', pos);
          if (nl < 0) break;
          if (s.startsWith('data:', pos) && s.lastIndexOf(marker, nl) >= pos) {
            n++;
            lastAt = now();
          }
          pos = nl + 1;
        }
        carry = s.slice(pos);
      });
      resolve({ count: () => n, last: () => lastAt, close: () => req.destroy() });
    });
    req.on('error', (err) => reject(new Skip(`GET /push/events failed: ${err.message}`)));
  });
}

/**
 * XEP-0357 for rooms: --members (1000) registered members (nick registered with
 * jabber:iq:register on the room, push enabled against the MUC domain with the built-in app
 * server) leave; a present sender posts --messages (20); policy `all` notifies each absent
 * member of each message. Counted over the app server's SSE stream on the HTTP port.
 */
export const push: Scenario = {
  name: 'push',
  describe: '--members (1000) absent registered members with push enabled, --messages (50) posted: notifications/s at the built-in app server',
  config: { push: { mucPolicy: 'all' } },
  async run({ target, pid, opt, log }) {
    const members = opt('members', 1000);
    const messages = opt('messages', 50);
    const room = `push-${RUN_ID}@${target.muc}`;
    const nodePrefix = `bench-${RUN_ID}-`;
    if (target.httpPort === null) throw new Skip('no HTTP port to count notifications on (pass --http-port for an external server)');

    const [owner] = await loginMany(target, ['bpowner']);
    const c = owner!;
    const info = await c.iq('get', target.muc, `<query xmlns='${NS_DISCO_INFO}'/>`, `disco#info of ${target.muc}`, true);
    if (!info.includes(NS_PUSH)) {
      await c.close();
      throw new Skip(`${target.muc} does not advertise ${NS_PUSH} in disco#info: push is not implemented (yet)`);
    }
    let sse;
    try {
      sse = await sseCounter(target, nodePrefix);
    } catch (err) {
      await c.close();
      throw err;
    }
    try {
      await c.join(room, 'sender');

      let t = now();
      const names = Array.from({ length: members }, (_, i) => `bp${i}`);
      // Each member: log in, join, register its nick, enable push on the MUC domain, leave, go offline.
      await pool(names, 32, async (name, i) => {
        const [m] = await loginMany(target, [name], 1);
        const mc = m!;
        const nick = `m${i}`;
        await mc.join(room, nick);
        await mc.iq(
          'set',
          room,
          `<query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#register</value></field><field var='muc#register_roomnick'><value>${nick}</value></field></x></query>`,
          `nick registration in ${room}`,
        );
        const en = await mc.iq('set', target.muc, `<enable xmlns='${NS_PUSH}' jid='${escapeXml(target.pushJid)}' node='${nodePrefix}${i}'/>`, 'push enable', true);
        if (isError(en)) throw new Skip(`push enable against ${target.muc} was refused: ${en}`);
        mc.send(`<presence to='${escapeXml(room)}/${nick}' type='unavailable'/>`);
        await mc.next((s) => s.startsWith('<presence') && attr(s, 'type') === 'unavailable' && hasCode(s, 110), 'leave confirmation');
        await mc.close();
      });
      log(`${members} members registered, push-enabled and gone (${Math.round(now() - t)} ms)`);

      // The sender posts, a few messages in flight (its own echo paces it).
      const expected = members * messages;
      const inflight = 4;
      let sent = 0;
      let echoed = 0;
      const sendNext = () => {
        if (sent >= messages) return;
        sent++;
        c.send(`<message to='${escapeXml(room)}' type='groupchat'><body>push bench ${sent}</body></message>`);
      };
      c.onStanza = (s) => {
        if (s.startsWith('<message') && attr(s, 'from') === `${room}/sender` && s.includes('push bench')) {
          echoed++;
          sendNext();
        }
      };
      const cpu0 = pid ? processCpuSeconds(pid) : NaN;
      const meter = new CpuMeter(pid);
      t = now();
      for (let i = 0; i < inflight; i++) sendNext();
      const done = await until(() => sse.count() >= expected, opt('timeout', 120) * 1000, 5);
      const got = sse.count();
      const elapsed = ((done ? sse.last() : now()) - t) / 1000;
      const cpu = pid ? processCpuSeconds(pid) - cpu0 : NaN;
      const usage = meter.read();
      log(`${got}/${expected} notifications in ${elapsed.toFixed(2)} s (${echoed} echoes)`);

      // One node's record over HTTP, as a cross-check.
      const probe = await httpGet(target, `/push/notifications?node=${encodeURIComponent(`${nodePrefix}0`)}`);
      let stored: number | null = null;
      let lastCount: unknown = null;
      try {
        const list = JSON.parse(probe.body) as Record<string, unknown>[] | { notifications?: Record<string, unknown>[] };
        const arr = Array.isArray(list) ? list : (list.notifications ?? []);
        stored = arr.length;
        lastCount = arr.at(-1)?.['message-count'] ?? null;
      } catch {
        // not JSON: reported as null
      }
      return {
        members,
        messages,
        expectedNotifications: expected,
        notifications: got,
        complete: done,
        seconds: round(elapsed),
        notificationsPerSecond: Math.round(got / elapsed),
        serverCpuSeconds: pid ? round(cpu) : undefined,
        otherCpuPct: usage.otherCpuPct,
        node0Stored: stored,
        node0LastMessageCount: typeof lastCount === 'object' ? null : (lastCount as string | number),
      };
    } finally {
      sse.close();
      await closeAll([c]);
    }
  },
};
