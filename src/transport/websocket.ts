import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { parseFrame } from '../xml/frame-parser.ts';
import { StreamError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';
import { OutputWatch, type BackpressureOptions } from './backpressure.ts';
import { addressMatcher, forwardedFor, forwardedHttps, isLoopback, nextConnectionId, OutputBatch, RateLimiter, type Connection, type ConnectionHandler } from './connection.ts';

export interface WebSocketOptions extends BackpressureOptions {
  maxStanzaBytes: number;
  maxDepth: number;
  rateBytesPerSecond: number;
  rateBurstBytes: number;
  trustedProxies: string[];
}

/** RFC 7395: one element per text frame, <open/> and <close/> instead of the stream tags. */
export class WsConnection implements Connection {
  readonly kind = 'websocket' as const;
  readonly id = nextConnectionId();
  readonly encrypted = false;
  readonly canStartTls = false;
  readonly remoteAddress: string;
  readonly secure: boolean;
  private handler?: ConnectionHandler;
  private readonly output = new OutputBatch((frames) => this.writeOut(frames));
  private closed = false;
  private readonly limiter: RateLimiter;
  private readonly watch: OutputWatch;

  constructor(
    private readonly ws: WebSocket,
    req: IncomingMessage,
    private readonly opts: WebSocketOptions,
    isTrustedProxy: (address: string) => boolean = addressMatcher(opts.trustedProxies),
  ) {
    const peer = req.socket.remoteAddress ?? '';
    const viaProxy = isTrustedProxy(peer);
    // Behind a trusted proxy the client is named by X-Forwarded-For (auth throttling is per client).
    this.remoteAddress = (viaProxy && forwardedFor(req.headers['x-forwarded-for'], isTrustedProxy)) || peer;
    // A trusted proxy terminates TLS; loopback is the local developer or CI.
    this.secure = isLoopback(peer) || (viaProxy && forwardedHttps(req.headers['x-forwarded-proto']));
    this.limiter = new RateLimiter(opts.rateBytesPerSecond, opts.rateBurstBytes);
    this.watch = new OutputWatch(opts, () => this.pendingBytes, (reason) => this.handler?.backlogged(reason));
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      this.closed = true;
      this.watch.stop();
      const h = this.handler;
      this.handler = undefined;
      h?.closed();
    });
  }

  get pendingBytes(): number {
    return this.output.pending + this.ws.bufferedAmount;
  }

  setHandler(handler: ConnectionHandler): void {
    this.handler = handler;
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closed || !this.handler) return;
    if (isBinary) {
      this.handler.error(new StreamError('unsupported-encoding', 'binary frames are not XMPP'));
      return;
    }
    const text = data.toString();
    if (!this.limiter.take(text.length)) {
      this.handler.error(new StreamError('policy-violation', 'rate limit exceeded'));
      return;
    }
    let el;
    try {
      el = parseFrame(text, { maxStanzaBytes: this.opts.maxStanzaBytes, maxDepth: this.opts.maxDepth });
    } catch (err) {
      this.handler.error(err instanceof StreamError ? err : new StreamError('not-well-formed'));
      return;
    }
    if (el.name === 'open') {
      if (el.attrs.xmlns !== NS.FRAMING) this.handler.error(new StreamError('invalid-namespace'));
      else this.handler.streamStart(el);
    } else if (el.name === 'close') {
      if (el.attrs.xmlns !== NS.FRAMING) this.handler.error(new StreamError('invalid-namespace'));
      else this.handler.streamEnd();
    } else {
      this.handler.stanza(el);
    }
  }

  allowBacklog(bytes: number): void {
    this.watch.allow(bytes);
  }

  restartStream(): void {
    // Each frame is parsed alone: nothing to reset.
  }

  openStream(attrs: Record<string, string>): void {
    this.write(`<open xmlns="${NS.FRAMING}"${OutputBatch.attrs(attrs)}/>`);
  }

  write(xmlText: string): void {
    if (!this.closed) this.output.push(withClientNamespace(xmlText));
  }

  private writeOut(frames: string[]): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    // One frame per element, but a single system call for all of them.
    const sock = (this.ws as unknown as { _socket?: Duplex })._socket;
    sock?.cork();
    for (const f of frames) this.ws.send(f, this.watch.progress);
    // Measured once the frames went to the kernel: while corked, all of them count as pending.
    if (!sock) return this.watch.wrote();
    process.nextTick(() => {
      sock.uncork();
      this.watch.wrote();
    });
  }

  async startTls(): Promise<void> {
    throw new StreamError('unsupported-feature', 'no STARTTLS over WebSocket');
  }

  closeStream(): void {
    if (this.closed) return;
    this.write(`<close xmlns="${NS.FRAMING}"/>`);
    this.output.flush();
    this.closed = true;
    this.ws.close(1000);
    setTimeout(() => this.ws.terminate(), 5000).unref();
  }

  destroy(): void {
    this.closed = true;
    this.ws.terminate();
  }
}

/** Handles HTTP upgrades to the XMPP WebSocket endpoint; only the `xmpp` subprotocol is accepted. */
export function createWebSocketEndpoint(opts: WebSocketOptions, onConnection: (conn: WsConnection) => void) {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: opts.maxStanzaBytes + 1024,
    handleProtocols: (protocols) => (protocols.has('xmpp') ? 'xmpp' : false),
  });
  const isTrustedProxy = addressMatcher(opts.trustedProxies);
  return {
    upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
      const offered = String(req.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((s) => s.trim());
      if (!offered.includes('xmpp')) {
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nthe xmpp subprotocol is required\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => onConnection(new WsConnection(ws, req, opts, isTrustedProxy)));
    },
    close(): void {
      for (const c of wss.clients) c.terminate();
      wss.close();
    },
  };
}

const STANZA_START = /^<(message|presence|iq)[\s/>]/;

/**
 * RFC 7395 3.5: every frame is a fully namespaced element, so a stanza declares jabber:client
 * itself (over TCP the stream header does it). Serialized stanzas are shared by every session of
 * a fan-out, TCP ones included, so the declaration is added here, per frame.
 */
export function withClientNamespace(text: string): string {
  const m = STANZA_START.exec(text);
  if (!m) return text;
  const end = text.indexOf('>');
  if (text.slice(0, end).includes(' xmlns=')) return text;
  const at = m[1]!.length + 1;
  return `${text.slice(0, at)} xmlns="${NS.CLIENT}"${text.slice(at)}`;
}
