import { parseJid, type Jid } from '../core/jid.ts';
import { cloneElement, xml, type Element } from '../xml/element.ts';
import { StanzaError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';
import type { Occupant } from './occupant.ts';
import type { MucService } from './service.ts';
import type { Room } from './room.ts';
import { AFFILIATION_RANK } from './types.ts';

/**
 * Mediated invitations (XEP-0045 7.8.2): an occupant sends
 * `<message to=room><x xmlns=muc#user><invite to=JID><reason/></invite></x></message>`; the room
 * relays it to the invitee from the room JID, with the inviter's real JID, the password of a
 * protected room and a jabber:x:conference element for older clients. A decline goes back to
 * the inviter from the room. Direct invitations (XEP-0249) go user to user and need nothing here.
 *
 * Who may invite: in an open room a moderator, or any participant when the room allows invites;
 * in a members-only room an admin or owner, or a member when the room allows invites (as in
 * Prosody); an invitation into a members-only room makes an unaffiliated invitee a member.
 */
export function installInvites(muc: MucService): void {
  muc.hooks.on('room:direct-message', async ({ room, occupant, from, stanza }) => {
    const x = stanza.getChild('x', NS.MUC_USER);
    if (!x) return;
    const invites = x.getChildren('invite');
    if (invites.length > 0) {
      await invite(muc, room, occupant, from, stanza, invites);
      return true;
    }
    const declines = x.getChildren('decline');
    if (declines.length > 0) {
      for (const d of declines) decline(muc, room, from, stanza, d);
      return true;
    }
    return undefined;
  });
}

function mayInvite(room: Room, occupant: Occupant | undefined, from: Jid): void {
  const aff = room.affiliation(from.bare);
  const rank = AFFILIATION_RANK[aff];
  if (aff === 'outcast') throw new StanzaError('forbidden', 'you are banned from this room', 'auth');
  // Admins and owners manage the member list, so they may invite without being present.
  if (!occupant && rank < AFFILIATION_RANK.admin) throw new StanzaError('not-acceptable', 'join the room before inviting others');
  if (room.config.membersOnly) {
    const needed = room.config.allowInvites ? AFFILIATION_RANK.member : AFFILIATION_RANK.admin;
    if (rank < needed) throw new StanzaError('forbidden', 'only admins may invite others into this members-only room', 'auth');
    return;
  }
  const role = occupant?.role ?? room.defaultRole(aff);
  if (role === 'moderator') return;
  if (!room.config.allowInvites) throw new StanzaError('forbidden', 'occupants may not invite others into this room', 'auth');
  if (role === 'visitor') throw new StanzaError('forbidden', 'visitors may not invite others', 'auth');
}

async function invite(muc: MucService, room: Room, occupant: Occupant | undefined, from: Jid, stanza: Element, invites: Element[]): Promise<void> {
  mayInvite(room, occupant, from);
  // All addresses are checked before anything is sent.
  const targets = invites.map((el) => {
    const to = parseJid(el.attrs.to as string | undefined);
    if (!to) throw new StanzaError('jid-malformed', 'the invitee is not a valid JID');
    return { to, el };
  });
  for (const { to, el } of targets) {
    const reason = el.getChildText('reason');
    if (room.config.membersOnly && room.affiliation(to.bare) === 'none') {
      await room.setAffiliation(to.bare, 'member', occupant, `Invited by ${from.bare}`);
    }
    // XEP-0045 7.8.2 lets the room name the inviter by real or occupant JID: where real JIDs are
    // not public, the occupant JID (an absent admin is named by bare JID, as its list shows it).
    const inviter = !room.anonymous ? from.full : occupant ? room.occupantJid(occupant.nick) : from.bare;
    const item = xml('invite', { from: inviter });
    if (reason) item.c('reason').t(reason);
    const cont = el.getChild('continue');
    if (cont) item.cnode(cloneElement(cont));
    const user = xml('x', { xmlns: NS.MUC_USER }, item);
    if (room.config.password) user.c('password').t(room.config.password);
    const msg = xml('message', { from: room.jid.bare, to: to.full, ...(stanza.attrs.id ? { id: stanza.attrs.id as string } : {}) }, user);
    msg.c('x', { xmlns: NS.CONFERENCE, jid: room.jid.bare, ...(reason ? { reason } : {}), ...(room.config.password ? { password: room.config.password } : {}) });
    muc.ctx.router.route(msg);
  }
}

function decline(muc: MucService, room: Room, from: Jid, stanza: Element, el: Element): void {
  const to = parseJid(el.attrs.to as string | undefined);
  if (!to) throw new StanzaError('jid-malformed', 'a decline needs the inviter JID in "to"');
  const reason = el.getChildText('reason');
  const item = xml('decline', { from: from.bare });
  if (reason) item.c('reason').t(reason);
  const attrs = { from: room.jid.bare, ...(stanza.attrs.id ? { id: stanza.attrs.id as string } : {}) };
  // A decline addressed to an occupant JID of this room reaches that occupant's sessions.
  const targets = to.bare === room.jid.bare && to.resource ? [...(room.occupants.get(to.resource)?.sessions.keys() ?? [])] : [to.full];
  if (targets.length === 0) throw new StanzaError('item-not-found', 'no such occupant');
  for (const target of targets) muc.ctx.router.route(xml('message', { ...attrs, to: target }, xml('x', { xmlns: NS.MUC_USER }, cloneElement(item))));
}
