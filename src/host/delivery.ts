import type { ServerContext } from '../core/context.ts';
import { parseJid, type Jid } from '../core/jid.ts';
import { sharedDeliveries, type Session } from '../stream/session.ts';
import type { Element } from '../xml/element.ts';

/** Where a message for an account goes when no resource can take it. */
export type OfflineHandler = (user: Jid, stanza: Element) => boolean;

/**
 * RFC 6121 section 8.5: delivery of messages to a local account's bare or full JID.
 * Presence and IQs are handed elsewhere by the host.
 */
export class MessageDelivery {
  offline: OfflineHandler = () => false;

  constructor(private readonly ctx: ServerContext) {}

  /** Resources that receive a message to the bare JID: available, non-negative priority, highest first. */
  bareTargets(bare: string): Session[] {
    const live = this.ctx.sessions.of(bare).filter((s) => s.available && s.priority >= 0);
    if (live.length === 0) return [];
    const top = Math.max(...live.map((s) => s.priority));
    return live.filter((s) => s.priority === top);
  }

  /** One message to several resources of the bare JID, remembered as one delivery. */
  sendToResources(targets: Session[], stanza: Element): void {
    if (targets.length > 1) sharedDeliveries.set(stanza, targets);
    for (const s of targets) s.send(stanza);
  }

  deliver(stanza: Element): void {
    const to = parseJid(stanza.attrs.to as string)!;
    const type = (stanza.attrs.type as string | undefined) ?? 'normal';
    if (to.resource) {
      const session = this.ctx.sessions.get(to.full);
      if (session && session.send(stanza)) return;
      // A full JID that is gone: chat and normal fall back to the bare JID.
      if (type === 'groupchat') return this.ctx.router.bounce(stanza, 'service-unavailable');
      if (type === 'error' || type === 'headline') return;
    }
    if (type === 'error') return;
    const targets = this.bareTargets(to.bare);
    if (type === 'groupchat') {
      if (targets.length === 0) this.ctx.router.bounce(stanza, 'service-unavailable');
      else for (const s of targets) s.send(stanza);
      return;
    }
    if (type === 'headline') {
      for (const s of targets) s.send(stanza);
      return;
    }
    if (targets.length > 0) return this.sendToResources(targets, stanza);
    if (!this.offline(to, stanza)) this.ctx.router.bounce(stanza, 'service-unavailable');
  }
}
