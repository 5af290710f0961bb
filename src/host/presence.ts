import type { ServerContext } from '../core/context.ts';
import { storedStanzaLimits } from './stored-limits.ts';
import { parseJid, type Jid } from '../core/jid.ts';
import type { Session } from '../stream/session.ts';
import { Element, xml } from '../xml/element.ts';
import { errorReply } from '../xml/errors.ts';
import { parseFrame } from '../xml/frame-parser.ts';
import { NS } from '../xml/ns.ts';
import type { RosterItem } from '../store/rosters.ts';
import type { Host, PresenceHandler } from './host.ts';
import { hasFrom, hasTo, type Rosters } from './roster.ts';

type SubscriptionType = 'subscribe' | 'subscribed' | 'unsubscribe' | 'unsubscribed' | 'probe';
const SUBSCRIPTION_TYPES = new Set<string>(['subscribe', 'subscribed', 'unsubscribe', 'unsubscribed', 'probe']);

/** RFC 6121 4.7.2.3: an integer in -128..127; anything else counts as 0, out of range is clamped. */
export function parsePriority(stanza: Element): number {
  const text = stanza.getChildText('priority')?.trim();
  if (!text || !/^[+-]?\d{1,10}$/.test(text)) return 0;
  return Math.max(-128, Math.min(127, Number(text)));
}

/** A shallow copy with other addresses: the children are shared, never mutated. */
function readdress(stanza: Element, attrs: Record<string, string | undefined>): Element {
  const copy = new Element('presence', { ...stanza.attrs, ...attrs });
  for (const [k, v] of Object.entries(attrs)) if (v === undefined) delete copy.attrs[k];
  copy.children = stanza.children;
  return copy;
}

/**
 * RFC 6121 presence, the way Prosody's mod_presence does it: broadcasts to the roster and the
 * user's own resources, probes on initial presence answered from the contacts' sessions,
 * directed presence remembered so the JIDs hear we left, and the subscription handshake with
 * its roster state transitions. Everything that reads or changes a roster runs in that
 * account's queue (`Rosters.run`), so one account's presence and subscription events keep
 * their order.
 */
export class Presence implements PresenceHandler {
  constructor(
    private readonly ctx: ServerContext,
    private readonly rosters: Rosters,
  ) {}

  outbound(session: Session, stanza: Element): void {
    const type = stanza.attrs.type as string | undefined;
    if (type !== undefined && type !== 'unavailable' && type !== 'error' && !SUBSCRIPTION_TYPES.has(type)) {
      session.send(errorReply(stanza, 'bad-request', 'unknown presence type'));
      return;
    }
    const toAttr = stanza.attrs.to as string | undefined;
    if (!toAttr) {
      if (type === undefined || type === 'unavailable') {
        // The JIDs that hear this unavailable are those directed to before it, not any added
        // (synchronously, see `directed`) while it waits in the queue.
        const directed = type === 'unavailable' ? this.takeDirected(session) : [];
        this.rosters.spawn(session.jid.local, () => this.broadcast(session, stanza, directed));
      } else if (type !== 'error') {
        session.send(errorReply(stanza, 'bad-request', 'a subscription needs a to address'));
      }
      return;
    }
    const to = parseJid(toAttr)!;
    if (type === 'probe') return this.ctx.router.route(stanza);
    if (type !== undefined && SUBSCRIPTION_TYPES.has(type)) {
      this.rosters.spawn(session.jid.local, () => this.outboundSubscription(session, to, type as Exclude<SubscriptionType, 'probe'>, stanza));
      return;
    }
    this.directed(session, to, stanza);
  }

  /**
   * Directed presence goes out at once, not through the queue: a client joining a room and then
   * talking there must not have its message overtake the join. The JID is remembered so it gets
   * unavailable when we leave; entries that the roster broadcast covers are skipped then.
   */
  private directed(session: Session, to: Jid, stanza: Element): void {
    if (to.bare !== session.jid.bare) {
      if (stanza.attrs.type === undefined) session.directedPresence.add(to.full);
      else session.directedPresence.delete(to.full);
    }
    this.ctx.router.route(stanza);
  }

