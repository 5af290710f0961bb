import type { ServerContext } from '../core/context.ts';
import { Element } from '../xml/element.ts';
import { streamErrorElement } from '../xml/errors.ts';
import { sharedDeliveries, type Session, type SessionObserver, type StanzaTraffic } from './session.ts';

/**
 * How sessions end: hibernation when stream management can resume them, and the final close
 * that hands undelivered stanzas back to the router before anyone hears the session is gone.
 */
export class SessionLifecycle implements SessionObserver {
  readonly traffic: StanzaTraffic = { stanzasIn: 0, stanzasOut: 0 };
  constructor(private readonly ctx: ServerContext) {}

  /** Called when a resource is bound: the session reports its queue to us from now on. */
  attach(session: Session): void {
    session.observer = this;
    session.maxQueue = this.ctx.config.streamManagement.maxQueue;
    session.maxQueueBytes = this.ctx.config.streamManagement.maxQueueBytes;
  }

  queued(session: Session, stanza: Element): void {
    this.ctx.hooks.emit('session:queued', { session, stanza });
  }

  overflow(session: Session): void {
    this.ctx.log.info({ jid: session.jid.full, queued: session.sm?.unacked.length, bytes: session.sm?.unackedBytes }, 'too many unacknowledged stanzas: closing the session');
    const conn = session.connection;
    this.close(session, 'too many unacknowledged stanzas');
    conn?.write(streamErrorElement('resource-constraint', 'too many unacknowledged stanzas (or bytes of them)').toString());
    conn?.closeStream();
  }

  /** The connection is gone but the client may resume within the configured timeout. */
  hibernate(session: Session): void {
    const sm = session.sm!;
    session.connection = null;
    session.state = 'hibernated';
    sm.requestPending = false;
    sm.hibernationTimer = setTimeout(() => this.close(session, 'hibernation timed out'), this.ctx.config.streamManagement.resumeTimeoutSeconds * 1000);
    sm.hibernationTimer.unref();
    this.ctx.log.debug({ jid: session.jid.full }, 'session hibernated');
    this.ctx.hooks.emit('session:hibernated', { session });
  }

  /** Ends a session with a stream error (the account was removed, an admin ended it). */
  end(session: Session, condition: 'not-authorized' | 'policy-violation', text: string): void {
    const conn = session.connection;
    conn?.write(streamErrorElement(condition, text).toString());
    conn?.closeStream();
    this.close(session, text);
  }

  /** Ends a session for good. Safe to call twice. */
  close(session: Session, reason: string): void {
    if (session.state === 'closed') return;
    session.state = 'closed';
    session.closeReason = reason;
    if (session.sm?.hibernationTimer) clearTimeout(session.sm.hibernationTimer);
    session.connection = null;
    this.ctx.sessions.remove(session);
    this.returnUnacked(session);
    this.ctx.log.debug({ jid: session.jid.full, reason }, 'session closed');
    // After the bounces queued above, so a room learns of an undelivered message before the leave.
    queueMicrotask(() => this.ctx.hooks.emit('session:closed', { session, reason }));
  }

  /**
   * XEP-0198 section 5: unacknowledged stanzas were not delivered. Chat messages go back to the
   * account (another resource or offline storage); the rest bounce to their sender.
   */
  private returnUnacked(session: Session): void {
    const unacked = session.sm?.unacked ?? [];
    if (session.sm) {
      session.sm.unacked = [];
      session.sm.unackedBytes = 0;
    }
    for (const { el } of unacked) {
      const type = el.attrs.type as string | undefined;
      if (el.name === 'message' && (type === undefined || type === 'chat' || type === 'normal')) {
        // Sent to the bare JID, it also went to other resources (RFC 6121 8.5.2.1.1): while one of
        // them is still there, routing it again would deliver it to that resource twice.
        if (el.attrs.to === session.jid.bare && sharedDeliveries.get(el)?.some((s) => s !== session && s.state !== 'closed')) continue;
        const copy = new Element('message', { ...el.attrs, to: session.jid.bare });
        copy.children = el.children;
        this.ctx.router.route(copy);
      } else if (el.name !== 'presence') {
        const copy = new Element(el.name, { ...el.attrs, to: session.jid.full });
        copy.children = el.children;
        this.ctx.router.bounce(copy, 'recipient-unavailable');
      }
    }
  }
}
