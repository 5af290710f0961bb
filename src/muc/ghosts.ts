import type { Jid } from '../core/jid.ts';
import { cloneElement, xml, type Element } from '../xml/element.ts';
import { NS } from '../xml/ns.ts';
import type { Occupant } from './occupant.ts';
import type { Removal, Room } from './room.ts';
import type { MucService } from './service.ts';
import { PRIORITY } from './priorities.ts';

/**
 * Message error conditions that mean the occupant's session is gone (Prosody's
 * kickable_error_conditions); a message error without a defined condition counts too. Any
 * presence error removes the occupant.
 */
const KICKABLE = new Set([
  'gone',
  'internal-server-error',
  'item-not-found',
  'jid-malformed',
  'recipient-unavailable',
  'redirect',
  'remote-server-not-found',
  'remote-server-timeout',
  'service-unavailable',
]);

/** Children a bounce may carry that are not the message itself. */
function isEnvelope(c: Element): boolean {
  return (
    c.name === 'error' ||
    (c.name === 'stanza-id' && c.attrs.xmlns === NS.SID) ||
    (c.name === 'occupant-id' && c.attrs.xmlns === NS.OCCUPANT_ID) ||
    (c.name === 'x' && c.attrs.xmlns === NS.MUC_USER)
  );
}

/** The defined condition (RFC 6120 8.3.3) and text of an error stanza. */
function errorOf(stanza: Element): { condition?: string; text?: string } {
  const err = stanza.getChild('error');
  if (!err) return {};
  const cond = err.children.find((c): c is Element => typeof c !== 'string' && c.attrs.xmlns === NS.STANZAS_ERR && c.name !== 'text');
  const text = err.getChildText('text', NS.STANZAS_ERR) ?? undefined;
  return { condition: cond?.name, text: text || undefined };
}

/** The room's stanza-id in a bounced message, if it carries one. */
function roomStanzaId(room: Room, stanza: Element): string | undefined {
  for (const c of stanza.getChildren('stanza-id', NS.SID)) if (c.attrs.by === room.jid.bare && c.attrs.id) return c.attrs.id as string;
  return undefined;
}

/**
 * The undelivered message rebuilt from its bounce: the original children without the <error/>,
 * addressed as it was sent (from the room or room/nick the error went back to, to the ghost).
 * null when the bounce carries no payload at all (a server that strips bounces).
 */
function fromBounce(room: Room, error: Element, ghost: Jid): Element | null {
  const children = error.children.filter((c): c is Element => typeof c !== 'string' && c.name !== 'error');
  if (!children.some((c) => !isEnvelope(c))) return null;
  const attrs: Record<string, string> = {
    from: (error.attrs.to as string | undefined) ?? room.jid.bare,
    to: ghost.full,
    type: roomStanzaId(room, error) ? 'groupchat' : 'chat',
  };
  if (error.attrs.id) attrs.id = error.attrs.id as string;
  if (error.attrs['xml:lang']) attrs['xml:lang'] = error.attrs['xml:lang'] as string;
  const out = xml('message', attrs);
  for (const c of children) out.cnode(cloneElement(c));
  return out;
}

/** One occupant session found dead, with what bounced from it. */
interface Ghosting {
  room: Room;
  occupant: Occupant;
  jid: Jid;
  removal: Removal;
  /** Bounced messages rebuilt, oldest first. */
  messages: Element[];
  /** Stanza-ids of bounces that carried no payload (looked up in the archive if need be). */
  strippedIds: string[];
}

/**
 * Ghost removal (Prosody's "kickable errors"): when an occupant's session answers the room with
 * an error that means it is gone (a groupchat message bounced by stream management when a
 * hibernated session expired, a remote server that lost the user, any presence error), that
 * session leaves with status 333 and a "Kicked: <condition>" status. With its last session the
 * occupant is removed and `room:occupant-ghost` fires first, while the occupant is still in the
 * room, with the message it missed, so the push dispatcher can send it on.
 *
 * When the error arrives: an error from a live session (or from a remote JID) removes the
 * session synchronously, inside the error's delivery (this handler runs first on
 * `room:delivery-failed`). A local session that has just closed (hibernation timed out) bounces
 * all its unacknowledged stanzas in a row, and the lifecycle queues its `session:closed` (whose
 * unavailable presence the presence module sends) after those bounces. Every room handles its
 * stanzas one at a time, in its own queue: the bounces are queued there, then `session:closed`
 * (at high priority, before that presence is routed) queues the removal behind them, and the
 * presence comes last. The first bounce marks the session, the following ones are collected,
 * and the removal finishes the ghost. That way the ghost event carries the
 * message that matters (the newest one with a body from someone else) rather than whatever
 * stanza happened to be unacknowledged first (often the join's empty <subject/>). If no
 * `session:closed` comes, the removal happens on the next turn of the event loop.
 *
 * The undelivered message is the bounced copy: our own bounces carry every original child. Only
 * when no bounce carried a payload (stripped by a remote server) and the room archive
 * (`muc.archive.get(room, stanzaId)`, asynchronous) is on is it looked up there; in that case the
 * occupant is removed first and the ghost event follows the lookup.
 */