  /** Presence routed to a local account or one of its resources. */
  inbound(stanza: Element): void {
    const to = parseJid(stanza.attrs.to as string)!;
    const from = parseJid(stanza.attrs.from as string | undefined);
    if (!from) return;
    const type = stanza.attrs.type as string | undefined;
    if (type !== undefined && SUBSCRIPTION_TYPES.has(type)) {
      this.rosters.spawn(to.local, () => this.inboundSubscription(to, from, type as SubscriptionType, stanza));
      return;
    }
    if (type !== undefined && type !== 'unavailable' && type !== 'error') return;
    // Behind a queued subscription change of this account, so 'subscribed' comes before the presence it enables.
    if (this.rosters.busy(to.local)) this.rosters.spawn(to.local, () => this.deliver(to, stanza));
    else this.deliver(to, stanza);
  }

  /** RFC 6121 8.5.2.1.1 and 8.5.3.1: a full JID gets it if bound; a bare JID at every available resource. */
  private deliver(to: Jid, stanza: Element): void {
    if (to.resource) {
      this.ctx.sessions.get(to.full)?.send(stanza);
      return;
    }
    const text = stanza.toString();
    for (const s of this.ctx.sessions.of(to.bare)) if (s.available) s.send(stanza, text);
  }

  private takeDirected(session: Session): string[] {
    const list = [...session.directedPresence];
    session.directedPresence.clear();
    return list;
  }

  /**
   * Broadcast presence (no 'to') from a session, or the unavailable we make up when it closes
   * (`closing`). RFC 6121 4.2 and 4.5. `directed` lists who also gets an unavailable.
   */
  async broadcast(session: Session, stanza: Element, directed: string[], closing = false): Promise<void> {
    // Closed while an available presence waited in the queue: nobody needs to hear it now, and
    // the close handler (queued behind) sees no presence. A queued unavailable still goes out.
    if (session.state === 'closed' && !closing && stanza.attrs.type !== 'unavailable') return;
    const user = session.jid.local;
    const data = await this.rosters.data(user);
    const unavailable = stanza.attrs.type === 'unavailable';
    const initial = !unavailable && session.presence === null;
    const pres = readdress(stanza, { to: undefined, from: session.jid.full });

    if (unavailable) {
      session.presence = null;
    } else {
      // Kept with a delay stamp: answers to later probes tell when it was set (XEP-0203).
      const stored = readdress(pres, {});
      stored.children = [...pres.children, xml('delay', { xmlns: NS.DELAY, from: this.ctx.config.domain, stamp: new Date().toISOString() })];
      session.presence = stored;
      session.priority = parsePriority(stanza);
    }

    // The user's own resources, the sender included (RFC 6121 4.2.2).
    for (const s of this.ctx.sessions.of(session.jid.bare)) {
      if (s === session || s.available) s.send(readdress(pres, { to: s.jid.full }));
    }
    // Contacts allowed to see it.
    for (const item of data.items.values()) {
      if (hasFrom(item)) this.ctx.router.route(readdress(pres, { to: item.jid }));
    }
    if (unavailable) {
      // RFC 6121 4.6.3: those we sent directed presence hear we left (rooms learn it this way).
      for (const jid of directed) {
        const target = parseJid(jid);
        if (target && !target.resource && hasFrom(data.items.get(target.bare))) continue;
        this.ctx.router.route(readdress(pres, { to: jid }));
      }
      return;
    }
    if (!initial) return;
    // RFC 6121 4.2.2: learn the contacts' presence, and the user's other resources'.
    for (const item of data.items.values()) {
      if (hasTo(item)) this.ctx.router.route(xml('presence', { type: 'probe', from: session.jid.full, to: item.jid }));
    }
    for (const s of this.ctx.sessions.of(session.jid.bare)) {
      if (s !== session && s.available) session.send(readdress(s.presence!, { to: session.jid.full }));
    }
    // RFC 6121 3.1.3: subscription requests that arrived while the user was away.
    for (const [contact, text] of data.pending) {
      try {
        session.send(readdress(parseFrame(text, storedStanzaLimits(this.ctx.config)), { from: contact, to: session.jid.bare }));
      } catch (err) {
        this.ctx.log.warn({ err, contact }, 'stored subscription request unreadable');
      }
    }
    this.ctx.hooks.emit('session:available', { session });
  }

