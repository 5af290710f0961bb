import { randomBytes, randomUUID } from 'node:crypto';
import type { ServerContext } from '../core/context.ts';
import { parseJid } from '../core/jid.ts';
import type { Connection, ConnectionHandler } from '../transport/connection.ts';
import { xml, type Element } from '../xml/element.ts';
import { errorReply, StanzaError, StreamError, streamErrorElement } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';
import type { AddressLimit } from '../core/address-limit.ts';
import { createMechanism, MECHANISMS, type SaslMechanism } from './sasl/mechanism.ts';
import { Session } from './session.ts';
import { runTracked } from '../core/work-tracking.ts';
import type { SessionLifecycle } from './lifecycle.ts';
import { isStanza, resumeOnto, smAck, smEnabled, smFailed } from './stream-management.ts';

/** What the stream hands over once a client is bound: the user's domain services. */
export interface ClientHost {
  /** A stanza from a bound session; `from` is already the session's full JID. */
  fromClient(session: Session, stanza: Element): void;
  /** XEP-0077 in-band registration before authentication; resolves to the reply. */
  preAuthRegister(stanza: Element, conn: Connection): Promise<Element>;
  /** XEP-0115 caps of the server, announced in the stream features (clients skip a disco#info). */
  streamCaps(): Element;
}

export interface StreamDeps {
  ctx: ServerContext;
  host: ClientHost;
  lifecycle: SessionLifecycle;
  /** Failed logins per address (src/core/address-limit.ts). */
  throttle: AddressLimit;
  /** The streams whose connection is open (each adds itself, and leaves once closed): the server ends them at shutdown. */
  open?: Set<C2sStream>;
}

/** RFC 6120 6.4.5 asks for 2 to 5 retries on one stream; the third failure closes it. */
const MAX_FAILED_AUTHS_PER_STREAM = 3;

type Phase = 'header' | 'tls' | 'auth' | 'sasl' | 'bind' | 'bound' | 'closed';

/** RFC 6120 client-to-server negotiation on one connection, then the session's inbound side. */
export class C2sStream implements ConnectionHandler {
  private phase: Phase = 'header';
  private mechanism: SaslMechanism | null = null;
  private username: string | null = null;
  private session: Session | null = null;
  private readonly authTimer: NodeJS.Timeout;
  private streamId = '';
  /** The <a/> answers waiting for their stanzas' work (see ackWhenSettled). */
  private acks: Promise<void> = Promise.resolve();
  /** Gives back this exchange's throttle slot (null when none is held). */
  private authSlot: (() => void) | null = null;
  private failedAuths = 0;
  /** Why this stream ended, when it is this side that knows (logged once the socket is gone). */
  private endReason: string | null = null;
  /** The bound full JID, kept for that log line after the session is let go. */
  private jid: string | undefined;

  constructor(
    private readonly conn: Connection,
    private readonly deps: StreamDeps,
  ) {
    conn.setHandler(this);
    deps.open?.add(this);
    deps.ctx.log.info({ conn: conn.id, address: conn.remoteAddress, transport: conn.kind }, `client connected from ${conn.remoteAddress} over ${conn.kind}`);
    const t = deps.ctx.config.limits.authTimeoutSeconds;
    this.authTimer = setTimeout(() => this.fail(new StreamError('connection-timeout', 'authentication and binding took too long')), t * 1000);
    this.authTimer.unref();
  }

  private get ctx(): ServerContext {
    return this.deps.ctx;
  }

  streamStart(header: Element): void {
    if (this.phase === 'closed') return;
    // A bound stream is never restarted (over WebSocket a stray <open/> would rebind beside the session).
    if (this.phase === 'bound') return this.fail(new StreamError('policy-violation', 'the stream cannot be restarted once a resource is bound'));
    const ws = this.conn.kind === 'websocket';
    // Answer with our own header first, so a stream error can follow it (RFC 6120 4.9.1.1).
    this.streamId = randomUUID();
    this.conn.openStream({ from: this.ctx.config.domain, id: this.streamId, version: '1.0', 'xml:lang': 'en' });
    if (!ws && (header.name !== 'stream:stream' || header.attrs['xmlns:stream'] !== NS.STREAM)) {
      return this.fail(new StreamError('invalid-namespace', 'the stream element must be stream:stream in http://etherx.jabber.org/streams'));
    }
    if (!ws && header.attrs.xmlns !== NS.CLIENT) return this.fail(new StreamError('invalid-namespace', 'the default namespace must be jabber:client'));
    const to = parseJid(header.attrs.to as string | undefined);
    if (!to || to.full !== this.ctx.config.domain) return this.fail(new StreamError('host-unknown', `this server serves ${this.ctx.config.domain}`));
    // RFC 6120 4.7.5: a missing version or another major version is refused; 1.x is served as 1.0.
    if (!/^1\.[0-9]+$/.test(String(header.attrs.version ?? ''))) return this.fail(new StreamError('unsupported-version', 'version 1.0 is required'));
    // A connection that is not secure and cannot become so (plain ws:// from the network, not via
    // a trusted proxy) could only authenticate in the clear.
    if (this.ctx.config.c2s.requireTls && !this.conn.secure && !this.conn.canStartTls) {
      return this.fail(new StreamError('policy-violation', 'TLS is required: connect with wss:// through a trusted proxy'));
    }
    // After SASL success the restarted stream offers binding.
    if (this.username) this.phase = 'bind';
    this.conn.write(this.features().toString());
  }

