import type { ServerContext } from '../core/context.ts';
import { parseJid } from '../core/jid.ts';
import type { MucService } from '../muc/service.ts';
import type { Room } from '../muc/room.ts';
import type { Element } from '../xml/element.ts';
import { NS } from '../xml/ns.ts';
import type { PushDispatcher } from './dispatcher.ts';
import { summarize } from './notification.ts';
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

  const presentUsers = (room: Room): Set<string> => {
    const out = new Set<string>();
    for (const occupant of room.occupants.values()) {
      for (const full of occupant.sessions.keys()) {
        if (live(full)) {
          out.add(occupant.bare);
          break;
        }
      }
    }
    return out;
  };

  /** Sends to each device once: the MUC-service and the room registration may name the same one. */
  const send = (regs: readonly PushRegistration[], stanzaId: string, from: string, count: number, sender: string, body: string) => {
    const seen = new Set<string>();
    for (const reg of regs) {
      const device = `${reg.jid}\u0000${reg.node}`;
      if (seen.has(device)) continue;
      seen.add(device);
      if (!registrations.markPushed(reg, stanzaId)) continue;
      dispatcher.push(reg, from, summarize(ctx.config.push, count, sender, body, true));
    }
  };

  muc.hooks.on('room:message', ({ room, occupant, stanza, stanzaId, body }) => {
    if (!body || !body.trim() || !registrations.anyMuc) return;
    const policy = effectivePolicy(room.config.pushPolicy, ctx.config.push.mucPolicy);
    const sender = stanza.attrs.from as string;
    let present: Set<string> | null = null;
    for (const bare in room.record.nicks) {
      if (bare === occupant.bare) continue;
      const regs = registrations.forRoom(bare, room.jid);
      if (regs.length === 0) continue;
      present ??= presentUsers(room);
      if (present.has(bare)) continue;
      const count = unread.bump(room.jid.bare, bare, stanzaId);
      const nick = room.record.nicks[bare]!;
      if (policy === 'mentions' && !mentions(stanza, body, { nick, bare, room: room.jid.bare })) continue;
      send(regs, stanzaId, room.jid.domain, count, sender, body);
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
    send(regs, stanzaId, room.jid.domain, count, sender, body);
  });

  // Back in the room (joined, or a session resumed): nothing is unread any more.
  muc.hooks.on('room:joined', ({ room, jid }) => void unread.reset(room.jid.bare, jid.bare));
  ctx.hooks.on('session:resumed', ({ session }) => {
    for (const room of muc.roomsOf(session.jid.full)) unread.reset(room.jid.bare, session.jid.bare);
  });
  muc.hooks.on('room:destroyed', ({ room }) => void unread.dropRoom(room.jid.bare));
}

function stanzaIdOf(message: Element, room: string): string {
  for (const c of message.getChildren('stanza-id', NS.SID)) if (c.attrs.by === room) return String(c.attrs.id ?? '');
  return '';
}
