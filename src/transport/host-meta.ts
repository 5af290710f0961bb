import type http from 'node:http';
import { escapeAttr } from '../xml/element.ts';
import { addressMatcher, forwardedHttps } from './connection.ts';
import type { HttpServer } from './http.ts';

const XRD_NS = 'http://docs.oasis-open.org/ns/xri/xrd-1.0';
const WS_REL = 'urn:xmpp:alt-connections:websocket';
/** RFC 9110 host = uri-host [ ":" port ]: a reg-name or IPv4 address, or an [IPv6] literal. */
const HOST_HEADER = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * XEP-0156 discovery of the WebSocket endpoint: `/.well-known/host-meta` (XRD) and
 * `/.well-known/host-meta.json` (JRD). There is no configured public URL, so the href is this
 * request's Host header with `wss` when a trusted proxy says the client came over TLS
 * (the listener itself is plain HTTP).
 */
export function installHostMeta(http: HttpServer, opts: { trustedProxies: string[]; wsPath: string }): void {
  const isTrustedProxy = addressMatcher(opts.trustedProxies);
  const wsUrl = (req: http.IncomingMessage): string | null => {
    const host = req.headers.host;
    if (!host || !HOST_HEADER.test(host)) return null;
    const tls = isTrustedProxy(req.socket.remoteAddress ?? '') && forwardedHttps(req.headers['x-forwarded-proto']);
    return `${tls ? 'wss' : 'ws'}://${host}${opts.wsPath}`;
  };
  const serve = (type: string, body: (href: string) => string) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    // Browser clients (Converse's discover_connection_methods) fetch this from another origin.
    const headers = { 'access-control-allow-origin': '*', 'cache-control': 'no-cache' };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('Only GET and HEAD are allowed here.\n');
      return;
    }
    const href = wsUrl(req);
    if (href === null) {
      res.writeHead(400, { ...headers, 'content-type': 'text/plain; charset=utf-8' });
      res.end('A valid Host header is required to name the WebSocket endpoint.\n');
      return;
    }
    const data = body(href);
    res.writeHead(200, { ...headers, 'content-type': type, 'content-length': Buffer.byteLength(data) });
    res.end(req.method === 'HEAD' ? undefined : data);
  };
  http.route('/.well-known/host-meta', serve('application/xrd+xml; charset=utf-8',
    (href) => `<?xml version='1.0' encoding='utf-8'?>\n<XRD xmlns='${XRD_NS}'><Link rel='${WS_REL}' href='${escapeAttr(href)}'/></XRD>\n`));
  http.route('/.well-known/host-meta.json', serve('application/json; charset=utf-8',
    (href) => JSON.stringify({ links: [{ rel: WS_REL, href }] })));
}
