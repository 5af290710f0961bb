import { xml } from '../xml/element.ts';
import { NS } from '../xml/ns.ts';
import type { MucService } from './service.ts';
import { Prepared } from './stanzas.ts';

/**
 * XEP-0045 9.3-9.8: when the affiliation of a user who is not in the room changes, the room
 * tells its occupants in a message from the room itself (clients such as Converse keep their
 * member lists from these), with the user's JID shown to those who may see real JIDs; and the
 * user hears of it at the bare JID, with status 101 ("affiliation changed while not in the room").
 * A user who is present learns it from the presence the core broadcasts instead.
 */
export function installAffiliationNotice(muc: MucService): void {
  muc.hooks.on('room:affiliation-changed', ({ room, bare, after, present }) => {
    // A bare domain is a domain ban, not a user.
    if (present || !bare.includes('@')) return;
    const notice = (withJid: boolean, codes: number[] = []) => {
      const x = xml('x', { xmlns: NS.MUC_USER }, xml('item', { affiliation: after, ...(withJid ? { jid: bare } : {}) }));
      for (const code of codes) x.c('status', { code: String(code) });
      return xml('message', { from: room.jid.bare }, x);
    };
    room.broadcastByVisibility(new Prepared(notice(true)), new Prepared(notice(false)));
    const toUser = notice(true, [101]);
    toUser.attrs.to = bare;
    muc.ctx.router.route(toUser);
  });
}
