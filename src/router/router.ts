import type { Logger } from '../core/logger.ts';
import { parseJid } from '../core/jid.ts';
import { trackWork } from '../core/work-tracking.ts';
import { Element } from '../xml/element.ts';
import { errorReply, type StanzaErrorCondition } from '../xml/errors.ts';
import type { SessionRegistry } from './sessions.ts';

/**
 * Something that owns a domain: the user host, the MUC service, the push app server. A handler
 * that works asynchronously returns that work, so the stanza's sender can wait for it (see
 * core/work-tracking.ts).
 */
export type DomainHandler = (stanza: Element) => void | Promise<unknown>;

/**
 * The way out for domains this server does not host: server-to-server streams (`src/s2s/`) or,
 * in component mode, the link to the host server (`src/component/`). It owns queueing and
 * bouncing (`remote-server-not-found`, `remote-server-timeout`) for what it cannot deliver.
 */
export interface RemoteRoute {
  send(stanza: Element, domain: string): void;
}

/**
 * Delivers stanzas by their `to` domain. Every stanza leaving any part of the server goes
 * through here, so bounces and sender stamping are uniform.
 */
export class Router {
  private readonly domains = new Map<string, DomainHandler>();
  /** IQs sent by services through `request`, by `requester NUL id`, awaiting their answer. */
  private readonly pending = new Map<string, { to: string; settle: (reply: Element | null) => void; timer: NodeJS.Timeout }>();

  constructor(
    readonly sessions: SessionRegistry,
    private readonly log: Logger,
  ) {}

  register(domain: string, handler: DomainHandler): void {
    this.domains.set(domain, handler);
  }

  isLocalDomain(domain: string): boolean {
    return this.domains.has(domain);
  }

  private remote: RemoteRoute | null = null;

  /** Installs (or, with null, removes) the route to other domains. */
  setRemote(route: RemoteRoute | null): void {
    this.remote = route;
  }

  /** Whether a stanza to `domain` can leave at all: hosted here, or a remote route exists. */
  canReach(domain: string): boolean {
    return this.domains.has(domain) || this.remote !== null;
  }

  /** Routes a stanza whose `from` is already trustworthy. */
  route(stanza: Element): void {
    if (this.pending.size > 0 && stanza.name === 'iq' && (stanza.attrs.type === 'result' || stanza.attrs.type === 'error') && this.answered(stanza)) return;
    const to = parseJid(stanza.attrs.to as string | undefined);
    if (!to) {
      this.bounce(stanza, 'jid-malformed');
      return;
    }
    const handler = this.domains.get(to.domain);
    if (!handler) {
      if (this.remote) {
        this.remote.send(stanza, to.domain);
        return;
      }
      // Federation off: a remote domain cannot be reached.
      this.log.debug({ to: to.domain }, 'no route to remote domain');
      // Presence broadcasts to remote contacts would bounce on every change: drop them quietly.
      if (stanza.name === 'presence') return;
      this.bounce(stanza, 'remote-server-not-found', `no route to ${to.domain}: this server does not federate`);
      return;
    }
    try {
      const work = handler(stanza);
      if (work) trackWork(work);
    } catch (err) {
      this.log.error({ err }, 'handler failed');
      this.bounce(stanza, 'internal-server-error');
    }
  }

  /**
   * Fast path for fan-out: `text` is the serialized stanza for `to`. A live session gets it
   * as is; anything else falls back to ordinary routing of a copy.
   */
  deliverPrepared(to: string, el: Element, text: string): void {
    const session = this.sessions.get(to);
    if (session && session.send(el, text)) return;
    const copy = new Element(el.name, { ...el.attrs, to });
    copy.children = el.children;
    this.route(copy);
  }

  /**
   * Sends an IQ get/set from a local service (its `from` and a unique `id` set) and resolves with
   * the answer (result or error, bounces included) addressed back to it, or null on timeout.
   */
  request(iq: Element, timeoutMs: number): Promise<Element | null> {
    const key = `${iq.attrs.from}\u0000${iq.attrs.id}`;
    const to = String(iq.attrs.to ?? '');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        resolve(null);
      }, timeoutMs);
      timer.unref();
      this.pending.set(key, { to, settle: resolve, timer });
      this.route(iq);
    });
  }

  /** Claims the answer to a `request`; only the addressee of the request may answer it. */
  private answered(reply: Element): boolean {
    const key = `${reply.attrs.to}\u0000${reply.attrs.id}`;
    const p = this.pending.get(key);
    if (!p) return false;
    const from = reply.attrs.from as string | undefined;
    if (from !== p.to && (!from || parseJid(from)?.full !== parseJid(p.to)?.full)) return false;
    this.pending.delete(key);
    clearTimeout(p.timer);
    p.settle(reply);
    return true;
  }

  /** Answers an undeliverable stanza with an error to its sender; errors and IQ results are never bounced. */
  bounce(stanza: Element, condition: StanzaErrorCondition, text?: string): void {
    if (stanza.attrs.type === 'error' || !stanza.attrs.from) return;
    // An IQ result is an answer: answering it with an error is wrong (RFC 6120 8.2.3).
    if (stanza.name === 'iq' && stanza.attrs.type === 'result') return;
    if (stanza.name === 'presence' && stanza.attrs.type !== undefined && stanza.attrs.type !== 'probe') return;
    const reply = errorReply(stanza, condition, text);
    queueMicrotask(() => this.route(reply));
  }
}