  private mustStartTls(): boolean {
    return this.ctx.config.c2s.requireTls && !this.conn.secure && this.conn.canStartTls;
  }

  private features(): Element {
    const f = xml('stream:features', { 'xmlns:stream': NS.STREAM });
    if (this.phase !== 'bind') {
      if (this.conn.canStartTls) {
        const st = f.c('starttls', { xmlns: NS.TLS });
        if (this.mustStartTls()) st.c('required');
      }
      if (!this.mustStartTls()) {
        const mechs = f.c('mechanisms', { xmlns: NS.SASL });
        for (const m of MECHANISMS) mechs.c('mechanism').t(m);
        if (this.ctx.config.registration.enabled) f.c('register', { xmlns: NS.REGISTER_FEATURE });
      }
      this.phase = 'auth';
    } else {
      f.c('bind', { xmlns: NS.BIND });
      f.c('session', { xmlns: NS.SESSION }).c('optional');
      f.c('sm', { xmlns: NS.SM });
    }
    f.cnode(this.deps.host.streamCaps());
    return f;
  }

  stanza(el: Element): void {
    if (this.session) this.session.lastActivity = Date.now();
    switch (this.phase) {
      case 'header':
        return this.fail(new StreamError('not-well-formed', 'stream header expected'));
      case 'auth':
      case 'sasl':
        return void this.preAuth(el).catch((err) => this.internalError(err));
      case 'bind':
        return void this.preBind(el).catch((err) => this.internalError(err));
      case 'bound':
        return this.bound(el);
      default:
        return;
    }
  }

  private async preAuth(el: Element): Promise<void> {
    const ns = el.attrs.xmlns as string | undefined;
    if (el.name === 'starttls' && ns === NS.TLS) {
      if (!this.conn.canStartTls) return this.fail(new StreamError('policy-violation', 'TLS is already in place'));
      this.conn.write(`<proceed xmlns="${NS.TLS}"/>`);
      this.phase = 'tls';
      await this.conn.startTls();
      this.conn.restartStream();
      this.phase = 'header';
      // The restarted stream has no header of ours yet: a stream error must send one first.
      this.streamId = '';
      return;
    }
    if (ns === NS.SASL) return this.sasl(el);
    if (el.name === 'iq' && el.getChild('query', NS.REGISTER)) {
      // XEP-0077 3.1: a server without in-band registration answers service-unavailable.
      if (!this.ctx.config.registration.enabled) {
        this.conn.write(errorReply(el, 'service-unavailable', 'in-band registration is disabled').toString());
        return;
      }
      if (this.mustStartTls()) return this.fail(new StreamError('policy-violation', 'STARTTLS is required before registration'));
      this.conn.write((await this.deps.host.preAuthRegister(el, this.conn)).toString());
      return;
    }
    if (el.name === 'iq' && (el.attrs.type === 'get' || el.attrs.type === 'set')) {
      this.conn.write(errorReply(el, 'not-authorized').toString());
      return;
    }
    this.fail(new StreamError('not-authorized', 'authenticate first'));
  }

