import type { ServerContext } from '../core/context.ts';
import { parseJid, type Jid } from '../core/jid.ts';
import type { MucService } from '../muc/service.ts';
import type { Session } from '../stream/session.ts';
import type { Element } from '../xml/element.ts';
import { NS } from '../xml/ns.ts';
import type { PushDispatcher } from './dispatcher.ts';
import { PushContent } from './notification.ts';
import { mentions, pushableMessage } from './policy.ts';
import type { Registrations } from './registrations.ts';

interface Hibernation {
  /** Messages worth a push queued since the session hibernated. */
  count: number;
  pushed: boolean;
}

interface Offline {
  count: number;
  last: number;
  timer: NodeJS.Timeout | null;
  /** The newest message, which a delayed push describes. */
  latest: { message: Element; body: string | null } | null;
}

/** At most one offline push per user in this many milliseconds (later ones are folded in). */
const OFFLINE_INTERVAL = 1000;

/**
 * Account pushes (mod_cloud_notify's job), sent from the user's domain to their account-scope
 * registrations: once per hibernation, for the first stanza worth it queued for a hibernated
 * session (a message with a body, an encrypted one, a groupchat mention of the user); and for
 * messages stored offline (at most one push a second per user, the count growing).
 */
export function installAccountListener(ctx: ServerContext, muc: MucService | null, registrations: Registrations, dispatcher: PushDispatcher): () => void {
  const hibernations = new Map<Session, Hibernation>();
  const offline = new Map<string, Offline>();
  const domain = ctx.config.domain;

  const send = (user: string, count: number, message: Element, body: string | null) => {
    const from = parseJid(message.attrs.from as string | undefined);
    const groupish = message.attrs.type === 'groupchat' || message.getChild('x', NS.MUC_USER) !== undefined;
    const sender = from ? (groupish ? from.full : from.bare) : null;
    const regs = registrations.forAccount(user);
    if (regs.length === 0) return;
    const content = PushContent.of(ctx.config.push, domain, sender, body, true);
    for (const reg of regs) dispatcher.push(reg, content, count);
  };

  /** A groupchat message is worth a push only when it mentions the user, and the room's own push does not cover them. */
  const groupchatWorth = (session: Session, message: Element, body: string | null): boolean => {
    if (!body || !muc) return false;
    const from = parseJid(message.attrs.from as string | undefined);
    const room = from && muc.room(from.bare);
    if (!room || !from) return false;
    const bare = session.jid.bare;
    const registered = room.registeredNick(bare);
    const nick = room.nickOf(session.jid.full) ?? registered;
    if (!nick || from.resource === nick) return false;
    if (registered !== undefined && registrations.forRoom(bare, room.jid).length > 0) return false;
    return mentions(message, body, { nick, bare, room: room.jid.bare });
  };

  const fromSelf = (user: Jid | string, message: Element) => parseJid(message.attrs.from as string | undefined)?.bare === (typeof user === 'string' ? user : user.bare);

  const offHibernated = ctx.hooks.on('session:hibernated', ({ session }) => void hibernations.set(session, { count: 0, pushed: false }));
  const offQueued = ctx.hooks.on('session:queued', ({ session, stanza }) => {
    const user = session.jid.bare;
    if (registrations.forAccount(user).length === 0) return;
    const m = pushableMessage(stanza);
    if (!m || fromSelf(user, m.message)) return;
    if (m.message.attrs.type === 'groupchat' && !groupchatWorth(session, m.message, m.body)) return;
    let h = hibernations.get(session);
    if (!h) hibernations.set(session, (h = { count: 0, pushed: false }));
    h.count++;
    if (h.pushed) return;
    h.pushed = true;
    send(user, h.count, m.message, m.body);
  });
  const offResumed = ctx.hooks.on('session:resumed', ({ session }) => void hibernations.delete(session));
  const offClosed = ctx.hooks.on('session:closed', ({ session }) => void hibernations.delete(session));

  const offOffline = ctx.hooks.on('account:offline-message', ({ user, stanza }) => {
    if (registrations.forAccount(user.bare).length === 0) return;
    const m = pushableMessage(stanza);
    if (!m || m.message.attrs.type === 'groupchat' || fromSelf(user, m.message)) return;
    let o = offline.get(user.bare);
    if (!o) offline.set(user.bare, (o = { count: 0, last: 0, timer: null, latest: null }));
    o.count++;
    o.latest = m;
    if (o.timer) return; // folded into the push already scheduled
    const state = o;
    const flush = () => {
      state.timer = null;
      state.last = Date.now();
      if (state.latest) send(user.bare, state.count, state.latest.message, state.latest.body);
    };
    const wait = state.last + OFFLINE_INTERVAL - Date.now();
    if (wait <= 0) return flush();
    state.timer = setTimeout(flush, wait);
    state.timer.unref();
  });

  // Back online: the offline messages are about to be delivered, the count starts over.
  const back = ({ session }: { session: Session }) => {
    const o = offline.get(session.jid.bare);
    if (o?.timer) clearTimeout(o.timer);
    offline.delete(session.jid.bare);
  };
  const offAvailable = ctx.hooks.on('session:available', back);
  const offBound = ctx.hooks.on('session:bound', back);

  return () => {
    for (const off of [offHibernated, offQueued, offResumed, offClosed, offOffline, offAvailable, offBound]) off();
    for (const o of offline.values()) if (o.timer) clearTimeout(o.timer);
    offline.clear();
    hibernations.clear();
  };
}
