import { formField, xml, type Element } from '../xml/element.ts';
import { StanzaError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';
import type { Jid } from '../core/jid.ts';
import type { MucService } from './service.ts';
import type { Room } from './room.ts';

/** Answers disco#info for a `node` of a room (e.g. x-roomuser-item); registered by features. */
export type RoomNodeHandler = (room: Room, from: Jid) => Element | Promise<Element>;

/** The room's disco#info features, from its configuration and from installed features. */
export function roomFeatures(muc: MucService, room: Room): string[] {
  const c = room.config;
  const f = [
    NS.MUC,
    NS.DISCO_INFO,
    NS.MUC_STABLE_ID,
    NS.OCCUPANT_ID,
    c.persistent ? 'muc_persistent' : 'muc_temporary',
    c.public ? 'muc_public' : 'muc_hidden',
    c.password ? 'muc_passwordprotected' : 'muc_unsecured',
    c.membersOnly ? 'muc_membersonly' : 'muc_open',
    c.moderated ? 'muc_moderated' : 'muc_unmoderated',
    c.whois === 'anyone' ? 'muc_nonanonymous' : 'muc_semianonymous',
  ];
  for (const contribute of muc.roomFeatures) f.push(...contribute(room));
  return [...new Set(f)].sort();
}

/** XEP-0045 6.1-6.4: service and room discovery. */
export function installDisco(muc: MucService): void {
  const node = (kind: 'info' | 'items', name: string, from: Jid): Element => {
    for (const provider of muc.serviceNodes) {
      const answer = provider[kind](name, from);
      if (answer) return answer;
    }
    throw new StanzaError('item-not-found', 'no such node');
  };
  muc.serviceIq.on('get', 'query', NS.DISCO_INFO, ({ payload, from }) => {
    if (payload.attrs.node) return node('info', payload.attrs.node as string, from);
    const q = xml('query', { xmlns: NS.DISCO_INFO }, xml('identity', { category: 'conference', type: 'text', name: 'Chatrooms' }));
    for (const f of [...muc.serviceFeatures].sort()) q.c('feature', { var: f });
    return q;
  });
  muc.serviceIq.on('get', 'query', NS.DISCO_ITEMS, async ({ payload, from }) => {
    if (payload.attrs.node) return node('items', payload.attrs.node as string, from);
    const q = xml('query', { xmlns: NS.DISCO_ITEMS });
    for (const room of await muc.listedRooms()) {
      if (room.public && !room.locked) q.c('item', { jid: room.jid, name: room.name || room.jid.slice(0, room.jid.indexOf('@')) });
    }
    return q;
  });

  muc.roomIq.on('get', 'query', NS.DISCO_INFO, async ({ room, payload, from }) => {
    // A locked room does not exist yet for anyone but its owner (Converse then creates it).
    if (room.locked && room.affiliation(from.bare) !== 'owner') throw new StanzaError('item-not-found');
    const node = payload.attrs.node as string | undefined;
    if (node) {
      const handler = muc.roomNodes.get(node);
      if (!handler) throw new StanzaError('item-not-found');
      return handler(room, from);
    }
    const c = room.config;
    const q = xml('query', { xmlns: NS.DISCO_INFO }, xml('identity', { category: 'conference', type: 'text', name: c.name || room.jid.local }));
    for (const f of roomFeatures(muc, room)) q.c('feature', { var: f });
    const form = xml('x', { xmlns: NS.DATA, type: 'result' }, formField('FORM_TYPE', NS.MUC_ROOMINFO, { type: 'hidden' }));
    form.cnode(formField('muc#roominfo_description', c.description, { label: 'Description' }));
    form.cnode(formField('muc#roominfo_subject', room.record.subject?.text ?? '', { label: 'Subject' }));
    form.cnode(formField('muc#roominfo_subjectmod', c.changeSubject, { type: 'boolean', label: 'Occupants may change the subject' }));
    form.cnode(formField('muc#roominfo_occupants', room.occupants.size, { label: 'Number of occupants' }));
    form.cnode(formField('muc#roomconfig_roomname', c.name, { label: 'Name' }));
    if (c.language) form.cnode(formField('muc#roominfo_lang', c.language, { label: 'Language' }));
    q.cnode(form);
    return q;
  });
  muc.roomIq.on('get', 'query', NS.DISCO_ITEMS, ({ room, from }) => {
    if (room.locked && room.affiliation(from.bare) !== 'owner') throw new StanzaError('item-not-found');
    return xml('query', { xmlns: NS.DISCO_ITEMS });
  });
}
