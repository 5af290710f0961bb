import { randomUUID } from 'node:crypto';
import { parseJid, type Jid } from '../core/jid.ts';
import { formField, formValues, parseBool, xml } from '../xml/element.ts';
import { StanzaError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';
import { checkRoleChange } from './admin.ts';
import type { Occupant } from './occupant.ts';
import type { Room } from './room.ts';
import type { MucService } from './service.ts';
import { Prepared } from './stanzas.ts';
import { PRIORITY } from './priorities.ts';

/**
 * Voice (XEP-0045 7.4, 7.13, 8.6): a visitor may not send messages to all occupants (forbidden);
 * it asks for voice with a muc#request form sent to the room, the room forwards an approval form
 * to the moderators, and a moderator who submits it with muc#request_allow true grants voice.
 * Visitors exist by default only in moderated rooms (Room.defaultRole), but a moderator may
 * revoke voice in any room, and the refusal follows the role.
 */
export function installModerated(muc: MucService): void {
  // Before every other groupchat handler (the subject change runs at 50).
  muc.hooks.on(
    'room:pre-message',
    ({ occupant }) => {
      if (occupant.role === 'visitor') throw new StanzaError('forbidden', 'visitors may not send messages to all occupants; request voice first');
    },
    PRIORITY.preMessage.voice,
  );

  muc.hooks.on('room:direct-message', ({ room, occupant, from, stanza }) => {
    const form = stanza.getChild('x', NS.DATA);
    if (!form) return undefined;
    const values = formValues(form);
    if (values.get('FORM_TYPE')?.[0] !== NS.MUC_REQUEST) return undefined;
    const type = form.attrs.type as string | undefined;
    if (type === 'cancel') return true; // a moderator skipping a request
    if (type !== 'submit') throw new StanzaError('bad-request', 'submit the muc#request form');
    // XEP-0045 17.3: a message to the room from a user with no role is refused with forbidden.
    if (!occupant) throw new StanzaError('forbidden', 'join the room first');
    if (values.get('muc#role')?.[0] !== 'participant') throw new StanzaError('bad-request', 'only voice (muc#role participant) can be requested');
    if (values.has('muc#request_allow')) approve(room, occupant, from, values);
    else request(muc, room, occupant, from);
    return true;
  });

  muc.roomFeatures.push(() => [NS.MUC_REQUEST]);
}

/** 8.6: the approval form goes to every moderator session; occupants who have voice are ignored. */
function request(muc: MucService, room: Room, occupant: Occupant, from: Jid): void {
  if (occupant.role !== 'visitor') return;
  const form = xml(
    'x',
    { xmlns: NS.DATA, type: 'form' },
    xml('title', {}, 'Voice request'),
    xml('instructions', {}, 'To approve this request for voice, select the "Grant voice to this person?" checkbox and click OK. To skip this request, click the cancel button.'),
  );
  form.cnode(formField('FORM_TYPE', NS.MUC_REQUEST, { type: 'hidden' }));
  form.cnode(formField('muc#role', 'participant', { type: 'list-single', label: 'Requested role', options: [{ label: 'Participant', value: 'participant' }] }));
  form.cnode(formField('muc#jid', from.full, { type: 'jid-single', label: 'User ID' }));
  form.cnode(formField('muc#roomnick', occupant.nick, { type: 'text-single', label: 'Room Nickname' }));
  form.cnode(formField('muc#request_allow', false, { type: 'boolean', label: 'Grant voice to this person?' }));
  const p = new Prepared(xml('message', { from: room.jid.bare, id: randomUUID() }, form));
  for (const moderator of room.occupants.values()) {
    if (moderator.role !== 'moderator') continue;
    for (const full of moderator.sessions.keys()) room.deliver(full, p);
  }
}

/** 8.6: a moderator's submitted approval form grants voice (8.3) when muc#request_allow is true. */
function approve(room: Room, moderator: Occupant, from: Jid, values: Map<string, string[]>): void {
  if (moderator.role !== 'moderator') throw new StanzaError('forbidden', 'only moderators may approve voice requests');
  const allow = parseBool(values.get('muc#request_allow')?.[0]);
  if (allow === undefined) throw new StanzaError('bad-request', 'muc#request_allow must be a boolean');
  if (!allow) return;
  // The JID names the session exactly; the nick is the fallback (the nick may have changed since).
  const jid = parseJid(values.get('muc#jid')?.[0]);
  const nick = values.get('muc#roomnick')?.[0];
  const target = (jid && room.bySession.get(jid.full)) || (nick !== undefined ? room.occupants.get(nick) : undefined);
  if (!target) throw new StanzaError('item-not-found', 'the occupant who asked for voice is no longer in the room');
  if (target.role !== 'visitor') return; // voice was given already
  checkRoleChange(room, from, moderator, target, 'participant');
  room.setRole(target, 'participant', moderator);
}
