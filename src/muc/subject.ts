import { xml } from '../xml/element.ts';
import { StanzaError } from '../xml/errors.ts';
import type { MucService } from './service.ts';
import { Prepared } from './stanzas.ts';
import { PRIORITY } from './priorities.ts';

/** The room subject: sent after history on join, changed by a message with only <subject/>. */
export function installSubject(muc: MucService): void {
  muc.hooks.on(
    'room:joined',
    ({ room, jid }) => {
      const s = room.record.subject;
      const el = xml('message', { from: s ? room.occupantJid(s.nick) : room.jid.bare, type: 'groupchat', id: `subject-${room.jid.local}` }, xml('subject', {}, s?.text ?? ''));
      room.deliver(jid.full, new Prepared(el));
    },
    PRIORITY.joined.subject,
  );

  muc.hooks.on(
    'room:pre-message',
    async ({ room, occupant, stanza }) => {
      const subject = stanza.getChild('subject');
      if (!subject || stanza.getChild('body')) return;
      if (!room.config.changeSubject && occupant.role !== 'moderator') throw new StanzaError('forbidden', 'you may not change the subject');
      if (occupant.role === 'visitor') throw new StanzaError('forbidden', 'visitors may not change the subject');
      room.record.subject = { text: subject.text(), nick: occupant.nick };
      await room.save();
      room.broadcastMessage(xml('message', { from: room.occupantJid(occupant.nick), type: 'groupchat', ...(stanza.attrs.id ? { id: stanza.attrs.id as string } : {}) }, xml('subject', {}, subject.text())));
      return true;
    },
    PRIORITY.preMessage.subject,
  );
}
