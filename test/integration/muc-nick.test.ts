import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import { startWithUsers, xml, type TestClient, type TestServer } from '../helpers/server.ts';
import { createNewRoom, join, leave, MUC, MUC_DOMAIN, registerNick, statusCodes } from '../helpers/muc.ts';
import { errorOf } from '../helpers/stanza.ts';

// Issue 12 item 15 and issue 10 item 7: room nicks follow the PRECIS Nickname profile
// (RFC 8266), are compared case-insensitively, and room names are
// JID localparts (RFC 7622).

let t: TestServer;
before(async () => {
  t = await startWithUsers(['alice', 'bob', 'carol', 'dave']);
});
after(() => t.stop());

/** Sends a join presence that must fail; resolves with the error's type and condition. */
async function joinError(c: TestClient, roomNick: string): Promise<{ type?: string; condition?: string; el: Element }> {
  const p = c.next((el) => el.is('presence') && el.attrs.type === 'error');
  await c.send(xml('presence', { to: roomNick }, xml('x', { xmlns: MUC })));
  const el = await p;
  return { ...errorOf(el), el };
}

test('nicks with bidi overrides, invisible or control characters, variation selectors, only spaces, or over 1023 octets are jid-malformed (modify)', async () => {
  const a = await t.login('alice');
  const b = await t.login('bob');
  const room = `nickrules@${MUC_DOMAIN}`;
  await createNewRoom(a, room, 'Alice');
  const bad = ['Bob\u202e', 'B\u200fob', 'Bo\u200bb', 'Bob\u0085', 'Bob\u009f', '   ', '\u3000', '👍\ufe0f', 'Bob\u00ad', 'é'.repeat(1000), 'x'.repeat(1024)];
  for (const nick of bad) {
    const e = await joinError(b, `${room}/${nick}`);
    assert.deepEqual([e.type, e.condition], ['modify', 'jid-malformed'], JSON.stringify(nick.slice(0, 20)));
  }
  // None of them got in.
  assert.equal(t.server.muc!.rooms.get(room)!.occupants.size, 1);
  // A nick of 511 two-octet characters (1022 octets) is fine, and an emoji alone is too.
  await join(b, `${room}/${'é'.repeat(511)}`);
  await leave(b, `${room}/${'é'.repeat(511)}`);
  await join(b, `${room}/👍`);
  // A nick change is held to the same rules, and leaves the occupant as it was.
  for (const nick of ['   ', 'Bo\u200bb']) {
    const e = await joinError(b, `${room}/${nick}`);
    assert.deepEqual([e.type, e.condition], ['modify', 'jid-malformed'], JSON.stringify(nick));
  }
  assert.deepEqual([...t.server.muc!.rooms.get(room)!.occupants.keys()], ['Alice', '👍']);
  await a.stop();
  await b.stop();
});

test('Ａlice and ALICE are the nick Alice: a second user gets conflict; the nick is width-mapped with status 210', async () => {
  const a = await t.login('alice');
  const b = await t.login('bob');
  const c = await t.login('carol');
  const room = `nickcase@${MUC_DOMAIN}`;
  await createNewRoom(a, room, 'Alice');
  for (const nick of ['Ａlice', 'alice', 'ALICE', ' Alice ']) {
    const e = await joinError(b, `${room}/${nick}`);
    assert.deepEqual([e.type, e.condition], ['cancel', 'conflict'], nick);
  }
  // Carol asks for a fullwidth nick: she is in the room as its NFKC form, told so by 210.
  const self = c.next((el) => el.is('presence') && statusCodes(el).includes(110));
  await c.send(xml('presence', { to: `${room}/Ｃａｒｏｌ` }, xml('x', { xmlns: MUC })));
  const p = await self;
  assert.equal(p.attrs.from, `${room}/Carol`);
  assert.ok(statusCodes(p).includes(210), `status codes ${statusCodes(p)}`);
  // A private message to any form of the nick reaches the occupant.
  const pm = c.next((el) => el.is('message') && el.getChildText('body') === 'hi carol');
  await b.send(xml('message', { to: `${room}/CAROL`, type: 'chat' }, xml('body', {}, 'hi carol')));
  await join(b, `${room}/Bob`);
  await b.send(xml('message', { to: `${room}/ｃarol`, type: 'chat' }, xml('body', {}, 'hi carol')));
  assert.equal((await pm).attrs.from, `${room}/Bob`);
  // Alice may change her own nick's case: it is no conflict with herself.
  const renamed = a.next((el) => el.is('presence') && el.attrs.from === `${room}/ALICE` && statusCodes(el).includes(110));
  await a.send(xml('presence', { to: `${room}/ALICE` }));
  await renamed;
  await a.stop();
  await b.stop();
  await c.stop();
});