  private async sasl(el: Element): Promise<void> {
    /** `refused`: a wrong password or a throttled attempt, counted against this stream. */
    const fail = (condition: string, text?: string, refused = condition === 'not-authorized') => {
      const last = refused && ++this.failedAuths >= MAX_FAILED_AUTHS_PER_STREAM;
      const f = xml('failure', { xmlns: NS.SASL }, xml(condition));
      if (text || last) f.c('text', { 'xml:lang': 'en' }).t(last ? `${text ?? 'authentication failed'}; too many attempts on this stream` : text!);
      this.conn.write(f.toString());
      this.mechanism = null;
      this.phase = 'auth';
      // Only a wrong password keeps the address's slot taken.
      const slot = this.authSlot;
      this.authSlot = null;
      if (condition !== 'not-authorized') slot?.();
      // RFC 6120 6.4.5: a few retries on the same stream (a mistyped password), then the
      // stream is closed after the SASL failure.
      if (last) {
        this.endReason = 'too many failed authentications';
        this.phase = 'closed';
        this.conn.closeStream();
      }
    };
    if (this.mustStartTls()) return this.fail(new StreamError('policy-violation', 'STARTTLS is required before authentication'));
    if (el.name === 'abort') return fail('aborted');
    let payload: Buffer;
    const text = el.text().trim();
    if (text === '=' || text === '') payload = Buffer.alloc(0);
    else if (/^[A-Za-z0-9+/]+={0,2}$/.test(text) && text.length % 4 === 0) payload = Buffer.from(text, 'base64');
    else return fail('incorrect-encoding');
    if (el.name === 'auth') {
      if (this.mechanism) return fail('malformed-request', 'an exchange is already running');
      // The slot is taken now, before any await: parallel attempts cannot all pass the limit.
      const slot = this.deps.throttle.reserve(this.conn.remoteAddress);
      if (!slot) return fail('temporary-auth-failure', 'too many failed attempts, try again later', true);
      this.authSlot = slot;
      const mech = createMechanism(el.attrs.mechanism as string, (u) => this.ctx.accounts.get(u).then((a) => a?.credentials), { domain: this.ctx.config.domain });
      if (!mech) return fail('invalid-mechanism');
      this.mechanism = mech;
      this.phase = 'sasl';
    } else if (el.name === 'response') {
      if (!this.mechanism) return fail('malformed-request', 'no exchange in progress');
    } else {
      return fail('malformed-request');
    }
    const mechanism = this.mechanism!;
    const step = await mechanism.step(payload);
    // An <abort/> (or the stream ending) while the step ran: its outcome no longer counts.
    if (this.mechanism !== mechanism || this.phase !== 'sasl') return;
    if (step.kind === 'challenge') {
      this.conn.write(xml('challenge', { xmlns: NS.SASL }, step.data.length ? step.data.toString('base64') : '=').toString());
    } else if (step.kind === 'failure') {
      if (step.condition === 'not-authorized') this.logFailedLogin(mechanism);
      fail(step.condition, step.text);
    } else {
      this.authSlot?.();
      this.authSlot = null;
      this.username = step.username;
      this.mechanism = null;
      this.conn.write(xml('success', { xmlns: NS.SASL }, ...(step.data?.length ? [step.data.toString('base64')] : [])).toString());
      this.phase = 'header';
      this.streamId = '';
      this.conn.restartStream();
    }
  }

  /**
   * The one fixed line fail2ban matches (docs/fail2ban.md): the user name is JSON-quoted, so
   * whatever it holds, the address is what follows the last `" from `.
   */
  private logFailedLogin(mechanism: SaslMechanism): void {
    const address = this.conn.remoteAddress;
    const username = mechanism.username ?? '';
    this.ctx.log.info(
      { conn: this.conn.id, address, username, mechanism: mechanism.name, transport: this.conn.kind },
      `authentication failed for user ${JSON.stringify(username)} from ${address}`,
    );
  }

  private async preBind(el: Element): Promise<void> {
    const ns = el.attrs.xmlns as string | undefined;
    if (ns === NS.SM && el.name === 'resume') return this.resume(el);
    if (ns === NS.SM && el.name === 'enable') {
      this.conn.write(smFailed('unexpected-request'));
      return;
    }
    const bind = el.name === 'iq' && el.attrs.type === 'set' ? el.getChild('bind', NS.BIND) : undefined;
    if (!bind) {
      if (el.name === 'iq' && (el.attrs.type === 'get' || el.attrs.type === 'set')) {
        this.conn.write(errorReply(el, 'not-authorized', 'bind a resource first').toString());
        return;
      }
      if (ns === NS.SM && (el.name === 'r' || el.name === 'a')) return;
      return this.fail(new StreamError('not-authorized', 'bind a resource first'));
    }
    const requested = bind.getChildText('resource')?.trim();
    const resource = requested || randomBytes(8).toString('hex');
    const jid = parseJid(`${this.username}@${this.ctx.config.domain}/${resource}`);
    if (!jid) {
      this.conn.write(errorReply(el, new StanzaError('bad-request', 'invalid resource')).toString());
      return;
    }
    const existing = this.ctx.sessions.get(jid.full);
    if (existing) {
      // The newest connection wins (RFC 6120 7.7.2.2): the old one is told why it ends.
      existing.connection?.write(streamErrorElement('conflict', 'replaced by a new connection').toString());
      existing.connection?.closeStream();
      this.deps.lifecycle.close(existing, 'replaced by a new connection');
    }
    // The parsed JID: its resource is normalized (NFC), as every address that reaches it will be.
    clearTimeout(this.authTimer);
    const session = new Session(jid, this.conn);
    this.deps.lifecycle.attach(session);
    this.session = session;
    this.jid = session.jid.full;
    this.ctx.sessions.add(session);
    this.phase = 'bound';
    const reply = xml('iq', { type: 'result', id: el.attrs.id }, xml('bind', { xmlns: NS.BIND }, xml('jid', {}, session.jid.full)));
    this.conn.write(reply.toString());
    this.ctx.hooks.emit('session:bound', { session });
  }

