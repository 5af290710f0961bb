import net from 'node:net';

/**
 * A hand-written minimal XMPP client on a raw socket, for load generation only: string
 * matching instead of XML parsing. During setup a tiny tag scanner splits the input into
 * top-level elements; on the hot path (`hot()`) the raw chunks go straight to a handler that
 * counts with indexOf.
 */

/** The server under test. */
export interface Target {
  host: string;
  port: number;
  /** The user domain (accounts are user@domain). */
  domain: string;
  /** The MUC service domain. */
  muc: string;
  /** The XEP-0357 app server JID. */
  pushJid: string;
  /** HTTP port of the server (push inspection); null when unknown. */
  httpPort: number | null;
}

export const NS_MUC = 'http://jabber.org/protocol/muc';

const streamOpen = (domain: string) =>
  `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='${domain}' version='1.0'>`;

interface Waiter {
  test: (stanza: string) => boolean;
  resolve: (stanza: string) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  what: string;
}

/** The value of attribute `name` in the start tag of `stanza` (either quote style). */
export function attr(stanza: string, name: string): string | undefined {
  const end = stanza.indexOf('>');
  const head = end < 0 ? stanza : stanza.slice(0, end);
  for (const q of ['"', "'"]) {
    const key = ` ${name}=${q}`;
    const i = head.indexOf(key);
    if (i >= 0) {
      const j = head.indexOf(q, i + key.length);
      if (j >= 0) return head.slice(i + key.length, j);
    }
  }
  return undefined;
}

/** True when a muc#user status code appears in the stanza. */
export function hasCode(stanza: string, code: number): boolean {
  return stanza.includes(`code="${code}"`) || stanza.includes(`code='${code}'`);
}

export function isIqReply(id: string) {
  return (s: string) => s.startsWith('<iq') && attr(s, 'id') === id;
}

export function isError(stanza: string): boolean {
  return attr(stanza, 'type') === 'error';
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}

let nextId = 1;
export function newId(prefix = 'b'): string {
  return `${prefix}${(nextId++).toString(36)}`;
}

