import { StanzaError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';
import { nickOf } from './room.ts';
import { RELAY } from './room-iq.ts';
import type { MucService } from './service.ts';

/**
 * XEP-0410 MUC self-ping, answered by the room on the occupant's behalf (section 3.3), as
 * Prosody does: a session that is joined under the pinged nick gets a result at once; a session
 * that is not joined gets not-acceptable (the client then rejoins); an occupant pinging a nick
 * nobody has gets item-not-found (its nick changed). A ping to another occupant's nick is passed
 * on to that occupant like any IQ between occupants (src/muc/occupant-iq.ts). A ping to the room
 * itself is answered with a result.
 */
export function installSelfPing(muc: MucService): void {
  muc.roomFeatures.push(() => [NS.MUC_SELF_PING]);

  muc.roomIq.onOccupant('get', 'ping', NS.PING, ({ room, iq, from }) => {
    const sender = room.bySession.get(from.full);
    if (!sender) throw new StanzaError('not-acceptable', 'you are not joined to this room');
    const target = room.occupants.get(nickOf(iq.attrs.to as string));
    if (!target) throw new StanzaError('item-not-found', 'nobody in this room has that nickname');
    // Someone else's nick: an ordinary ping of that occupant, passed on to it.
    if (target !== sender) return RELAY;
    return undefined;
  });

  muc.roomIq.on('get', 'ping', NS.PING, ({ room, from }) => {
    // A locked room does not exist yet for anyone but its owner.
    if (room.locked && room.affiliation(from.bare) !== 'owner') throw new StanzaError('item-not-found');
    return undefined;
  });
}
