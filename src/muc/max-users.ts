import { StanzaError } from '../xml/errors.ts';
import type { MucService } from './service.ts';
import { PRIORITY } from './priorities.ts';

/**
 * Occupant limit (muc#roomconfig_maxusers, XEP-0045 7.2.10): a full room refuses newcomers
 * with service-unavailable (type wait). Admins and owners may still enter, and another
 * resource joining under a nick its user already holds does not add an occupant.
 */
export function installMaxUsers(muc: MucService): void {
  muc.hooks.on(
    'room:pre-join',
    ({ room, jid, nick }) => {
      const max = room.config.maxUsers;
      if (max <= 0 || room.occupants.size < max) return;
      if (room.occupants.get(nick)?.bare === jid.bare) return;
      const aff = room.affiliation(jid.bare);
      if (aff === 'owner' || aff === 'admin') return;
      throw new StanzaError('service-unavailable', 'this room is full', 'wait');
    },
    PRIORITY.preJoin.maxUsers,
  );
}