test('a registered nick is reserved in every case; nick registration applies the same rules', async () => {
  const a = await t.login('alice');
  const d = await t.login('dave');
  const room = `nickreg@${MUC_DOMAIN}`;
  await createNewRoom(a, room, 'Alice', { 'muc#roomconfig_allowregister': '1' } as Record<string, string>);
  for (const nick of ['   ', 'Da\u200bve', 'Dave\ufe0f']) {
    const refused = await registerNick(d, room, nick).then(
      () => undefined,
      (err: { condition?: string }) => err.condition,
    );
    assert.equal(refused, 'not-acceptable', JSON.stringify(nick));
  }
  await registerNick(a, room, 'Owner');
  for (const nick of ['owner', 'ＯＷＮＥＲ']) {
    const e = await joinError(d, `${room}/${nick}`);
    assert.equal(e.condition, 'conflict', nick);
  }
  const taken = await registerNick(d, room, 'OWNER').then(
    () => undefined,
    (err: { condition?: string }) => err.condition,
  );
  assert.equal(taken, 'conflict');
  await a.stop();
  await d.stop();
});

test('room names are JID localparts: ignorable characters are jid-malformed, width and case map to one room', async () => {
  const a = await t.login('alice');
  const b = await t.login('bob');
  for (const name of ['bad\u202eroom', 'bad\u200broom', 'bad\u00adroom']) {
    const e = await joinError(a, `${name}@${MUC_DOMAIN}/Alice`);
    assert.equal(e.condition, 'jid-malformed', JSON.stringify(name));
  }
  assert.equal([...t.server.muc!.rooms.keys()].some((k) => k.startsWith('bad')), false, 'no room was created');
  await createNewRoom(a, `samename@${MUC_DOMAIN}`, 'Alice');
  const selfP = b.next((el) => el.is('presence') && el.attrs.from === `samename@${MUC_DOMAIN}/Bob` && statusCodes(el).includes(110));
  await b.send(xml('presence', { to: `ＳａｍｅＮａｍｅ@${MUC_DOMAIN}/Bob` }, xml('x', { xmlns: MUC })));
  const self = await selfP;
  assert.equal(statusCodes(self).includes(201), false, 'the existing room, not a new one');
  assert.equal(t.server.muc!.rooms.get(`samename@${MUC_DOMAIN}`)!.occupants.size, 2);
  await a.stop();
  await b.stop();
});

test('a persistent room stored under a name the JID rules now refuse is left unloaded; the server starts and serves the others', async () => {
  const a = await t.login('alice');
  const room = `keeper@${MUC_DOMAIN}`;
  await createNewRoom(a, room, 'Alice', { 'muc#roomconfig_persistentroom': '1' });
  await a.stop();
  // Written as an older version, whose rules let U+200B into a localpart, would have stored it.
  const { RoomStore } = await import('../../src/store/rooms.ts');
  const record = structuredClone(t.server.muc!.rooms.get(room)!.record);
  await new RoomStore(t.server.ctx.store).save({ ...record, jid: `old\u200broom@${MUC_DOMAIN}` });
  await t.restart();
  const b = await t.login('bob');
  await join(b, `${room}/Bob`);
  assert.ok(t.server.muc!.rooms.get(room), 'the valid persistent room is loaded');
  assert.equal(t.server.muc!.rooms.size, [...t.server.muc!.rooms.keys()].filter((k) => !k.includes('\u200b')).length);
  // The service's room list skips it too.
  const items = await b.iq(xml('iq', { type: 'get', to: MUC_DOMAIN }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' })));
  assert.ok(!items.toString().includes('\u200b'), items.toString());
  await b.stop();
});
