import { StanzaError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';
import { nickOf } from './room.ts';
import type { MucService } from './service.ts';

/**
 * XEP-0410 MUC self-ping, answered by the room on the occupant's behalf (section 3.3), as
 * Prosody does: a session that is joined under the pinged nick gets a result at once; a session
 * that is not joined gets not-acceptable (the client then rejoins); an occupant pinging a nick
 * nobody has gets item-not-found (its nick changed). IQs to other occupants are not relayed, so
 * an occupant pinging someone else's nick gets not-acceptable too: a client only pings the nick
 * it believes is its own, and if that nick belongs to another occupant the client is out of sync
 * and should rejoin. A ping to the room itself is answered with a result.
 */
export function installSelfPing(muc: MucService): void {
  muc.roomFeatures.push(() => [NS.MUC_SELF_PING]);

  muc.roomIq.on('occupant-get', 'ping', NS.PING, ({ room, iq, from }) => {
    const sender = room.bySession.get(from.full);
    if (!sender) throw new StanzaError('not-acceptable', 'you are not joined to this room');
    const target = room.occupants.get(nickOf(iq.attrs.to as string));
    if (!target) throw new StanzaError('item-not-found', 'nobody in this room has that nickname');
    if (target !== sender) throw new StanzaError('not-acceptable', 'you are not joined to this room under that nickname');
    return undefined;
  });

  muc.roomIq.on('get', 'ping', NS.PING, ({ room, from }) => {
    // A locked room does not exist yet for anyone but its owner.
    if (room.locked && room.affiliation(from.bare) !== 'owner') throw new StanzaError('item-not-found');
    return undefined;
  });
}
