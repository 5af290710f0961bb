import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AppServer } from '../appserver/app-server.ts';
import type { RequestGuard } from '../appserver/http-token.ts';
import type { ServerContext } from '../core/context.ts';
import type { MucService } from '../muc/service.ts';
import type { PushService } from '../push/index.ts';
import type { HttpServer } from '../transport/http.ts';
import type { TransportKind } from '../transport/connection.ts';
import type { StanzaTraffic } from '../stream/session.ts';

/** What the metrics read: the running server's parts. None of them knows this file. */
export interface MetricSources {
  ctx: ServerContext;
  traffic: StanzaTraffic;
  muc: MucService | null;
  push: PushService;
  appServer: AppServer | null;
}

const TRANSPORTS: TransportKind[] = ['tcp', 'websocket'];

/**
 * `GET /metrics` in the Prometheus text format, behind `guard` (the push inspection's token
 * rule). One Registry per server, so two servers in one process (tests) count apart. Gauges are
 * read from the server's state at scrape time; counters listen to the features' events.
 * Returns what detaches the listeners.
 */
export function installMetrics(src: MetricSources, http: HttpServer, guard: RequestGuard): () => void {
  const registry = new Registry();
  // Process metrics, among them nodejs_eventloop_lag_seconds.
  collectDefaultMetrics({ register: registry });
  const offs: (() => void)[] = [];

  new Gauge({
    name: 'mucpush_sessions',
    help: 'Bound client sessions with a connection, by transport',
    labelNames: ['transport'],
    registers: [registry],
    collect() {
      const counts = new Map<TransportKind, number>(TRANSPORTS.map((t) => [t, 0]));
      for (const s of src.ctx.sessions.all()) if (s.connection) counts.set(s.connection.kind, (counts.get(s.connection.kind) ?? 0) + 1);
      for (const [transport, n] of counts) this.set({ transport }, n);
    },
  });
  new Gauge({
    name: 'mucpush_sm_hibernated_sessions',
    help: 'Sessions waiting to be resumed (XEP-0198) after their connection dropped',
    registers: [registry],
    collect() {
      let n = 0;
      for (const s of src.ctx.sessions.all()) if (s.state === 'hibernated') n++;
      this.set(n);
    },
  });
  const stanzas = new Counter({
    name: 'mucpush_stanzas_total',
    help: 'Stanzas received from (in) and sent to (out) client sessions',
    labelNames: ['direction'],
    registers: [registry],
    collect() {
      stanzas.reset();
      stanzas.inc({ direction: 'in' }, src.traffic.stanzasIn);
      stanzas.inc({ direction: 'out' }, src.traffic.stanzasOut);
    },
  });

  const muc = src.muc;
  if (muc) {
    new Gauge({
      name: 'mucpush_rooms',
      help: 'Rooms loaded in memory (stored persistent rooms load when first addressed)',
      registers: [registry],
      collect() {
        this.set(muc.rooms.size);
      },
    });
    new Gauge({
      name: 'mucpush_room_occupants',
      help: 'Occupants (nicknames) in all rooms',
      registers: [registry],
      collect() {
        let n = 0;
        for (const room of muc.rooms.values()) n += room.occupants.size;
        this.set(n);
      },
    });
    const messages = new Counter({ name: 'mucpush_muc_messages_total', help: 'Groupchat messages broadcast in rooms', registers: [registry] });
    offs.push(muc.hooks.on('room:message', () => void messages.inc()));
    const archiveWrites = new Histogram({
      name: 'mucpush_archive_write_seconds',
      help: 'Time to commit one batch of room archive messages to disk',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    const archive = muc.archive;
    if (archive) {
      const onWrite = (seconds: number) => archiveWrites.observe(seconds);
      archive.written.add(onWrite);
      offs.push(() => archive.written.delete(onWrite));
    }
  }

  const pushSent = new Counter({
    name: 'mucpush_push_notifications_sent_total',
    help: 'XEP-0357 notifications sent to app servers',
    registers: [registry],
    collect() {
      pushSent.reset();
      pushSent.inc(src.push.stats.sent);
    },
  });
  const pushFailed = new Counter({
    name: 'mucpush_push_notifications_failed_total',
    help: 'Notifications an app server refused (reason: its error condition), asked to retry later (wait-CONDITION) or did not answer (timeout)',
    labelNames: ['reason'],
    registers: [registry],
  });
  offs.push(
    src.push.onOutcome(({ outcome, condition }) => {
      if (outcome === 'result') return;
      const reason = outcome === 'timeout' ? 'timeout' : outcome === 'wait' ? `wait-${condition ?? 'undefined-condition'}` : (condition ?? 'undefined-condition');
      pushFailed.inc({ reason });
    }),
  );

  const app = src.appServer;
  if (app) {
    const received = new Counter({ name: 'mucpush_appserver_notifications_total', help: 'Notifications the built-in app server accepted', registers: [registry] });
    offs.push(app.onNotification(() => received.inc()));
  }

  http.route('/metrics', async (req, res, url) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (!guard(req, res, url)) return;
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });

  return () => {
    for (const off of offs) off();
    registry.clear();
  };
}
