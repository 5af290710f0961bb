import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import type { TestClient } from './server.ts';

export const MUC = 'http://jabber.org/protocol/muc';
export const MUC_USER = 'http://jabber.org/protocol/muc#user';

export function statusCodes(el: Element): number[] {
  return (el.getChild('x', MUC_USER)?.getChildren('status') ?? []).map((s) => Number(s.attrs.status ?? s.attrs.code));
}

/** Joins `room/nick` and resolves with the self-presence (status 110). */
export async function join(c: TestClient, roomNick: string, extra: Element[] = []): Promise<Element> {
  const self = c.next((el) => el.is('presence') && el.attrs.from === roomNick && statusCodes(el).includes(110));
  await c.send(xml('presence', { to: roomNick }, xml('x', { xmlns: MUC }, ...extra)));
  return self;
}

/** Joins, creating the room if needed and unlocking it as an instant room. */
export async function joinInstant(c: TestClient, roomNick: string): Promise<Element> {
  const self = await join(c, roomNick);
  if (statusCodes(self).includes(201)) {
    const room = roomNick.split('/')[0]!;
    await c.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: 'http://jabber.org/protocol/muc#owner' }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' }))));
  }
  return self;
}
