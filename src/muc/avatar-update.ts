import { setPhotoHash } from '../host/avatar-hash.ts';
import { Element } from '../xml/element.ts';
import { NS } from '../xml/ns.ts';
import type { MucService } from './service.ts';

/**
 * A user's avatar changed (src/host/avatar-hash.ts): each of its sessions in a room sends the
 * presence it last sent there again, with the new hash, as its client would have, so the
 * room's usual presence update reaches the other occupants. Only rooms the session is in now,
 * under its current nick.
 */
export function installAvatarUpdate(muc: MucService): void {
  muc.ctx.hooks.on('account:avatar-changed', ({ user, hash }) => {
    for (const session of muc.ctx.sessions.of(user.bare)) {
      const full = session.jid.full;
      for (const room of muc.roomsOf(full)) {
        const occupant = room.bySession.get(full);
        const last = occupant?.sessions.get(full);
        if (!occupant || !last) continue;
        const fresh = new Element('presence', { from: full, to: room.occupantJid(occupant.nick) });
        // Without the join's own payload (<x xmlns='muc'/> with its password and history request).
        fresh.children = last.children.filter((c) => typeof c === 'string' || c.attrs.xmlns !== NS.MUC);
        setPhotoHash(fresh, hash);
        muc.ctx.router.route(fresh);
      }
    }
  });
}