  private async resume(el: Element): Promise<void> {
    // The h we answer counts only stanzas whose work is done; everything below runs after the
    // wait, on the state as it is then.
    await this.ctx.sessions.byResume(String(el.attrs.previd ?? ''))?.work.settled();
    if (this.phase === 'closed') return;
    const prev = this.ctx.sessions.byResume(String(el.attrs.previd ?? ''));
    const h = Number(el.attrs.h);
    if (!prev || prev.jid.local !== this.username || prev.state === 'closed' || !Number.isInteger(h)) {
      this.conn.write(smFailed('item-not-found'));
      return;
    }
    // An impossible h is refused before anything is taken over (XEP-0198 section 4).
    if (((h - prev.sm!.acked) >>> 0) > prev.sm!.unacked.length) {
      return this.fail(new StreamError('undefined-condition', 'impossible acknowledgement count'));
    }
    clearTimeout(this.authTimer);
    if (prev.connection) {
      // The old socket is still open from the server's view: it is dead to the client.
      logDisconnect(this.ctx, prev.connection, prev.jid.full, 'replaced by a resumed stream');
      prev.connection.setHandler({ streamStart() {}, stanza() {}, streamEnd() {}, error() {}, closed() {}, backlogged() {} });
      prev.connection.destroy();
    }
    if (prev.sm!.hibernationTimer) clearTimeout(prev.sm!.hibernationTimer);
    prev.sm!.hibernationTimer = null;
    prev.connection = this.conn;
    prev.state = 'active';
    prev.lastActivity = Date.now();
    this.session = prev;
    this.jid = prev.jid.full;
    this.phase = 'bound';
    this.conn.write(`<resumed xmlns="${NS.SM}" previd="${prev.sm!.id}" h="${prev.sm!.inbound >>> 0}"/>`);
    resumeOnto(prev, h);
    this.ctx.log.info({ conn: this.conn.id, jid: prev.jid.full, address: this.conn.remoteAddress }, 'session resumed');
    this.ctx.hooks.emit('session:resumed', { session: prev });
  }

  private bound(el: Element): void {
    const session = this.session!;
    const ns = el.attrs.xmlns as string | undefined;
    if (ns === NS.SM) return this.smElement(session, el);
    if (!isStanza(el)) return this.fail(new StreamError('unsupported-stanza-type', `<${el.name}/> is not a stanza`));
    if (ns !== undefined && ns !== NS.CLIENT) return this.fail(new StreamError('invalid-namespace'));
    this.deps.lifecycle.traffic.stanzasIn++;
    if (session.sm) session.sm.inbound = (session.sm.inbound + 1) >>> 0;
    if (el.attrs.to !== undefined && !parseJid(el.attrs.to as string)) {
      el.attrs.from = session.jid.full;
      // Through the session: a stanza to the client is counted for XEP-0198 like any other.
      if (el.attrs.type !== 'error') session.send(errorReply(el, 'jid-malformed'));
      return;
    }
    // The server always stamps the real sender (RFC 6120 8.1.2.1).
    el.attrs.from = session.jid.full;
    delete el.attrs.xmlns;
    if (el.name === 'iq' && el.attrs.type === 'set' && el.getChild('session', NS.SESSION)) {
      session.send(xml('iq', { type: 'result', id: el.attrs.id }));
      return;
    }
    if (el.name === 'iq' && el.getChild('bind', NS.BIND)) {
      session.send(errorReply(el, 'not-allowed', 'a resource is already bound'));
      return;
    }
    runTracked(session.work, () => this.deps.host.fromClient(session, el));
  }

