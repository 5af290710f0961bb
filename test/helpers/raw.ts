import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { WebSocket } from 'ws';
import type { Element } from '../../src/xml/element.ts';
import { StreamParser } from '../../src/xml/stream-parser.ts';
import { parseFrame } from '../../src/xml/frame-parser.ts';
import type { Hooks } from '../../src/core/hooks.ts';

/**
 * Raw XMPP clients for protocol tests: they send exact bytes and collect what the server
 * answers, parsed with the server's own strict parser (so a malformed answer fails the test).
 */

export const NS = {
  CLIENT: 'jabber:client',
  STREAM: 'http://etherx.jabber.org/streams',
  STREAMS_ERR: 'urn:ietf:params:xml:ns:xmpp-streams',
  STANZAS_ERR: 'urn:ietf:params:xml:ns:xmpp-stanzas',
  FRAMING: 'urn:ietf:params:xml:ns:xmpp-framing',
  TLS: 'urn:ietf:params:xml:ns:xmpp-tls',
  SASL: 'urn:ietf:params:xml:ns:xmpp-sasl',
  BIND: 'urn:ietf:params:xml:ns:xmpp-bind',
  SESSION: 'urn:ietf:params:xml:ns:xmpp-session',
  SM: 'urn:xmpp:sm:3',
  REGISTER: 'jabber:iq:register',
  REGISTER_FEATURE: 'http://jabber.org/features/iq-register',
  DISCO_INFO: 'http://jabber.org/protocol/disco#info',
  DISCO_ITEMS: 'http://jabber.org/protocol/disco#items',
  PING: 'urn:xmpp:ping',
} as const;

const BIG = { maxStanzaBytes: 16 * 1024 * 1024, maxDepth: 10_000 };
export const DEFAULT_TIMEOUT = 5000;

type Match = (el: Element) => boolean;

/** Collected elements with "wait for the next one that matches" semantics (each is handed out once). */
class Inbox {
  /** Everything received, in order (stream headers included, as `stream:stream` or `open`). */
  readonly all: Element[] = [];
  private readonly unclaimed: Element[] = [];
  private readonly waiters: { match: Match; resolve: (el: Element) => void }[] = [];
  private closedFlag = false;
  private readonly closeWaiters: (() => void)[] = [];

  push(el: Element): void {
    this.all.push(el);
    const i = this.waiters.findIndex((w) => w.match(el));
    if (i !== -1) this.waiters.splice(i, 1)[0]!.resolve(el);
    else this.unclaimed.push(el);
  }

