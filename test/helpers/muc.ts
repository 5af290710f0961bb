import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { startWithUsers, type TestClient, type TestServer } from './server.ts';
import { DATA, field, SID } from './stanza.ts';

export const MUC = 'http://jabber.org/protocol/muc';
export const MUC_USER = 'http://jabber.org/protocol/muc#user';
export const MUC_OWNER = 'http://jabber.org/protocol/muc#owner';
export const MUC_ADMIN = 'http://jabber.org/protocol/muc#admin';
export const MUC_REGISTER = 'http://jabber.org/protocol/muc#register';
export const ROOMCONFIG = 'http://jabber.org/protocol/muc#roomconfig';
/** The test server's MUC service. */
export const MUC_DOMAIN = 'conference.localhost';
export const MAM = 'urn:xmpp:mam:2';

export function statusCodes(el: Element): number[] {
  return (el.getChild('x', MUC_USER)?.getChildren('status') ?? []).map((s) => Number(s.attrs.status ?? s.attrs.code));
}

/** Joins `room/nick` and resolves with the self-presence (status 110). */
export async function join(c: TestClient, roomNick: string, extra: Element[] = []): Promise<Element> {
  const self = c.next((el) => el.is('presence') && el.attrs.from === roomNick && statusCodes(el).includes(110));
  await c.send(xml('presence', { to: roomNick }, xml('x', { xmlns: MUC }, ...extra)));
  return self;
}

/** Leaves `room/nick` and waits for the self unavailable presence. */
export async function leave(c: TestClient, roomNick: string): Promise<void> {
  const gone = c.next((el) => el.is('presence') && el.attrs.from === roomNick && el.attrs.type === 'unavailable');
  await c.send(xml('presence', { to: roomNick, type: 'unavailable' }));
  await gone;
}

/** Submits a muc#owner form (a room configuration, or the empty form of an instant room). */
function submitOwnerForm(c: TestClient, room: string, form: Element): Promise<Element> {
  return c.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: MUC_OWNER }, form)));
}

const emptyForm = () => xml('x', { xmlns: DATA, type: 'submit' });

/** Submits the room configuration form with the given muc#roomconfig fields. */
export function configure(c: TestClient, room: string, fields: Record<string, string | string[]>): Promise<Element> {
  const form = xml('x', { xmlns: DATA, type: 'submit' }, field('FORM_TYPE', ROOMCONFIG), ...Object.entries(fields).map(([k, v]) => field(k, ...(Array.isArray(v) ? v : [v]))));
  return submitOwnerForm(c, room, form);
}

/** Joins, creating the room if needed and unlocking it as an instant room. */
export async function joinInstant(c: TestClient, roomNick: string): Promise<Element> {
  const self = await join(c, roomNick);
  if (statusCodes(self).includes(201)) await submitOwnerForm(c, roomNick.split('/')[0]!, emptyForm());
  return self;
}

/**
 * Creates a room that must be new (status 201) as `nick` and unlocks it with the given
 * muc#roomconfig fields (with none, as an instant room).
 */
export async function createNewRoom(owner: TestClient, room: string, nick: string, fields: Record<string, string | string[]> = {}): Promise<void> {
  const self = await join(owner, `${room}/${nick}`);
  assert.ok(statusCodes(self).includes(201), 'the room is new');
  if (Object.keys(fields).length > 0) await configure(owner, room, fields);
  else await submitOwnerForm(owner, room, emptyForm());
}

/**
 * Registers a nick in a room (XEP-0045 7.10): the user becomes a member with that nick. With
 * `nick` null the form has no nick field; `formType` may be wrong on purpose.
 */
export function registerNick(c: TestClient, room: string, nick: string | null, formType = MUC_REGISTER): Promise<Element> {
  const form = xml('x', { xmlns: DATA, type: 'submit' }, field('FORM_TYPE', formType));
  if (nick !== null) form.append(field('muc#register_roomnick', nick));
  return c.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: 'jabber:iq:register' }, form)));
}

/** Joins `room/nick` and registers the nick: a member of the room, whom MUC push serves once absent. */
export async function joinAsMember(c: TestClient, room: string, nick: string): Promise<void> {
  await join(c, `${room}/${nick}`);
  await registerNick(c, room, nick);
}

export function groupchat(room: string, body: string, extra: Element[] = []): Element {
  return xml('message', { to: room, type: 'groupchat' }, xml('body', {}, body), ...extra);
}

/** Sends a groupchat message and resolves with the stanza-id of its echo. */
export async function say(c: TestClient, room: string, body: string): Promise<string> {
  const echo = c.next((el) => el.is('message') && el.attrs.type === 'groupchat' && el.getChildText('body') === body);
  await c.send(groupchat(room, body));
  return (await echo).getChild('stanza-id', SID)!.attrs.id as string;
}

/**
 * A server with alice, bob and carol where alice created `room` (an instant room, semi-anonymous:
 * she is its owner and a moderator) as Alice and bob joined it as Bob, a participant.
 */
export async function aliceAndBobIn(room: string): Promise<{ t: TestServer; alice: TestClient; bob: TestClient }> {
  const t = await startWithUsers(['alice', 'bob', 'carol']);
  const alice = await t.login('alice');
  const bob = await t.login('bob');
  await joinInstant(alice, `${room}/Alice`);
  await join(bob, `${room}/Bob`);
  return { t, alice, bob };
}
