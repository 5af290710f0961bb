import type { ServerContext } from '../core/context.ts';
import { parseJid } from '../core/jid.ts';
import { trackWork } from '../core/work-tracking.ts';
import type { Connection } from '../transport/connection.ts';
import type { ClientHost } from '../stream/c2s.ts';
import type { Session } from '../stream/session.ts';
import type { Element } from '../xml/element.ts';
import { errorReply } from '../xml/errors.ts';
import { IqHandlers, type IqTarget } from './iq-handlers.ts';
import { Disco } from './disco.ts';
import { MessageDelivery } from './delivery.ts';
import { capsElement } from './caps.ts';

/** Presence handling plugs in here (src/host/presence.ts). */
export interface PresenceHandler {
  /** Presence sent by a local client (broadcast, directed, or subscription management). */
  outbound(session: Session, stanza: Element): void;
  /** Presence addressed to a local account or one of its resources. */
  inbound(stanza: Element): void;
}

/**
 * The user domain: answers IQs for the server and on behalf of accounts, and delivers to
 * accounts. Features (roster, presence, ping, registration, ...) register into it.
 */
export class Host implements ClientHost {
  readonly iq = new IqHandlers();
  readonly disco: Disco;
  readonly messages: MessageDelivery;
  presence: PresenceHandler | null = null;
  /** Rewrite a local client's presence before it is handled (src/host/avatar-hash.ts adds the avatar hash). */
  readonly presenceStamps: ((session: Session, stanza: Element) => void)[] = [];
  preAuthRegister: (stanza: Element, conn: Connection) => Promise<Element> = async (stanza) => errorReply(stanza, 'service-unavailable');

  constructor(private readonly ctx: ServerContext) {
    this.disco = new Disco(this.iq);
    this.messages = new MessageDelivery(ctx);
    ctx.router.register(ctx.config.domain, (stanza) => this.inbound(stanza));
  }

  streamCaps(): Element {
    return capsElement(this.disco.info('server'));
  }

  fromClient(session: Session, stanza: Element): void {
    const to = stanza.attrs.to as string | undefined;
    if (stanza.name === 'presence') {
      for (const stamp of this.presenceStamps) stamp(session, stanza);
      if (this.presence) this.presence.outbound(session, stanza);
      else if (to) this.ctx.router.route(stanza);
      return;
    }
    if (!to) {
      // No 'to' means the account itself (RFC 6120 10.3).
      if (stanza.name === 'iq') return void trackWork(this.answerIq('account', stanza, session));
      stanza.attrs.to = session.jid.bare;
    }
    this.ctx.router.route(stanza);
  }

  /** A stanza routed to the user domain or to one of its accounts. */
  private inbound(stanza: Element): void | Promise<void> {
    const to = parseJid(stanza.attrs.to as string)!;
    if (stanza.name === 'presence') {
      if (to.local) this.presence?.inbound(stanza);
      return;
    }
    if (stanza.name === 'iq') {
      if (!to.local) return this.answerIq('server', stanza);
      if (!to.resource) return this.answerIq('account', stanza);
      const session = this.ctx.sessions.get(to.full);
      if (session && session.send(stanza)) return;
      return this.ctx.router.bounce(stanza, 'service-unavailable');
    }
    if (stanza.name === 'message') {
      if (!to.local) return this.ctx.router.bounce(stanza, 'service-unavailable');
      return this.messages.deliver(stanza);
    }
  }

  private async answerIq(target: IqTarget, iq: Element, session?: Session): Promise<void> {
    const from = parseJid(iq.attrs.from as string);
    const to = target === 'server' ? parseJid(this.ctx.config.domain) : session ? parseJid(session.jid.bare) : parseJid(iq.attrs.to as string);
    if (!from || !to) return;
    try {
      // Inside the try: a storage failure here must answer, not become an unhandled rejection.
      if (target === 'account' && to.bare !== from.bare && !(await this.ctx.accounts.exists(to.local))) {
        return this.ctx.router.route(errorReply(iq, 'service-unavailable'));
      }
      const reply = await this.iq.answer(target, iq, from, to, session);
      if (!reply) return;
      // Answers to a client's own account IQs carry no 'from' in RFC 6121 practice; the bare JID is fine too.
      if (session) reply.attrs.from = session.jid.bare;
      this.deliverReply(reply, session);
    } catch (err) {
      this.ctx.log.error({ err }, 'iq handler failed');
      this.deliverReply(errorReply(iq, 'internal-server-error'), session);
    }
  }

  private deliverReply(reply: Element, session?: Session): void {
    if (session && reply.attrs.to === session.jid.full) session.send(reply);
    else this.ctx.router.route(reply);
  }
}
