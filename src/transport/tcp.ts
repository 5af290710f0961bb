import net from 'node:net';
import tls from 'node:tls';
import { StreamParser } from '../xml/stream-parser.ts';
import { StreamError } from '../xml/errors.ts';
import { OutputWatch, type BackpressureOptions } from './backpressure.ts';
import { isLoopback, nextConnectionId, OutputBatch, RateLimiter, type Connection, type ConnectionHandler } from './connection.ts';

export interface TcpOptions extends BackpressureOptions {
  maxStanzaBytes: number;
  maxDepth: number;
  rateBytesPerSecond: number;
  rateBurstBytes: number;
  secureContext: tls.SecureContext;
  /** PEM key and certificate: a direct-TLS listener needs them (it ignores `secureContext`). */
  tlsMaterial: { key: string; cert: string };
}

/** An XMPP stream over TCP (RFC 6120), with STARTTLS or direct TLS. */
export class TcpConnection implements Connection {
  readonly kind = 'tcp' as const;
  readonly id = nextConnectionId();
  readonly remoteAddress: string;
  encrypted: boolean;
  private socket: net.Socket;
  private handler?: ConnectionHandler;
  private parser!: StreamParser;
  private readonly output = new OutputBatch((items) => this.writeOut(items));
  private closed = false;
  private readonly limiter: RateLimiter;
  private readonly watch: OutputWatch;

  constructor(
    socket: net.Socket,
    private readonly opts: TcpOptions,
    directTls: boolean,
  ) {
    this.socket = socket;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.encrypted = directTls;
    this.limiter = new RateLimiter(opts.rateBytesPerSecond, opts.rateBurstBytes);
    this.watch = new OutputWatch(opts, () => this.pendingBytes, (reason) => this.handler?.backlogged(reason));
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.onClose());
    this.attach(socket);
  }

  get secure(): boolean {
    return this.encrypted || isLoopback(this.remoteAddress);
  }

  get canStartTls(): boolean {
    return !this.encrypted;
  }

  get pendingBytes(): number {
    return this.output.pending + this.socket.writableLength;
  }

  setHandler(handler: ConnectionHandler): void {
    this.handler = handler;
  }

  private attach(socket: net.Socket): void {
    // Not setEncoding('utf8'): it replaces invalid bytes with U+FFFD, which would then be
    // relayed. A fatal streaming decoder refuses them and still joins a character split
    // across reads. One decoder per socket: the TLS socket after STARTTLS starts afresh.
    const decoder = new TextDecoder('utf-8', { fatal: true });
    this.restartStream();
    socket.on('data', (chunk: Buffer) => {
      if (this.closed) return;
      if (!this.limiter.take(chunk.length)) {
        this.handler?.error(new StreamError('policy-violation', 'rate limit exceeded'));
        return;
      }
      let text: string;
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch {
        // RFC 6120 4.9.3.22: a stream that violates the rules of UTF-8.
        this.handler?.error(new StreamError('unsupported-encoding', 'the input is not valid UTF-8'));
        return;
      }
      if (text) this.parser.write(text);
    });
  }

  allowBacklog(bytes: number): void {
    this.watch.allow(bytes);
  }

  restartStream(): void {
    const parser = new StreamParser({ maxStanzaBytes: this.opts.maxStanzaBytes, maxDepth: this.opts.maxDepth });
    parser.on('streamStart', (el) => this.parser === parser && this.handler?.streamStart(el));
    parser.on('stanza', (el) => this.parser === parser && this.handler?.stanza(el));
    parser.on('streamEnd', () => this.parser === parser && this.handler?.streamEnd());
    parser.on('error', (err) => this.parser === parser && this.handler?.error(err));
    this.parser = parser;
  }

  openStream(attrs: Record<string, string>): void {
    this.write(`<?xml version='1.0'?><stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams"${OutputBatch.attrs(attrs)}>`);
  }

  write(xmlText: string): void {
    if (!this.closed) this.output.push(xmlText);
  }

  private writeOut(items: string[]): void {
    if (this.socket.destroyed) return;
    this.socket.write(items.length === 1 ? items[0]! : items.join(''), this.watch.progress);
    this.watch.wrote();
  }

  async startTls(): Promise<void> {
    const plain = this.socket;
    // Bytes sent after <starttls/> must not be processed in the clear (command injection).
    plain.removeAllListeners('data');
    plain.pause();
    this.output.flush();
    await new Promise<void>((resolve) => (plain.writableLength === 0 ? resolve() : plain.once('drain', () => resolve())));
    const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: this.opts.secureContext });
    plain.removeAllListeners('close');
    secure.on('error', () => secure.destroy());
    secure.on('close', () => this.onClose());
    this.socket = secure;
    this.encrypted = true;
    this.attach(secure);
  }

  closeStream(): void {
    if (this.closed) return;
    this.write('</stream:stream>');
    this.output.flush();
    this.closed = true;
    this.socket.end();
    // A peer that never answers the closing tag is dropped.
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private onClose(): void {
    this.closed = true;
    this.watch.stop();
    const h = this.handler;
    this.handler = undefined;
    h?.closed();
  }
}

export function listenTcp(
  host: string,
  port: number,
  opts: TcpOptions,
  directTls: boolean,
  onConnection: (conn: TcpConnection) => void,
): Promise<net.Server> {
  const server = directTls
    ? tls.createServer({ key: opts.tlsMaterial.key, cert: opts.tlsMaterial.cert }, (s) => onConnection(new TcpConnection(s, opts, true)))
    : net.createServer((s) => onConnection(new TcpConnection(s, opts, false)));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
