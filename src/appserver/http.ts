import type http from 'node:http';
import type { HttpServer } from '../transport/http.ts';
import type { AppServer, PushNotificationRecord } from './app-server.ts';
import type { RequestGuard } from './http-token.ts';

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

/**
 * The app server over HTTP on the server's port:
 * - `GET /push/notifications?node=NODE`: the node's kept notifications, JSON, newest last
 *   (without `node`: every node's, in arrival order);
 * - `GET /push/events[?node=NODE]`: Server-Sent Events, one `data:` JSON record per new one.
 * Both pass `allowed` first (the token of `resolveHttpToken`, when one is needed).
 */
export function installAppServerHttp(app: AppServer, httpServer: HttpServer, allowed: RequestGuard): () => void {
  const streams = new Set<http.ServerResponse>();

  httpServer.route('/push/notifications', (req, res, url) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'method not allowed' });
    if (!allowed(req, res, url)) return;
    const node = url.searchParams.get('node');
    json(res, 200, app.notifications(node ?? undefined));
  });

  httpServer.route('/push/events', (req, res, url) => {
    if (req.method !== 'GET') return json(res, 405, { error: 'method not allowed' });
    if (!allowed(req, res, url)) return;
    const node = url.searchParams.get('node');
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n: connected\n\n');
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
    clearInterval(heartbeat);
    for (const res of streams) res.end();
    streams.clear();
  };
}
