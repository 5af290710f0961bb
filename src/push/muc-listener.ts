import type { ServerContext } from '../core/context.ts';
import { parseJid } from '../core/jid.ts';
import type { MucService } from '../muc/service.ts';
import type { RoomView } from '../muc/room-view.ts';
import type { Element } from '../xml/element.ts';
import { NS } from '../xml/ns.ts';
import type { PushDispatcher } from './dispatcher.ts';
import { PushContent } from './notification.ts';
import { effectivePolicy, mentions } from './policy.ts';
import type { PushRegistration, Registrations } from './registrations.ts';
import type { UnreadCounter } from './unread.ts';

/**
 * Room pushes, from room events only: a groupchat message with a body notifies each registered
 * member (a registered nick) who has a MUC-scope registration and is absent (not joined, or
 * joined only from hibernated sessions), per the room's policy; a ghost's registrations get
 * the message that bounced. Never the sender; never twice for one message and device.
 */
export function installMucListener(ctx: ServerContext, muc: MucService, registrations: Registrations, dispatcher: PushDispatcher, unread: UnreadCounter): void {
  const local = ctx.config.domain;

  /** A session of this real full JID can receive the message now (hibernated ones cannot). */
  const live = (full: string): boolean => {
    const session = ctx.sessions.get(full);
    if (session) return session.state === 'active';
    // A local JID with no session is gone (a ghost in the making); a remote one we cannot judge.
    return parseJid(full)?.domain !== local;
  };

  /** Sends to each device once: the MUC-service and the room registration may name the same one. */
  const send = (regs: readonly PushRegistration[], stanzaId: string, content: PushContent, count: number) => {
    for (let i = 0; i < regs.length; i++) {
      const reg = regs[i]!;
      if (i > 0 && sameDeviceBefore(regs, i)) continue;
      if (!registrations.markPushed(reg, stanzaId)) continue;
      dispatcher.push(reg, content, count);
    }
  };

  muc.hooks.on('room:message', ({ room: r, occupant, stanza, stanzaId, body }) => {
    const room: RoomView = r;
    if (!body || !body.trim() || !registrations.anyMuc) return;
    const policy = effectivePolicy(room.pushPolicy, ctx.config.push.mucPolicy);
    const sender = stanza.attrs.from as string;
    // Who is absent and what they have unread is settled now; the notifications themselves are
    // queued and sent over the next turns, all sharing one content.
    let present: Set<string> | null = null;
    let content: PushContent | null = null;
    for (const [bare, nick] of room.registeredMembers()) {
      if (bare === occupant.bare) continue;
      const regs = registrations.forRoom(bare, room.jid);
      if (regs.length === 0) continue;
      present ??= room.presentUsers(live);
      if (present.has(bare)) continue;
      const count = unread.bump(room.jid.bare, bare, stanzaId);
      if (policy === 'mentions' && !mentions(stanza, body, { nick, bare, room: room.jid.bare })) continue;
      content ??= PushContent.of(ctx.config.push, room.jid.domain, sender, body, true);
      send(regs, stanzaId, content, count);
    }
  });

  // A ghost missed the message that bounced: its devices hear of it (unless they already did).
  muc.hooks.on('room:occupant-ghost', ({ room, occupant, undelivered }) => {
    if (!undelivered) return;
    const body = undelivered.getChildText('body');
    if (!body || !body.trim()) return;
    const sender = undelivered.attrs.from as string | undefined;
    if (!sender || sender === room.occupantJid(occupant.nick)) return;
    const regs = registrations.forRoom(occupant.bare, room.jid);
    if (regs.length === 0) return;
    const stanzaId = stanzaIdOf(undelivered, room.jid.bare);
    const count = unread.bump(room.jid.bare, occupant.bare, stanzaId);
    send(regs, stanzaId, PushContent.of(ctx.config.push, room.jid.domain, sender, body, true), count);
  });

  // Back in the room (joined, or a session resumed): nothing is unread any more.
  muc.hooks.on('room:joined', ({ room, jid }) => void unread.reset(room.jid.bare, jid.bare));
  ctx.hooks.on('session:resumed', ({ session }) => {
    for (const room of muc.roomsOf(session.jid.full)) unread.reset(room.jid.bare, session.jid.bare);
  });
  muc.hooks.on('room:destroyed', ({ room }) => void unread.dropRoom(room.jid.bare));
}

/** Whether a registration before `i` names the same device (app server and node) as `regs[i]`. */
function sameDeviceBefore(regs: readonly PushRegistration[], i: number): boolean {
  const { jid, node } = regs[i]!;
  for (let j = 0; j < i; j++) if (regs[j]!.jid === jid && regs[j]!.node === node) return true;
  return false;
}

function stanzaIdOf(message: Element, room: string): string {
  for (const c of message.getChildren('stanza-id', NS.SID)) if (c.attrs.by === room) return String(c.attrs.id ?? '');
  return '';
}
