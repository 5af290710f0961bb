import type { Logger } from '../core/logger.ts';
import { parseJid } from '../core/jid.ts';
import { Element } from '../xml/element.ts';
import { errorReply, type StanzaErrorCondition } from '../xml/errors.ts';
import type { SessionRegistry } from './sessions.ts';

/** Something that owns a domain: the user host, the MUC service, the push app server. */
export type DomainHandler = (stanza: Element) => void;

/**
 * Delivers stanzas by their `to` domain. Every stanza leaving any part of the server goes
 * through here, so bounces and sender stamping are uniform.
 */
export class Router {
  private readonly domains = new Map<string, DomainHandler>();

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

  /** Routes a stanza whose `from` is already trustworthy. */
  route(stanza: Element): void {
    const to = parseJid(stanza.attrs.to as string | undefined);
    if (!to) {
      this.bounce(stanza, 'jid-malformed');
      return;
    }
    const handler = this.domains.get(to.domain);
    if (!handler) {
      // No server-to-server yet: a remote domain cannot be reached.
      this.log.debug({ to: to.domain }, 'no route to remote domain');
      this.bounce(stanza, 'remote-server-not-found', `no route to ${to.domain}: this server does not federate`);
      return;
    }
    try {
      handler(stanza);
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

  /** Answers an undeliverable stanza with an error to its sender; errors are never bounced. */
  bounce(stanza: Element, condition: StanzaErrorCondition, text?: string): void {
    if (stanza.attrs.type === 'error' || !stanza.attrs.from) return;
    if (stanza.name === 'presence' && stanza.attrs.type !== undefined && stanza.attrs.type !== 'probe') return;
    const reply = errorReply(stanza, condition, text);
    queueMicrotask(() => this.route(reply));
  }
}
