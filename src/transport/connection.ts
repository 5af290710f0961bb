import type { Element } from '../xml/element.ts';
import type { StreamError } from '../xml/errors.ts';
import { BlockList, isIP } from 'node:net';
import { escapeAttr } from '../xml/element.ts';

/** What a transport reports to the stream layer, already framed and parsed. */
export interface ConnectionHandler {
  streamStart(header: Element): void;
  stanza(el: Element): void;
  streamEnd(): void;
  /** The input was bad: the stream layer answers with this stream error and closes. */
  error(err: StreamError): void;
  /** The socket is gone (after an error, a close, or a network failure). */
  closed(): void;
  /**
   * The peer is not reading what is sent to it (over the output high-water mark, or nothing
   * drained within the send timeout): the stream layer drops or hibernates the session.
   */
  backlogged(reason: string): void;
}

export type TransportKind = 'tcp' | 'websocket';

/**
 * A client connection, whatever its framing. Output is buffered and flushed once per
 * event-loop turn, so a fan-out of N stanzas to one connection costs one system call.
 */
export interface Connection {
  readonly kind: TransportKind;
  readonly id: number;
  readonly remoteAddress: string;
  /** Encrypted, or trusted as if it were (loopback, trusted proxy). */
  readonly secure: boolean;
  /** TLS is in place on this connection itself (not only trusted). */
  readonly encrypted: boolean;
  readonly canStartTls: boolean;
  setHandler(handler: ConnectionHandler): void;
  /** Sends the stream header (TCP) or the framing <open/> (WebSocket). */
  openStream(attrs: Record<string, string>): void;
  /** Queues one top-level element, already serialized with its own namespaces. */
  write(xmlText: string): void;
  /** Bytes queued but not yet handed to the kernel (watched against the output high-water mark). */
  readonly pendingBytes: number;
  /**
   * The next `bytes` written are a resend the client asked for (XEP-0198 resumption): they may
   * go over the output high-water mark until they drained.
   */
  allowBacklog(bytes: number): void;
  /** Starts a fresh parser for a stream restart (after STARTTLS or SASL). */
  restartStream(): void;
  /** Upgrades to TLS after <proceed/> was written (TCP only). */
  startTls(): Promise<void>;
  /** Sends the stream end (</stream:stream> or <close/>) and closes gracefully. */
  closeStream(): void;
  /** Drops the socket without a goodbye (dead peer). */
  destroy(): void;
}

let nextId = 1;
export function nextConnectionId(): number {
  return nextId++;
}

/** Token bucket on input bytes: a connection that keeps exceeding it gets policy-violation. */
export class RateLimiter {
  private tokens: number;
  private last = Date.now();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Returns false when the bytes exceed what the bucket holds. */
  take(bytes: number): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
    this.last = now;
    this.tokens -= bytes;
    return this.tokens >= 0;
  }
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;
export function isLoopback(address: string): boolean {
  return LOOPBACK.test(address);
}

/** An IPv4-mapped IPv6 address (`::ffff:10.1.2.3`) as the IPv4 address it stands for. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** Matches peer addresses against a list of IPs and CIDR ranges (as `http.trustedProxies` holds). */
export function addressMatcher(list: string[]): (address: string) => boolean {
  const block = new BlockList();
  for (const entry of list) {
    const [ip, bits] = entry.split('/') as [string, string | undefined];
    const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) block.addAddress(unmapped(ip), isIP(unmapped(ip)) === 6 ? 'ipv6' : 'ipv4');
    else block.addSubnet(ip, Number(bits), family);
  }
  return (address) => {
    const a = unmapped(address);
    const family = isIP(a);
    return family !== 0 && block.check(a, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/** Whether a request came through a proxy that says the client used TLS (X-Forwarded-Proto: https). */
export function forwardedHttps(header: string | string[] | undefined): boolean {
  return String(header ?? '').split(',')[0]!.trim().toLowerCase() === 'https';
}

/**
 * The client's address behind trusted proxies: the right-most X-Forwarded-For entry that is not
 * itself a trusted proxy (entries further left are whatever the client chose to send).
 */
export function forwardedFor(header: string | string[] | undefined, trusted: (address: string) => boolean): string | undefined {
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((h) => h.trim())
    .filter((h) => isIP(h) !== 0);
  for (let i = hops.length - 1; i >= 0; i--) if (!trusted(hops[i]!)) return hops[i];
  return hops[0];
}

/**
 * Collects a connection's output during one event-loop turn and hands it to `sink` in one go,
 * so a fan-out of many stanzas to one client costs one system call.
 */
export class OutputBatch {
  private queue: string[] = [];
  private bytes = 0;
  private scheduled = false;

  constructor(private readonly sink: (items: string[]) => void) {}

  get pending(): number {
    return this.bytes;
  }

  push(text: string): void {
    this.queue.push(text);
    this.bytes += text.length;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Hands over what is queued now (also called before a close or a TLS upgrade). */
  flush(): void {
    this.scheduled = false;
    const items = this.queue;
    if (items.length === 0) return;
    this.queue = [];
    this.bytes = 0;
    this.sink(items);
  }

  /** Attributes of a stream header or <open/>, serialized. */
  static attrs(attrs: Record<string, string>): string {
    return Object.entries(attrs)
      .map(([k, v]) => ` ${k}="${escapeAttr(v)}"`)
      .join('');
  }
}
