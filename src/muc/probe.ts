import { xml } from '../xml/element.ts';
import { StanzaError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';
import type { MucService } from './service.ts';
import { Prepared } from './stanzas.ts';

/**
 * XEP-0045 17.3: presence probes to the room JID or to an occupant JID. An occupant probing an
 * occupant JID gets that occupant's current presence as the room shows it to the prober (its
 * muc#user item with the real JID only where the prober may see it, 110 when it is its own);
 * probing the room JID gets the prober's own presence, which tells a client (or its server,
 * after an interruption) whether it is still in the room. A nick nobody has is answered with
 * unavailable. Only occupants may probe (not-acceptable, as for other stanzas that need one);
 * a probe never changes who is in the room.
 */
export function installProbe(muc: MucService): void {
  muc.hooks.on('room:probe', ({ room, from, nick }) => {
    const prober = room.bySession.get(from.full);
    if (!prober) throw new StanzaError('not-acceptable', 'only occupants may probe the presence of this room');
    const subject = nick ? room.occupants.get(nick) : prober;
    if (!subject) {
      const gone = xml('presence', { from: room.occupantJid(nick), type: 'unavailable' }, xml('x', { xmlns: NS.MUC_USER }));
      room.deliver(from.full, new Prepared(gone));
      return true;
    }
    const self = subject === prober;
    const withJid = self ? from.full : room.seesRealJids(prober) ? [...subject.sessions.keys()][0] : undefined;
    room.deliver(from.full, new Prepared(room.presenceOf(subject, { withJid, codes: self ? [110] : [] })));
    return true;
  });
}
