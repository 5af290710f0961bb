import { xml } from '../xml/element.ts';
import { NS } from '../xml/ns.ts';
import { PRIORITY } from './priorities.ts';
import type { Room } from './room.ts';
import type { MucService } from './service.ts';
import { Prepared } from './stanzas.ts';
import { AFFILIATION_RANK, type Affiliation } from './types.ts';

/**
 * Absent members shown (`none` in muc#roomconfig_presencebroadcast, the role of those not in the
 * room): a push-enabled group chat wants its member list, present or not. A joining occupant
 * gets, after the occupants' presence, an unavailable presence (role none) for every member with
 * a registered nick who is not in the room; occupants get one when a member registers or is
 * given an affiliation while away. A leaving member's own unavailable presence already is one.
 * The real JID goes to those who may see real JIDs, as on any occupant presence.
 */
export function installOfflineMembers(muc: MucService): void {
  const shows = (room: Room) => room.config.presenceBroadcast.includes('none');

  const absentPresence = (room: Room, bare: string, nick: string, aff: Affiliation, withJid: boolean) =>
    new Prepared(
      xml('presence', { from: room.occupantJid(nick), type: 'unavailable' }, xml('x', { xmlns: NS.MUC_USER }, xml('item', { affiliation: aff, role: 'none', ...(withJid ? { jid: bare } : {}) }))),
    );

  muc.hooks.on(
    'room:joined',
    ({ room, occupant, jid }) => {
      if (!shows(room)) return;
      const withJid = room.seesRealJids(occupant);
      for (const [bare, nick] of room.registeredMembers()) {
        const aff = room.affiliation(bare);
        if (AFFILIATION_RANK[aff] < AFFILIATION_RANK.member || room.occupants.has(nick)) continue;
        room.deliver(jid.full, absentPresence(room, bare, nick, aff, withJid));
      }
    },
    PRIORITY.joined.offlineMembers,
  );

  muc.hooks.on('room:affiliation-changed', ({ room, bare, after, present }) => {
    const nick = room.registeredNick(bare);
    if (present || !shows(room) || nick === undefined || AFFILIATION_RANK[after] < AFFILIATION_RANK.member) return;
    room.broadcastByVisibility(absentPresence(room, bare, nick, after, true), absentPresence(room, bare, nick, after, false));
  });
}
