import http from 'node:http';
import type { Duplex } from 'node:stream';

export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => void | Promise<void>;

/**
 * The one HTTP server of the process: WebSocket upgrades, health, push inspection, demo page.
 * Features register their routes; the transport knows none of them.
 */
export class HttpServer {
  private readonly routes = new Map<string, RouteHandler>();
  private readonly prefixRoutes: [string, RouteHandler][] = [];
  private readonly upgrades = new Map<string, (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void>();
  /** What a plain request to an upgrade path is told (with 426 Upgrade Required). */
  private readonly upgradeHints = new Map<string, string>();
  readonly server = http.createServer((req, res) => void this.onRequest(req, res));

  constructor() {
    this.server.on('upgrade', (req, socket, head) => {
      // Node hands over an upgrade socket without an 'error' listener: a peer reset would crash the process.
      socket.on('error', () => socket.destroy());
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const h = this.upgrades.get(path);
      if (h) h(req, socket, head);
      else socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
    });
  }

  route(path: string, handler: RouteHandler): void {
    this.routes.set(path, handler);
  }

  /** Routes every path under `prefix` (e.g. static files). */
  routePrefix(prefix: string, handler: RouteHandler): void {
    this.prefixRoutes.push([prefix, handler]);
    this.prefixRoutes.sort((a, b) => b[0].length - a[0].length);
  }

  upgrade(path: string, handler: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void, hint = 'This endpoint takes WebSocket connections only.\n'): void {
    this.upgrades.set(path, handler);
    this.upgradeHints.set(path, hint);
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const hint = this.upgradeHints.get(url.pathname);
    if (hint !== undefined) {
      // RFC 9110 15.5.22: the path exists, but only over the protocol named in Upgrade.
      res.writeHead(426, { upgrade: 'websocket', connection: 'Upgrade', 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(hint) });
      res.end(hint);
      return;
    }
    const handler = this.routes.get(url.pathname) ?? this.prefixRoutes.find(([p]) => url.pathname.startsWith(p))?.[1];
    try {
      if (handler) await handler(req, res, url);
      else sendJson(res, 404, { error: 'not found' });
    } catch (err) {
      if (!res.headersSent) sendJson(res, 500, { error: (err as Error).message });
      else res.end();
    }
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as { port: number }).port);
      });
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}