  /** The session is gone: its contacts, other resources and directed-presence JIDs hear unavailable. */
  closed(session: Session, reason: string): void {
    if (session.presence === null && session.directedPresence.size === 0) return;
    const pres = xml('presence', { type: 'unavailable', from: session.jid.full });
    // Prosody's wording: clients show why a contact dropped; a clean logout needs no reason.
    if (reason !== 'closed by client') pres.c('status').t(`Disconnected: ${reason}`);
    const directed = this.takeDirected(session);
    this.rosters.spawn(session.jid.local, async () => {
      if (session.presence !== null) return this.broadcast(session, pres, directed, true);
      for (const jid of directed) this.ctx.router.route(readdress(pres, { to: jid }));
    });
  }

  /** Sends each available resource's presence (or `override`) to `to`; returns how many went. */
  private presenceOfResources(userBare: string, to: string, override?: Element): number {
    let n = 0;
    for (const s of this.ctx.sessions.of(userBare)) {
      if (!s.available) continue;
      this.ctx.router.route(readdress(override ?? s.presence!, { from: s.jid.full, to }));
      n++;
    }
    return n;
  }

  /** RFC 6121 section 3, the user's side: the request or answer leaves from the bare JID. */
  private async outboundSubscription(session: Session, to: Jid, type: Exclude<SubscriptionType, 'probe'>, stanza: Element): Promise<void> {
    const user = session.jid.local;
    const userBare = session.jid.bare;
    const contact = to.bare;
    if (contact === userBare) return;
    const data = await this.rosters.data(user);
    const item = data.items.get(contact);
    const out = readdress(stanza, { from: userBare, to: contact });
    const save = async (next: RosterItem, pendingDel = false) => {
      await this.rosters.change(user, data, { put: [next], pendingDel: pendingDel ? [contact] : [] });
      this.rosters.push(user, next);
    };
    switch (type) {
      case 'subscribe':
        // 3.1.2: None or From becomes "+ Pending Out"; the request goes out either way (the
        // contact's server answers on its own if we are subscribed already).
        if (!item) await save({ jid: contact, subscription: 'none', ask: true, groups: [] });
        else if (!item.ask && !hasTo(item)) await save({ ...item, ask: true });
        this.ctx.router.route(out);
        return;
      case 'unsubscribe':
        // 3.3.2
        if (item && (hasTo(item) || item.ask)) await save(withoutAsk({ ...item, subscription: item.subscription === 'both' ? 'from' : 'none' }));
        this.ctx.router.route(out);
        return;
      case 'subscribed': {
        // 3.1.5: approving a pending request; without one there is nothing to approve (no pre-approval).
        let current = item;
        if (data.pending.has(contact)) {
          current = item
            ? { ...item, subscription: item.subscription === 'to' || item.subscription === 'both' ? 'both' : 'from' }
            : { jid: contact, subscription: 'from', groups: [] };
          await save(current, true);
        }
        if (!hasFrom(current)) return;
        this.ctx.router.route(out);
        this.presenceOfResources(userBare, contact);
        return;
      }
      case 'unsubscribed': {
        // 3.2.2: cancels the contact's subscription or denies the pending request.
        const pending = data.pending.has(contact);
        const subscribed = hasFrom(item);
        if (!pending && !subscribed) return;
        if (subscribed) await save({ ...item!, subscription: item!.subscription === 'both' ? 'to' : 'none' }, pending);
        else await this.rosters.change(user, data, { pendingDel: [contact] });
        this.ctx.router.route(out);
        if (subscribed) this.presenceOfResources(userBare, contact, xml('presence', { type: 'unavailable' }));
        return;
      }
    }
  }