  private smElement(session: Session, el: Element): void {
    switch (el.name) {
      case 'enable': {
        if (session.sm) return void this.conn.write(smFailed('unexpected-request'));
        const resume = el.attrs.resume === 'true' || el.attrs.resume === '1';
        const sm = session.enableSm(resume);
        if (resume) this.ctx.sessions.setResumable(session);
        this.conn.write(smEnabled(sm.id, this.ctx.config.streamManagement.resumeTimeoutSeconds));
        return;
      }
      case 'r':
        if (session.sm) this.ackWhenSettled(session, session.sm.inbound);
        return;
      case 'a': {
        const h = Number(el.attrs.h);
        if (!session.sm || !Number.isInteger(h) || !session.ack(h)) {
          return this.fail(new StreamError('undefined-condition', 'impossible acknowledgement count'));
        }
        return;
      }
      case 'resume':
        // Already bound: there is nothing to resume onto this stream.
        this.conn.write(smFailed('unexpected-request'));
        return;
      default:
        this.conn.write(smFailed('feature-not-implemented'));
    }
  }

  /**
   * Answers a <r/> with `h` once what those stanzas started (storage writes) has settled, so an
   * acknowledged stanza is never one a crash can lose. Answers go out in order.
   */
  private ackWhenSettled(session: Session, h: number): void {
    this.acks = this.acks
      .then(() => session.work.settled())
      .then(() => {
        if (this.session === session && this.phase === 'bound') this.conn.write(smAck(h));
      });
  }

  streamEnd(): void {
    // A clean close ends the session even with stream management (XEP-0198 section 5).
    this.endReason ??= 'closed by client';
    if (this.session) this.deps.lifecycle.close(this.session, 'closed by client');
    this.session = null;
    this.phase = 'closed';
    this.conn.closeStream();
  }

  error(err: StreamError): void {
    this.fail(err);
  }

  /**
   * The client does not read what it is sent. A resumable session keeps its unacked queue
   * (within `streamManagement.maxQueueBytes`) and hibernates once the socket is gone; any other
   * stream ends with resource-constraint.
   */
  backlogged(reason: string): void {
    if (this.phase === 'closed') return;
    const session = this.session;
    this.ctx.log.info({ conn: this.conn.id, jid: session?.jid.full, pending: this.conn.pendingBytes, reason }, 'client not reading its output: dropping the connection');
    this.endReason = `not reading its output (${reason})`;
    if (session?.sm?.id && session.state === 'active') {
      // The socket's close hands the session to `closed()`, which hibernates it.
      this.conn.destroy();
      return;
    }
    this.fail(new StreamError('resource-constraint', reason));
  }

  closed(): void {
    clearTimeout(this.authTimer);
    this.deps.open?.delete(this);
    this.phase = 'closed';
    const session = this.session;
    this.session = null;
    const ours = session !== null && session.connection === this.conn;
    const hibernating = ours && session.sm?.id && session.state === 'active';
    // A session ended by the server (replaced, shutdown, overflow) carries that reason.
    const reason = this.endReason ?? (ours ? null : session?.closeReason) ?? 'connection lost';
    logDisconnect(this.ctx, this.conn, this.jid, hibernating ? `${reason}: session hibernated, resumable` : reason);
    if (!ours) return;
    if (hibernating) this.deps.lifecycle.hibernate(session);
    else this.deps.lifecycle.close(session, reason);
  }

  /** Sends a stream error and closes; the session, if any, ends with it. */
  fail(err: StreamError): void {
    if (this.phase === 'closed') return;
    this.ctx.log.debug({ conn: this.conn.id, condition: err.condition, text: err.text }, 'stream error');
    this.endReason ??= err.text ? `stream error: ${err.condition} (${err.text})` : `stream error: ${err.condition}`;
    if (this.phase === 'header' && !this.streamId) {
      this.streamId = randomUUID();
      this.conn.openStream({ from: this.ctx.config.domain, id: this.streamId, version: '1.0' });
    }
    this.conn.write(streamErrorElement(err.condition, err.text).toString());
    if (this.session) this.deps.lifecycle.close(this.session, `stream error: ${err.condition}`);
    this.session = null;
    this.phase = 'closed';
    this.conn.closeStream();
  }

  private internalError(err: unknown): void {
    if (err instanceof StreamError) return this.fail(err);
    this.ctx.log.error({ err }, 'stream failure');
    this.fail(new StreamError('internal-server-error'));
  }
}

/** The info line an operator reads for every connection that ends, with why. */
function logDisconnect(ctx: ServerContext, conn: Connection, jid: string | undefined, reason: string): void {
  ctx.log.info({ conn: conn.id, address: conn.remoteAddress, transport: conn.kind, jid, reason }, `client disconnected from ${conn.remoteAddress} over ${conn.kind}: ${reason}`);
}