  markClosed(): void {
    this.closedFlag = true;
    for (const w of this.closeWaiters.splice(0)) w();
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  /** Resolves with the next (or an already received, unclaimed) element that matches. */
  next(match: Match = () => true, timeoutMs = DEFAULT_TIMEOUT, what = 'an element'): Promise<Element> {
    const i = this.unclaimed.findIndex(match);
    if (i !== -1) return Promise.resolve(this.unclaimed.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const w = {
        match,
        resolve: (el: Element) => {
          clearTimeout(timer);
          resolve(el);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        const got = this.all.map((e) => e.toString().slice(0, 200)).join('\n  ');
        reject(new Error(`timed out waiting for ${what}; received so far:\n  ${got}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** True when nothing matching arrives within `ms` (a short, bounded wait). */
  async nothing(match: Match = () => true, ms = 300): Promise<boolean> {
    try {
      await this.next(match, ms);
      return false;
    } catch {
      return true;
    }
  }

  /** Resolves when the transport is closed (rejects after the timeout). */
  waitClosed(timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
    if (this.closedFlag) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for the connection to close')), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

export const is = (name: string, xmlns?: string) => (el: Element) => el.name === name && (xmlns === undefined || el.attrs.xmlns === xmlns);
export const isIq = (id: string) => (el: Element) => el.name === 'iq' && el.attrs.id === id;

/** The condition of a `<stream:error/>` element. */
export function streamErrorCondition(el: Element): string | undefined {
  return el.children.find((c): c is Element => typeof c !== 'string' && c.attrs.xmlns === NS.STREAMS_ERR && c.name !== 'text')?.name;
}

/** The defined condition of a stanza error (or of a SASL/SM `<failure>`/`<failed>`). */
export function errorConditionOf(el: Element): string | undefined {
  const holder = el.name === 'failure' || el.name === 'failed' ? el : el.getChild('error');
  return holder?.children.find((c): c is Element => typeof c !== 'string' && c.name !== 'text')?.name;
}

/** A raw XMPP-over-TCP client (RFC 6120 framing): exact bytes out, parsed elements in. */
export class RawTcp extends Inbox {
  socket: net.Socket;
  private parser!: StreamParser;
  /** Set when the server's stream parser reports our input's answer as malformed XML. */
  parseError: Error | null = null;
  ended = false;

  private constructor(socket: net.Socket) {
    super();
    this.socket = socket;
    this.attach(socket);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawTcp> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host }, () => {
        s.off('error', reject);
        resolve(new RawTcp(s));
      });
      s.once('error', reject);
    });
  }

  private attach(socket: net.Socket): void {
    socket.setEncoding('utf8');
    this.restart();
    socket.on('data', (chunk: string) => this.parser.write(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.markClosed());
  }

  /** A fresh parser: the server restarts its stream after <proceed/> and SASL <success/>. */
  restart(): void {
    const p = new StreamParser(BIG);
    p.on('streamStart', (el) => p === this.parser && this.push(el));
    p.on('stanza', (el) => {
      if (p !== this.parser) return;
      this.push(el);
      if ((el.name === 'success' && el.attrs.xmlns === NS.SASL) || (el.name === 'proceed' && el.attrs.xmlns === NS.TLS)) this.restart();
    });
    p.on('streamEnd', () => {
      if (p === this.parser) this.ended = true;
    });
    p.on('error', (err) => {
      if (p === this.parser) this.parseError = err;
    });
    this.parser = p;
  }

  send(text: string): void {
    this.socket.write(text);
  }

  /** Sends a stream header; `attrs` override or (with undefined) remove the defaults. */
  open(attrs: Record<string, string | undefined> = {}): void {
    const all: Record<string, string | undefined> = {
      to: 'localhost',
      version: '1.0',
      xmlns: NS.CLIENT,
      'xmlns:stream': NS.STREAM,
      ...attrs,
    };
    const a = Object.entries(all)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => ` ${k}='${v}'`)
      .join('');
    this.send(`<?xml version='1.0'?><stream:stream${a}>`);
  }

  /** Opens the stream and resolves with the features that follow the server's header. */
  async openAndFeatures(attrs: Record<string, string | undefined> = {}): Promise<Element> {
    this.open(attrs);
    await this.next(is('stream:stream'), DEFAULT_TIMEOUT, 'the stream header');
    return this.next(is('stream:features'), DEFAULT_TIMEOUT, 'stream features');
  }

  /** Resolves with the stream error's condition, once the server has also closed the stream. */
  async streamError(timeoutMs = DEFAULT_TIMEOUT): Promise<string | undefined> {
    const el = await this.next(is('stream:error'), timeoutMs, 'a stream error');
    await this.waitClosed(timeoutMs);
    return streamErrorCondition(el);
  }

  /** <starttls/>, <proceed/>, then the TLS handshake; `ca` verifies the server certificate. */
  async startTls(opts: { ca?: string; servername?: string } = {}): Promise<tls.TLSSocket> {
    this.send(`<starttls xmlns='${NS.TLS}'/>`);
    await this.next(is('proceed', NS.TLS), DEFAULT_TIMEOUT, '<proceed/>');
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect(
        { socket: plain, ca: opts.ca, servername: opts.servername ?? 'localhost', rejectUnauthorized: opts.ca !== undefined },
        () => resolve(s),
      );
      s.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
    return secure;
  }

  /** SASL PLAIN; resolves with the server's answer (<success/> or <failure/>). */
  async plain(username: string, password: string, authzid = ''): Promise<Element> {
    const payload = Buffer.from(`${authzid}\0${username}\0${password}`).toString('base64');
    this.send(`<auth xmlns='${NS.SASL}' mechanism='PLAIN'>${payload}</auth>`);
    return this.next((el) => el.attrs.xmlns === NS.SASL && (el.name === 'success' || el.name === 'failure'), DEFAULT_TIMEOUT, 'a SASL outcome');
  }

  /**
   * SCRAM (RFC 5802) client side. Resolves with the outcome and, on success, whether the
   * server signature in `v=` is the one the password implies.
   */
  async scram(
    hash: 'SCRAM-SHA-1' | 'SCRAM-SHA-256',
    username: string,
    password: string,
  ): Promise<{ outcome: Element; serverSignatureOk: boolean; additionalData: string }> {
    const algo = hash === 'SCRAM-SHA-1' ? 'sha1' : 'sha256';
    const size = hash === 'SCRAM-SHA-1' ? 20 : 32;
    const hmac = (key: Buffer, data: string) => createHmac(algo, key).update(data).digest();
    const cnonce = randomBytes(18).toString('base64');
    const clientFirstBare = `n=${username},r=${cnonce}`;
    this.send(`<auth xmlns='${NS.SASL}' mechanism='${hash}'>${Buffer.from(`n,,${clientFirstBare}`).toString('base64')}</auth>`);
    const sasl = (el: Element) => el.attrs.xmlns === NS.SASL;
    const challenge = await this.next(sasl, DEFAULT_TIMEOUT, 'the SCRAM challenge');
    if (challenge.name !== 'challenge') return { outcome: challenge, serverSignatureOk: false, additionalData: '' };
    const serverFirst = Buffer.from(challenge.text(), 'base64').toString();
    const fields = Object.fromEntries(serverFirst.split(',').map((f) => [f[0], f.slice(2)]));
    if (!fields.r!.startsWith(cnonce)) throw new Error('the server nonce does not extend ours');
    const salted = pbkdf2Sync(password, Buffer.from(fields.s!, 'base64'), Number(fields.i), size, algo);
    const clientKey = hmac(salted, 'Client Key');
    const storedKey = createHash(algo).update(clientKey).digest();
    const finalWithoutProof = `c=biws,r=${fields.r}`;
    const authMessage = `${clientFirstBare},${serverFirst},${finalWithoutProof}`;
    const signature = hmac(storedKey, authMessage);
    const proof = Buffer.alloc(size);
    for (let i = 0; i < size; i++) proof[i] = clientKey[i]! ^ signature[i]!;
    this.send(`<response xmlns='${NS.SASL}'>${Buffer.from(`${finalWithoutProof},p=${proof.toString('base64')}`).toString('base64')}</response>`);
    const outcome = await this.next(sasl, DEFAULT_TIMEOUT, 'the SCRAM outcome');
    const additionalData = Buffer.from(outcome.text(), 'base64').toString();
    const expected = `v=${hmac(hmac(salted, 'Server Key'), authMessage).toString('base64')}`;
    return { outcome, serverSignatureOk: outcome.name === 'success' && additionalData === expected, additionalData };
  }

  /** Sends an IQ and resolves with the answer of the same id. */
  async iq(text: string, id: string, timeoutMs = DEFAULT_TIMEOUT): Promise<Element> {
    this.send(text);
    return this.next(isIq(id), timeoutMs, `the answer to iq ${id}`);
  }

  /** Binds a resource (server-generated when none) and resolves with the full JID. */
  async bind(resource?: string): Promise<string> {
    const id = `bind-${randomBytes(4).toString('hex')}`;
    const res = resource === undefined ? '' : `<resource>${resource}</resource>`;
    const reply = await this.iq(`<iq type='set' id='${id}'><bind xmlns='${NS.BIND}'>${res}</bind></iq>`, id);
    if (reply.attrs.type !== 'result') throw new Error(`bind failed: ${reply.toString()}`);
    return reply.getChild('bind', NS.BIND)!.getChildText('jid')!;
  }

  /** PLAIN over the plain loopback connection, restart, and the post-auth features. */
  async authenticate(username: string, password: string): Promise<Element> {
    await this.openAndFeatures();
    const outcome = await this.plain(username, password);
    if (outcome.name !== 'success') throw new Error(`authentication failed: ${outcome.toString()}`);
    return this.openAndFeatures();
  }

  /** Connects, authenticates with PLAIN (loopback needs no TLS) and binds. */
  static async login(port: number, username: string, password = 'secret', resource?: string): Promise<RawTcp & { jid: string }> {
    const c = await RawTcp.connect(port);
    await c.authenticate(username, password);
    const jid = await c.bind(resource);
    return Object.assign(c, { jid });
  }

  /** Sends the closing tag. */
  close(): void {
    if (!this.socket.destroyed) this.socket.end('</stream:stream>');
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A raw RFC 7395 client: one element per text frame out, each frame parsed alone on the way in. */
export class RawWs extends Inbox {
  /** Frames that did not parse as exactly one element. */
  readonly badFrames: string[] = [];
  closeCode: number | null = null;

  private constructor(readonly ws: WebSocket) {
    super();
    ws.on('message', (data, isBinary) => {
      const text = data.toString();
      if (isBinary) {
        this.badFrames.push(`(binary) ${text}`);
        return;
      }
      try {
        this.push(parseFrame(text, BIG));
      } catch {
        this.badFrames.push(text);
      }
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.markClosed();
    });
    ws.on('error', () => {});
  }

  /** Connects with the given subprotocols; rejects when the server refuses the upgrade. */
  static connect(url: string, protocols: string[] = ['xmpp'], headers: Record<string, string> = {}): Promise<RawWs> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols, { headers });
      const c = new RawWs(ws);
      ws.once('open', () => resolve(c));
      ws.once('unexpected-response', (_req, res) => {
        reject(Object.assign(new Error(`upgrade refused: HTTP ${res.statusCode}`), { statusCode: res.statusCode }));
        res.resume();
        ws.terminate();
      });
      ws.once('error', reject);
    });
  }

  send(text: string | Buffer, binary = false): void {
    this.ws.send(text, { binary });
  }

  open(attrs: Record<string, string> = {}): void {
    const all = { xmlns: NS.FRAMING, to: 'localhost', version: '1.0', ...attrs };
    this.send(`<open${Object.entries(all).map(([k, v]) => ` ${k}='${v}'`).join('')}/>`);
  }

  async streamError(timeoutMs = DEFAULT_TIMEOUT): Promise<string | undefined> {
    return streamErrorCondition(await this.next(is('stream:error'), timeoutMs, 'a stream error'));
  }

  /** SASL PLAIN; resolves with the server's answer (<success/> or <failure/>). */
  async plain(username: string, password: string): Promise<Element> {
    this.send(`<auth xmlns='${NS.SASL}' mechanism='PLAIN'>${Buffer.from(`\0${username}\0${password}`).toString('base64')}</auth>`);
    return this.next((el) => el.attrs.xmlns === NS.SASL && (el.name === 'success' || el.name === 'failure'), DEFAULT_TIMEOUT, 'a SASL outcome');
  }

  close(): void {
    this.ws.close();
  }

  /** Logs in with PLAIN (loopback needs no TLS) and binds a resource. */
  static async login(url: string, username: string, password = 'secret'): Promise<RawWs> {
    const c = await RawWs.connect(url);
    c.open();
    await c.next(is('stream:features'));
    const outcome = await c.plain(username, password);
    if (outcome.name !== 'success') throw new Error(`authentication failed: ${outcome.toString()}`);
    c.open();
    await c.next(is('stream:features'));
    c.send(`<iq xmlns='jabber:client' type='set' id='bind'><bind xmlns='${NS.BIND}'/></iq>`);
    const bound = await c.next(isIq('bind'));
    if (bound.attrs.type !== 'result') throw new Error(`bind failed: ${bound.toString()}`);
    return c;
  }
}

/**
 * Resolves with the payload of the next `event` on the server's hooks that `match` accepts
 * (rejects after the timeout). Subscribe before causing the event.
 */
export function waitHook<E extends { [K in keyof E]: unknown }, K extends keyof E>(
  hooks: Hooks<E>,
  event: K,
  match: (payload: E[K]) => boolean = () => true,
  timeoutMs = DEFAULT_TIMEOUT,
): Promise<E[K]> {
  return new Promise((resolve, reject) => {
    const off = hooks.on(
      event,
      (payload) => {
        if (!match(payload)) return;
        off();
        clearTimeout(timer);
        resolve(payload);
      },
      1000,
    );
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for the ${String(event)} event`));
    }, timeoutMs);
  });
}
