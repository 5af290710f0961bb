import type { Jid } from '../core/jid.ts';
import { enforceNick } from './nick.ts';
import { formField, formValues, xml, type Element } from '../xml/element.ts';
import { StanzaError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';
import type { MucService } from './service.ts';
import type { Room } from './room.ts';

const NICK_FIELD = 'muc#register_roomnick';
const ROOMUSER_NODE = 'x-roomuser-item';

/** The registration form (XEP-0045 7.10), with the user's current nick when there is one. */
function registrationForm(nick?: string): Element {
  const x = xml('x', { xmlns: NS.DATA, type: 'form' }, xml('title', {}, 'Nickname registration'));
  x.c('instructions').t('Reserve a nickname in this room; registering makes you a member.');
  x.cnode(formField('FORM_TYPE', NS.MUC_REGISTER, { type: 'hidden' }));
  const field = formField(NICK_FIELD, nick, { type: 'text-single', label: 'Nickname' });
  field.c('required');
  x.cnode(field);
  return x;
}

/**
 * Who may register: outcasts never (forbidden); affiliated users always; unaffiliated users only
 * in open rooms that allow registration (registration-required otherwise, as Prosody answers).
 */
function checkAllowed(room: Room, from: Jid): void {
  const aff = room.affiliation(from.bare);
  if (aff === 'outcast') throw new StanzaError('forbidden', 'you are banned from this room');
  if (aff !== 'none') return;
  if (room.config.membersOnly) throw new StanzaError('registration-required', 'only members may register in this room', 'auth');
  if (!room.config.allowRegister) throw new StanzaError('registration-required', 'this room does not take registrations', 'auth');
}

/** A locked room does not exist yet for anyone but its owner. */
function checkVisible(room: Room, from: Jid): void {
  if (room.locked && room.affiliation(from.bare) !== 'owner') throw new StanzaError('item-not-found');
}

/** A submitted nickname, enforced as a join enforces it (nick.ts). */
function validNick(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') throw new StanzaError('not-acceptable', 'a nickname is required');
  const nick = enforceNick(raw);
  if (nick === undefined) throw new StanzaError('not-acceptable', 'that nickname is not allowed (PRECIS Nickname profile, RFC 8266)');
  return nick;
}

/**
 * XEP-0045 7.10 nick registration on the room bare JID, the way Prosody's register.lib.lua does
 * it: a registered nick is reserved for its owner (the core refuses it to anyone else on join and
 * nick change) and registering makes an unaffiliated user a member. Also answers
 * `disco#info node='x-roomuser-item'` (XEP-0045 7.12) with the asker's registered nick.
 */
export function installRegister(muc: MucService): void {
  muc.roomFeatures.push((room) => (room.config.allowRegister ? [NS.REGISTER] : []));

  muc.roomNodes.set(ROOMUSER_NODE, (room, from) => {
    const q = xml('query', { xmlns: NS.DISCO_INFO, node: ROOMUSER_NODE });
    const nick = room.record.nicks[from.bare];
    if (nick) q.c('identity', { category: 'conference', type: 'text', name: nick });
    return q;
  });

  muc.roomIq.on('get', 'query', NS.REGISTER, ({ room, from }) => {
    checkVisible(room, from);
    const aff = room.affiliation(from.bare);
    if (aff === 'outcast') throw new StanzaError('forbidden', 'you are banned from this room');
    const nick = room.record.nicks[from.bare];
    const q = xml('query', { xmlns: NS.REGISTER });
    if (nick) {
      // Already registered: <registered/> with the nick, and the form filled in with it (clients
      // such as Converse look for the field and re-submit it).
      q.c('registered');
      q.c('username').t(nick);
      q.cnode(registrationForm(nick));
      return q;
    }
    checkAllowed(room, from);
    q.c('instructions').t('Choose a nickname to reserve in this room.');
    q.cnode(registrationForm());
    return q;
  });

  muc.roomIq.on('set', 'query', NS.REGISTER, async ({ room, from, payload }) => {
    checkVisible(room, from);
    const bare = from.bare;
    if (payload.getChild('remove')) return unregister(muc, room, bare);
    checkAllowed(room, from);
    const form = payload.getChild('x', NS.DATA);
    if (!form) throw new StanzaError('bad-request', 'a muc#register data form is expected');
    if (form.attrs.type === 'cancel') return undefined;
    if (form.attrs.type !== undefined && form.attrs.type !== 'submit') throw new StanzaError('bad-request', 'the form type must be submit');
    const values = formValues(form);
    if (values.get('FORM_TYPE')?.[0] !== NS.MUC_REGISTER) throw new StanzaError('bad-request', `FORM_TYPE must be ${NS.MUC_REGISTER}`);
    const nick = validNick(values.get(NICK_FIELD)?.[0]);

    const owner = room.nickOwner(nick);
    if (owner !== undefined && owner !== bare) throw new StanzaError('conflict', 'that nickname is registered by another user');
    const present = room.occupants.get(nick);
    if (present && present.bare !== bare) throw new StanzaError('conflict', 'that nickname is in use by another occupant');

    const aff = room.affiliation(bare);
    const unchanged = room.record.nicks[bare] === nick;
    room.setRegisteredNick(bare, nick);
    if (aff === 'none') {
      // Saves the record (nick included) and updates the presence of the user's occupant.
      await room.setAffiliation(bare, 'member', undefined, 'registered');
    } else if (!unchanged) {
      await room.save();
      muc.hooks.emit('room:changed', { room });
    }
    return undefined;
  });
}

/** `<remove/>`: drops the nick, and the membership it gave (admins and owners keep theirs). */
async function unregister(muc: MucService, room: Room, bare: string): Promise<void> {
  const aff = room.affiliation(bare);
  if (aff === 'outcast') throw new StanzaError('forbidden', 'you are banned from this room');
  if (aff === 'member') {
    // setAffiliation drops the registered nick with the membership.
    await room.setAffiliation(bare, 'none', undefined, 'unregistered');
    return;
  }
  if (room.record.nicks[bare] === undefined) return;
  room.setRegisteredNick(bare, undefined);
  await room.save();
  muc.hooks.emit('room:changed', { room });
}
