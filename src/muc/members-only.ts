import { StanzaError } from '../xml/errors.ts';
import type { MucService } from './service.ts';
import type { Room } from './room.ts';
import { PRIORITY } from './priorities.ts';

/**
 * Members-only rooms (XEP-0045 7.2.5, 10.2): unaffiliated users are refused with
 * registration-required (type auth); when a room becomes members-only, the non-members present
 * are removed with status 322.
 */
export function installMembersOnly(muc: MucService): void {
  // Runs before max-users (20) and password (10), as in Prosody.
  muc.hooks.on(
    'room:pre-join',
    ({ room, jid }) => {
      if (!room.config.membersOnly) return;
      if (room.affiliation(jid.bare) === 'none') throw new StanzaError('registration-required', 'this room is members-only', 'auth');
    },
    PRIORITY.preJoin.membersOnly,
  );

  // `room:changed` follows every configuration or affiliation change: nobody unaffiliated may
  // stay in a members-only room (affiliation removals already went out with 321 from the core).
  muc.hooks.on('room:changed', ({ room }) => removeNonMembers(room));
}

export function removeNonMembers(room: Room): void {
  if (!room.config.membersOnly) return;
  for (const occupant of [...room.occupants.values()]) {
    if (room.affiliation(occupant.bare) !== 'none') continue;
    room.removeOccupant(occupant, { reason: 'affiliation', codes: [322], text: 'the room is now members-only' });
  }
}
