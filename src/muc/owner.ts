import { parseJid } from '../core/jid.ts';
import { xml } from '../xml/element.ts';
import { StanzaError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';
import { applyConfigForm, configChangeCodes, configForm } from './config.ts';
import type { MucService } from './service.ts';
import type { Room } from './room.ts';
import type { Jid } from '../core/jid.ts';

function requireOwner(room: Room, from: Jid): void {
  if (room.affiliation(from.bare) !== 'owner') throw new StanzaError('forbidden', 'only owners may do this');
}

/**
 * muc#owner: the configuration form (which also unlocks a new room: instant or reserved),
 * and room destruction with reason and alternate venue (XEP-0045 10.1, 10.2, 10.9).
 */
export function installOwner(muc: MucService): void {
  const maxHistory = muc.ctx.config.muc.maxHistoryLength;
  muc.roomIq.on('get', 'query', NS.MUC_OWNER, ({ room, from }) => {
    requireOwner(room, from);
    return xml('query', { xmlns: NS.MUC_OWNER }, configForm(room.config, maxHistory));
  });

  muc.roomIq.on('set', 'query', NS.MUC_OWNER, async ({ room, from, payload }) => {
    requireOwner(room, from);
    const destroy = payload.getChild('destroy');
    if (destroy) return destroyRoom(muc, room, destroy.getChildText('reason') ?? undefined, destroy.attrs.jid as string | undefined, destroy.getChildText('password') ?? undefined);
    const form = payload.getChild('x', NS.DATA);
    if (!form) throw new StanzaError('bad-request', 'a data form or <destroy/> is expected');
    const type = form.attrs.type as string | undefined;
    if (type === 'cancel') {
      // Cancelling the initial configuration of a new room destroys it (XEP-0045 10.1.3).
      if (room.locked) await destroyRoom(muc, room);
      return undefined;
    }
    if (type !== 'submit') throw new StanzaError('bad-request', 'the form type must be submit or cancel');
    const before = room.config;
    const after = applyConfigForm(form, before, maxHistory);
    const wasPersistent = before.persistent;
    room.record.config = after;
    room.record.locked = false;
    if (wasPersistent && !after.persistent) await muc.removeRecord(room);
    await room.save();
    const codes = configChangeCodes(before, after);
    if (!(codes.length === 1 && form.getChildren('field').length === 0)) {
      room.broadcastFromRoom([xml('x', { xmlns: NS.MUC_USER }, ...codes.map((c) => xml('status', { code: String(c) })))]);
    }
    muc.hooks.emit('room:changed', { room });
    return undefined;
  });
}

/** Destroys a room: every occupant gets unavailable with <destroy/>, the record is deleted. */
export async function destroyRoom(muc: MucService, room: Room, reason?: string, venue?: string, password?: string): Promise<void> {
  if (venue !== undefined && !parseJid(venue)) throw new StanzaError('jid-malformed', 'the alternate venue is not a JID');
  for (const occupant of [...room.occupants.values()]) {
    const destroy = xml('destroy', venue ? { jid: venue } : {});
    if (reason) destroy.c('reason').t(reason);
    if (password) destroy.c('password').t(password);
    for (const full of occupant.sessions.keys()) {
      const p = xml(
        'presence',
        { from: room.occupantJid(occupant.nick), to: full, type: 'unavailable' },
        xml('x', { xmlns: NS.MUC_USER }, xml('item', { affiliation: room.affiliation(occupant.bare), role: 'none' }), destroy),
      );
      muc.ctx.router.route(p);
    }
    for (const full of occupant.sessions.keys()) {
      room.bySession.delete(full);
      muc.trackSession(room, full, false);
    }
    room.occupants.delete(occupant.nick);
    muc.hooks.emit('room:occupant-left', { room, occupant, reason: 'destroy' });
  }
  await muc.removeRoom(room);
}