export function installGhosts(muc: MucService): void {
  /** Sessions that just closed and are bouncing, by real full JID then room. */
  const closing = new Map<string, Map<Room, Ghosting>>();

  const sessionClosed = (jid: Jid) => jid.domain === muc.ctx.config.domain && muc.ctx.sessions.get(jid.full) === undefined;

  function collect(g: Ghosting, error: Element): void {
    if (error.name !== 'message') return;
    const copy = fromBounce(g.room, error, g.jid);
    if (copy) g.messages.push(copy);
    else {
      const id = roomStanzaId(g.room, error);
      if (id) g.strippedIds.push(id);
    }
  }

  function finish(g: Ghosting): void {
    const { room, occupant, jid, removal } = g;
    if (room.occupants.get(occupant.nick) !== occupant || !occupant.sessions.has(jid.full)) return;
    if (occupant.sessions.size > 1) {
      // Another resource is still joined under this nick: only the dead session leaves.
      room.leaveSession(occupant, jid, removal);
      return;
    }
    // The newest message with a body from someone else (not the ghost's own echo), else the
    // newest with a body, else the first thing that bounced.
    const own = room.occupantJid(occupant.nick);
    const newest = [...g.messages].reverse();
    const undelivered = newest.find((m) => m.getChild('body') && m.attrs.from !== own) ?? newest.find((m) => m.getChild('body')) ?? g.messages[0] ?? null;
    const stanzaId = g.strippedIds[g.strippedIds.length - 1];
    if (!undelivered && stanzaId && muc.archive) {
      room.leaveSession(occupant, jid, removal);
      void lookUp(muc, room, stanzaId, jid).then((found) => muc.hooks.emit('room:occupant-ghost', { room, occupant, jid, undelivered: found }));
      return;
    }
    muc.hooks.emit('room:occupant-ghost', { room, occupant, jid, undelivered });
    room.leaveSession(occupant, jid, removal);
  }

  /** Finishes the ghosting of `full` in `room`, if its bounces started one (in the room's queue). */
  function finishIn(full: string, room: Room): void {
    const byRoom = closing.get(full);
    const g = byRoom?.get(room);
    if (!byRoom || !g) return;
    byRoom.delete(room);
    if (byRoom.size === 0) closing.delete(full);
    finish(g);
  }

  /** Queues the finish in each room, behind the bounces already queued there. */
  function flush(full: string, rooms: Iterable<Room>): void {
    for (const room of [...rooms]) void muc.inRoom(room.jid.bare, () => finishIn(full, room));
  }

  muc.hooks.on(
    'room:delivery-failed',
    ({ room, occupant, jid, error }) => {
      if (error.name !== 'message' && error.name !== 'presence') return;
      const { condition, text } = errorOf(error);
      if (error.name === 'message' && condition !== undefined && !KICKABLE.has(condition)) return;
      if (room.occupants.get(occupant.nick) !== occupant || !occupant.sessions.has(jid.full)) return;

      const pending = closing.get(jid.full)?.get(room);
      if (pending) return collect(pending, error);

      let status = `Kicked: ${condition ? condition.replace(/-/g, ' ') : error.name === 'presence' ? 'presence error' : 'malformed error'}`;
      // The error text may name the user's server: only where real JIDs are public anyway.
      if (text && !room.anonymous) status += `: ${text}`;
      const removal: Removal = { reason: 'ghost', codes: [333], presence: xml('presence', { type: 'unavailable' }, xml('status', {}, status)) };
      const g: Ghosting = { room, occupant, jid, removal, messages: [], strippedIds: [] };
      collect(g, error);
      if (!sessionClosed(jid)) return finish(g);

      let byRoom = closing.get(jid.full);
      if (!byRoom) {
        closing.set(jid.full, (byRoom = new Map()));
        setImmediate(() => flush(jid.full, closing.get(jid.full)?.keys() ?? []));
      }
      byRoom.set(room, g);
    },
    PRIORITY.deliveryFailed.ghosts,
  );

  // Before the presence module routes the closed session's unavailable presence (priority 0):
  // the finish is queued in every room of the session, after the bounces (routed before this
  // event, so already queued, though not yet looked at) and before that presence.
  muc.ctx.hooks.on('session:closed', ({ session }) => flush(session.jid.full, muc.roomsOf(session.jid.full)), PRIORITY.sessionClosed.ghosts);
}

/** The archived copy of a broadcast message, addressed to the ghost; null when not found. */
async function lookUp(muc: MucService, room: Room, stanzaId: string, ghost: Jid): Promise<Element | null> {
  try {
    const el = await muc.archive!.get(room.jid.bare, stanzaId);
    if (!el) return null;
    el.attrs.to = ghost.full;
    return el;
  } catch (err) {
    muc.ctx.log.warn({ err, room: room.jid.bare, stanzaId }, 'archive lookup for a ghost failed');
    return null;
  }
}
