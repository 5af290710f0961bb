import type http from 'node:http';
import type { HttpServer } from '../transport/http.ts';
import type { AppServer, PushNotificationRecord } from './app-server.ts';
import type { RequestGuard } from './http-token.ts';
import { listNotifications, nextNotification, type NotificationFilter } from './inspection.ts';

// No CORS header: these bodies name room occupants (and carry message bodies with
// `push.withBody`); only same-origin pages (the demo) and non-browser clients read them.
function json(res: http.ServerResponse, status: number, body: unknown, extra: http.OutgoingHttpHeaders = {}): void {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(data),
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(data);
}

const HEARTBEAT_MS = 15_000;
/** The longest long-poll (`wait`), in seconds: longer asks are cut to it. */
export const MAX_WAIT_SECONDS = 60;

/** A non-negative integer query value, undefined when absent, NaN when malformed. */
function intParam(url: URL, name: string): number | undefined {
  const v = url.searchParams.get(name);
  if (v === null) return undefined;
  return /^\d{1,15}$/.test(v) ? Number(v) : NaN;
}

/** `node`, `account`, `room` and `since` from the query (`since` possibly NaN: see `intParam`). */
function filterOf(url: URL): NotificationFilter {
  const f: NotificationFilter = {};
  for (const k of ['node', 'account', 'room'] as const) {
    const v = url.searchParams.get(k);
    if (v !== null) f[k] = v;
  }
  const since = intParam(url, 'since');
  if (since !== undefined) f.since = since;
  return f;
}

/**
 * The app server over HTTP on the server's port (each record carries its `id`, `account` and `room`):
 * - `GET /push/notifications[?node=&account=&room=&since=ID]`: the kept notifications that
 *   match, JSON, oldest first; with `wait=SECONDS` (at most MAX_WAIT_SECONDS) and none to
 *   answer yet, waits that long for one (a long poll) and answers `[]` if none came;
 * - `DELETE /push/notifications[?node=NODE]`: forgets the kept notifications (ids go on);
 * - `GET /push/events[?node=NODE]`: Server-Sent Events, one `data:` JSON record per new one,
 *   each with its `id:`; a `Last-Event-ID` header replays the kept ones after that id first.
 * All pass `allowed` first (the token of `resolveHttpToken`, when one is needed).
 */
export function installAppServerHttp(app: AppServer, httpServer: HttpServer, allowed: RequestGuard): () => void {
  const streams = new Set<http.ServerResponse>();
  /** Ends the long polls at shutdown (they answer what they have: nothing). */
  const stopping = new AbortController();

  httpServer.route('/push/notifications', async (req, res, url) => {
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'DELETE') return json(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD, DELETE' });
    if (!allowed(req, res, url)) return;
    if (req.method === 'DELETE') return json(res, 200, { deleted: app.clear(url.searchParams.get('node') ?? undefined) });
    const filter = filterOf(url);
    const wait = intParam(url, 'wait');
    if (Number.isNaN(filter.since) || Number.isNaN(wait)) return json(res, 400, { error: 'since and wait must be non-negative integers' });
    const kept = listNotifications(app, filter);
    if (kept.length > 0 || !wait || req.method === 'HEAD') return json(res, 200, kept);
    // A long poll: answered by the first match, or empty when the wait ends or the client leaves.
    const gone = new AbortController();
    const leave = () => gone.abort();
    res.on('close', leave);
    const next = await nextNotification(app, { ...filter, since: filter.since ?? -1 }, Math.min(wait, MAX_WAIT_SECONDS) * 1000, AbortSignal.any([gone.signal, stopping.signal]));
    res.off('close', leave);
    if (res.destroyed) return;
    json(res, 200, next ? listNotifications(app, { ...filter, since: next.id - 1 }) : []);
  });

  httpServer.route('/push/events', (req, res, url) => {
    if (req.method !== 'GET') return json(res, 405, { error: 'method not allowed' });
    if (!allowed(req, res, url)) return;
    const node = url.searchParams.get('node');
    const lastId = String(req.headers['last-event-id'] ?? '').trim();
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n: connected\n\n');
    // A reconnecting EventSource names the last event it saw: the kept ones after it come first,
    // written in this turn, before any live one can be.
    if (/^\d{1,15}$/.test(lastId)) {
      const missed = listNotifications(app, { ...(node !== null ? { node } : {}), since: Number(lastId) });
      if (missed.length > 0) res.write(missed.map((n) => `id: ${n.id}\ndata: ${JSON.stringify(n)}\n\n`).join(''));
    }
    streams.add(res);
    // Events are gathered and written once per turn: a room's fan-out is one write, not hundreds.
    let pending = '';
    const flush = () => {
      const out = pending;
      pending = '';
      if (out && !res.writableEnded && !res.destroyed) res.write(out);
    };
    const off = app.onNotification((n: PushNotificationRecord, seq: number, data: string) => {
      if (node !== null && n.node !== node) return;
      if (pending === '') queueMicrotask(flush);
      pending += `id: ${seq}\ndata: ${data}\n\n`;
    });
    const done = () => {
      off();
      streams.delete(res);
    };
    req.on('close', done);
    res.on('close', done);
  });

  const heartbeat = setInterval(() => {
    for (const res of streams) res.write(': keep-alive\n\n');
  }, HEARTBEAT_MS);
  heartbeat.unref();

  return () => {
    stopping.abort();
    clearInterval(heartbeat);
    for (const res of streams) res.end();
    streams.clear();
  };
}