export class RawClient {
  private buf = '';
  private scanPos = 0;
  private depth = 0;
  private elStart = 0;
  private scanning = false;
  private waiters: Waiter[] = [];
  /** Called with every complete top-level element while not hot (after waiters declined it). */
  onStanza: ((stanza: string) => void) | null = null;
  /** Hot mode: raw chunks go here and the scanner is bypassed. */
  private onData: ((chunk: string) => void) | null = null;
  closed = false;
  jid = '';
  streamError: string | null = null;

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      if (this.onData) return this.onData(chunk);
      this.buf += chunk;
      this.scan();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.closed = true;
      this.failWaiters(new Error(`connection closed${this.streamError ? `: ${this.streamError}` : ''}`));
    });
  }

  static connect(host: string, port: number, timeoutMs = 30_000): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', reject);
        resolve(new RawClient(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  send(text: string): void {
    if (!this.closed) this.socket.write(text);
  }

  /** Resolves with the next top-level element matching `test`; others are passed to onStanza. */
  next(test: (stanza: string) => boolean, what: string, timeoutMs = 60_000): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error(`connection closed while waiting for ${what}`));
      const w: Waiter = {
        test,
        resolve,
        reject,
        what,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs),
      };
      this.waiters.push(w);
    });
  }

  /** Switches to hot mode: every later chunk (and what is left unscanned) goes to `handler`. */
  hot(handler: (chunk: string) => void): void {
    if (this.scanning) {
      // Called from onStanza: scan() hands over the unscanned rest itself.
      this.onData = handler;
      return;
    }
    const rest = this.buf.slice(this.depth > 0 ? this.elStart : this.scanPos);
    this.buf = '';
    this.scanPos = 0;
    this.depth = 0;
    this.onData = handler;
    if (rest) handler(rest);
  }

  /** Back to element mode (the caller must be between stanzas, e.g. after a drain). */
  cool(): void {
    this.onData = null;
  }

  /** Closes the stream politely and resolves when the socket is gone (or after a bound). */
  close(timeoutMs = 2000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.end('</stream:stream>');
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private failWaiters(err: Error): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) {
      clearTimeout(w.timer);
      w.reject(new Error(`${err.message} (waiting for ${w.what})`));
    }
  }

  private emit(stanza: string): void {
    if (stanza.startsWith('<stream:error')) {
      this.streamError = stanza;
      this.failWaiters(new Error(`stream error: ${stanza}`));
      return;
    }
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      if (w.test(stanza)) {
        this.waiters.splice(i, 1);
        clearTimeout(w.timer);
        w.resolve(stanza);
        return;
      }
    }
    this.onStanza?.(stanza);
  }

  /** Splits the buffer into top-level elements by tracking tag depth (no attribute may hold '>'). */
  private scan(): void {
    this.scanning = true;
    try {
      this.scanInner();
    } finally {
      this.scanning = false;
    }
  }

  private scanInner(): void {
    const b = this.buf;
    let i = this.scanPos;
    let consumed = this.depth > 0 ? this.elStart : i;
    for (;;) {
      if (this.onData) break; // a waiter switched us to hot mode
      const lt = b.indexOf('<', i);
      if (lt < 0) {
        if (this.depth === 0) consumed = b.length;
        i = b.length;
        break;
      }
      const gt = b.indexOf('>', lt);
      if (gt < 0) {
        if (this.depth === 0) consumed = lt;
        i = lt;
        break;
      }
      const c1 = b.charCodeAt(lt + 1);
      i = gt + 1;
      if (c1 === 63 /* ? */ || c1 === 33 /* ! */) {
        if (this.depth === 0) consumed = i;
        continue;
      }
      if (c1 === 47 /* / */) {
        if (this.depth === 0) {
          consumed = i; // </stream:stream>
          continue;
        }
        if (--this.depth === 0) {
          consumed = i;
          this.emit(b.slice(this.elStart, i));
        }
        continue;
      }
      const selfClosing = b.charCodeAt(gt - 1) === 47;
      if (this.depth === 0) {
        if (b.startsWith('<stream:stream', lt)) {
          consumed = i;
          continue;
        }
        this.elStart = lt;
        if (selfClosing) {
          consumed = i;
          this.emit(b.slice(lt, i));
          continue;
        }
      }
      if (!selfClosing) this.depth++;
    }
    if (this.onData) {
      // Switched to hot mode inside emit(): hand over what was not scanned yet.
      const rest = b.slice(i);
      this.buf = '';
      if (rest) this.onData(rest);
      return;
    }
    this.buf = b.slice(consumed);
    if (this.depth > 0) this.elStart -= consumed;
    this.scanPos = i - consumed;
  }

  // ------------------------------------------------------------------ protocol steps

  private async openStream(domain: string): Promise<string> {
    this.send(streamOpen(domain));
    return this.next((s) => s.startsWith('<stream:features'), 'stream features');
  }

  /**
   * Stream header, optional in-band registration (an existing account is fine), SASL PLAIN,
   * restart, bind, and optionally initial presence.
   */
  static async login(
    t: Target,
    user: string,
    password: string,
    opts: { register?: boolean; resource?: string; presence?: boolean; timeoutMs?: number } = {},
  ): Promise<RawClient> {
    const c = await RawClient.connect(t.host, t.port, opts.timeoutMs);
    try {
      await c.openStream(t.domain);
      if (opts.register) await c.registerAccount(user, password);
      c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${password}`).toString('base64')}</auth>`);
      const a = await c.next((s) => s.startsWith('<success') || s.startsWith('<failure'), 'SASL outcome');
      if (!a.startsWith('<success')) throw new Error(`SASL PLAIN failed for ${user}: ${a}`);
      const features = await c.openStream(t.domain);
      const id = newId('bind');
      c.send(`<iq type='set' id='${id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${escapeXml(opts.resource ?? 'bench')}</resource></bind></iq>`);
      const b = await c.next(isIqReply(id), 'bind result');
      if (isError(b)) throw new Error(`bind failed for ${user}: ${b}`);
      const j0 = b.indexOf('<jid>');
      c.jid = j0 >= 0 ? b.slice(j0 + 5, b.indexOf('</jid>', j0)) : `${user}@${t.domain}/${opts.resource ?? 'bench'}`;
      // Legacy session establishment, only where it is not optional.
      const sess = features.indexOf('urn:ietf:params:xml:ns:xmpp-session');
      if (sess >= 0 && !features.includes('<optional', sess)) {
        const sid = newId('sess');
        c.send(`<iq type='set' id='${sid}'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>`);
        await c.next(isIqReply(sid), 'session result');
      }
      if (opts.presence !== false) c.send('<presence/>');
      return c;
    } catch (err) {
      c.destroy();
      throw err;
    }
  }

  /** XEP-0077 before authentication; `conflict` (the account exists) counts as success. */
  async registerAccount(user: string, password: string): Promise<void> {
    const id = newId('reg');
    this.send(
      `<iq type='set' id='${id}'><query xmlns='jabber:iq:register'><username>${escapeXml(user)}</username><password>${escapeXml(password)}</password></query></iq>`,
    );
    const r = await this.next(isIqReply(id), `registration of ${user}`);
    if (isError(r) && !r.includes('<conflict')) throw new Error(`registration of ${user} failed: ${r}`);
  }

  /** Sends an IQ and waits for its answer; rejects on an error answer unless `allowError`. */
  async iq(type: 'get' | 'set', to: string | null, payload: string, what: string, allowError = false): Promise<string> {
    const id = newId('iq');
    this.send(`<iq type='${type}' id='${id}'${to ? ` to='${escapeXml(to)}'` : ''}>${payload}</iq>`);
    const r = await this.next(isIqReply(id), what);
    if (isError(r) && !allowError) throw new Error(`${what} failed: ${r}`);
    return r;
  }

  /**
   * Joins `room` as `nick` (no history) and waits for the self-presence (status 110). A room
   * the join created (201) gets the instant-room configuration, in case the server locks it.
   */
  async join(room: string, nick: string, timeoutMs = 60_000): Promise<string> {
    const self = `${room}/${nick}`;
    this.send(`<presence to='${escapeXml(self)}'><x xmlns='${NS_MUC}'><history maxstanzas='0'/></x></presence>`);
    const p = await this.next(
      (s) => s.startsWith('<presence') && attr(s, 'from') === self && (hasCode(s, 110) || isError(s)),
      `self-presence in ${room}`,
      timeoutMs,
    );
    if (isError(p)) throw new Error(`join of ${self} failed: ${p}`);
    if (hasCode(p, 201)) await this.iq('set', room, `<query xmlns='${NS_MUC}#owner'><x xmlns='jabber:x:data' type='submit'/></query>`, `instant configuration of ${room}`, true);
    return p;
  }
}