  /** RFC 6121 section 3, the contact's side, for a local account `to` and a sender `from`. */
  private async inboundSubscription(to: Jid, from: Jid, type: SubscriptionType, stanza: Element): Promise<void> {
    const user = to.local;
    const userBare = to.bare;
    const contact = from.bare;
    if (contact === userBare) return;
    const reply = (t: string, replyTo = contact) => this.ctx.router.route(xml('presence', { type: t, from: userBare, to: replyTo }));
    const exists = this.ctx.sessions.of(userBare).length > 0 || (await this.ctx.accounts.exists(user));
    if (!exists) {
      // 3.1.3, 4.3.2: no such account.
      if (type === 'subscribe' || type === 'probe') reply('unsubscribed');
      return;
    }
    const data = await this.rosters.data(user);
    const item = data.items.get(contact);
    const stamped = readdress(stanza, { from: contact, to: userBare });
    const save = async (next: RosterItem, pendingDel = false) => {
      await this.rosters.change(user, data, { put: [next], pendingDel: pendingDel ? [contact] : [] });
      this.rosters.push(user, next);
    };
    // Resources that requested the roster (RFC 6121's "interested resources").
    const toInterested = () => {
      const text = stamped.toString();
      for (const s of this.ctx.sessions.of(userBare)) if (s.rosterRequested) s.send(stamped, text);
    };
    switch (type) {
      case 'probe': {
        // 4.3.2: only a subscriber may see presence; the probe's sender is a full JID.
        const prober = from.full;
        if (!hasFrom(item)) return reply('unsubscribed');
        if (this.presenceOfResources(userBare, prober) === 0) reply('unavailable', prober);
        return;
      }
      case 'subscribe': {
        if (hasFrom(item)) {
          // 3.1.3: already subscribed, so the server answers for the user.
          reply('subscribed');
          if (this.presenceOfResources(userBare, contact) === 0) reply('unavailable');
          return;
        }
        // Kept until answered and shown again at each login; a repeated request is shown again now.
        const text = stamped.toString();
        if (!data.pending.has(contact)) await this.rosters.change(user, data, { pendingPut: [[contact, text]] });
        for (const s of this.ctx.sessions.of(userBare)) if (s.available) s.send(stamped, text);
        return;
      }
      case 'unsubscribe': {
        // 3.3.3: the contact no longer wants our presence (or withdraws the request).
        const pending = data.pending.has(contact);
        const subscribed = hasFrom(item);
        if (!pending && !subscribed) return;
        if (subscribed) await save({ ...item!, subscription: item!.subscription === 'both' ? 'to' : 'none' }, pending);
        else await this.rosters.change(user, data, { pendingDel: [contact] });
        toInterested();
        if (subscribed) this.presenceOfResources(userBare, contact, xml('presence', { type: 'unavailable' }));
        return;
      }
      case 'subscribed':
        // 3.1.6: only an answer to our own pending request counts.
        if (!item?.ask) return;
        await save(withoutAsk({ ...item, subscription: item.subscription === 'from' || item.subscription === 'both' ? 'both' : 'to' }));
        toInterested();
        return;
      case 'unsubscribed':
        // 3.2.3: our subscription is cancelled or our request denied.
        if (!item || (!item.ask && !hasTo(item))) return;
        await save(withoutAsk({ ...item, subscription: item.subscription === 'both' ? 'from' : item.subscription === 'to' ? 'none' : item.subscription }));
        toInterested();
        return;
    }
  }
}

function withoutAsk(item: RosterItem): RosterItem {
  const { ask: _ask, ...rest } = item;
  return rest;
}

/** Plugs presence into the host and says unavailable for sessions that end. */
export function installPresence(ctx: ServerContext, host: Host, rosters: Rosters): Presence {
  const presence = new Presence(ctx, rosters);
  host.presence = presence;
  ctx.hooks.on('session:closed', ({ session, reason }) => presence.closed(session, reason));
  return presence;
}
