import { StanzaError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';
import type { MucService } from './service.ts';
import { PRIORITY } from './priorities.ts';

/**
 * Password-protected rooms (XEP-0045 7.2.6): every entering user, owners included, gives the
 * password in <x xmlns='http://jabber.org/protocol/muc'><password/></x>; a missing or wrong
 * one is not-authorized (type auth). Joins from further resources of a present occupant are
 * checked too; presence updates and nick changes are not joins.
 */
export function installPassword(muc: MucService): void {
  muc.hooks.on(
    'room:pre-join',
    ({ room, stanza }) => {
      const secret = room.config.password;
      if (!secret) return;
      const given = stanza.getChild('x', NS.MUC)?.getChildText('password');
      if (given !== secret) throw new StanzaError('not-authorized', given == null ? 'a password is required to enter this room' : 'wrong password', 'auth');
    },
    PRIORITY.preJoin.password,
  );
}
