import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseJid } from '../core/jid.ts';
import { Element } from '../xml/element.ts';
import { StanzaError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';
import type { Room } from './room.ts';
import type { MucService } from './service.ts';

const MAC_BYTES = 12;

/**
 * IQs between occupants (XEP-0045 6.6 and 7.x, as Prosody's handle_iq_to_occupant): a get or
 * set to room/nick goes from the sender's occupant JID to one session of that occupant (a vCard
 * request to its bare JID, answered by its server), with an id that brings the response back to
 * the sending session with its own id, from the occupant JID it asked. The id carries the
 * original id, the JID asked and the nick, sealed with the service secret and bound to the
 * sending session, so the real JID of the sender is not revealed and a forged response goes
 * nowhere. Nothing is kept per request: a response that never comes costs nothing.
 */
export function installOccupantIq(muc: MucService): void {
  const seal = (room: Room, sender: string, body: string) =>
    createHmac('sha256', muc.secret).update(`occupant-iq\0${room.jid.bare}\0${sender}\0${body}`).digest().subarray(0, MAC_BYTES);

  muc.roomIq.relay = {
    request({ room, iq, payload, from }, nick: string): void {
      const sender = room.bySession.get(from.full);
      if (!sender) {
        // XEP-0045 6.6 says bad-request for disco; other requests get Prosody's not-acceptable.
        const disco = payload.attrs.xmlns === NS.DISCO_INFO || payload.attrs.xmlns === NS.DISCO_ITEMS;
        throw new StanzaError(disco ? 'bad-request' : 'not-acceptable', 'you are not an occupant of this room');
      }
      const target = room.occupants.get(nick);
      if (!target) throw new StanzaError('item-not-found', 'nobody in this room has that nickname');
      // The session whose presence the room shows (the most recent one).
      const session = [...target.sessions.keys()].at(-1)!;
      const to = payload.attrs.xmlns === NS.VCARD ? parseJid(session)!.bare : session;
      const body = Buffer.from(JSON.stringify([String(iq.attrs.id ?? ''), to, nick])).toString('base64url');
      const out = new Element('iq', { ...iq.attrs, from: room.occupantJid(sender.nick), to, id: `${body}.${seal(room, from.full, body).toString('base64url')}` });
      out.children = iq.children;
      muc.ctx.router.route(out);
    },

    response(room, iq, from, nick): void {
      const [body, mac] = String(iq.attrs.id ?? '').split('.');
      if (!body || !mac) return;
      let fields: unknown;
      try {
        fields = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
      } catch {
        return;
      }
      if (!Array.isArray(fields) || fields.length !== 3 || !fields.every((f) => typeof f === 'string')) return;
      const [id, askedJid, askedNick] = fields as [string, string, string];
      // Only the JID the request went to may answer it.
      if (from.full !== askedJid) return;
      const given = Buffer.from(mac, 'base64url');
      const requester = room.occupants.get(nick);
      if (!requester || given.length !== MAC_BYTES) return;
      for (const session of requester.sessions.keys()) {
        if (!timingSafeEqual(given, seal(room, session, body))) continue;
        const out = new Element('iq', { ...iq.attrs, from: room.occupantJid(askedNick), to: session });
        if (id) out.attrs.id = id;
        else delete out.attrs.id;
        out.children = iq.children;
        muc.ctx.router.route(out);
        return;
      }
    },
  };
}
