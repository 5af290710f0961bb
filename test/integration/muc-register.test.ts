import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import { startWithUsers, xml, type TestClient, type TestServer } from '../helpers/server.ts';
import { configure, join, joinInstant, MUC, MUC_REGISTER, MUC_USER, registerNick } from '../helpers/muc.ts';
import { condition, DATA, discoInfo, featuresOf, STANZAS } from '../helpers/stanza.ts';

const REGISTER = 'jabber:iq:register';

let t: TestServer;
let alice: TestClient;
let bob: TestClient;
let carol: TestClient;

before(async () => {
  t = await startWithUsers(['alice', 'bob', 'carol', 'dave']);
  alice = await t.login('alice');
  bob = await t.login('bob');
  carol = await t.login('carol', { transport: 'ws' });
});
after(() => t.stop());

function registerGet(c: TestClient, room: string): Promise<Element> {
  return c.iq(xml('iq', { type: 'get', to: room }, xml('query', { xmlns: REGISTER })));
}

function unregister(c: TestClient, room: string): Promise<Element> {
  return c.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: REGISTER }, xml('remove'))));
}

function fieldOf(form: Element | undefined, name: string): Element | undefined {
  return form?.getChildren('field').find((f) => f.attrs.var === name);
}

test('an unaffiliated user gets the form, registers, becomes a member, and the room sees it', async () => {
  const room = 'reg1@conference.localhost';
  await joinInstant(alice, `${room}/Alice`);
  await join(bob, `${room}/Bob`);

  const info = await discoInfo(bob, room);
  assert.ok(featuresOf(info).includes(REGISTER));

  const res = await registerGet(bob, room);
  const q = res.getChild('query', REGISTER)!;
  assert.equal(q.getChild('registered'), undefined);
  const form = q.getChild('x', DATA)!;
  assert.equal(form.attrs.type, 'form');
  assert.equal(fieldOf(form, 'FORM_TYPE')?.getChildText('value'), MUC_REGISTER);
  const nickField = fieldOf(form, 'muc#register_roomnick')!;
  assert.equal(nickField.attrs.type, 'text-single');
  assert.ok(nickField.getChild('required'));

  // Alice sees Bob's presence again, now with affiliation member.
  const update = alice.next((el) => el.is('presence') && el.attrs.from === `${room}/Bob` && el.getChild('x', MUC_USER)?.getChild('item')?.attrs.affiliation === 'member');
  const bobSelf = bob.next((el) => el.is('presence') && el.attrs.from === `${room}/Bob` && el.getChild('x', MUC_USER)?.getChild('item')?.attrs.affiliation === 'member');
  const ok = await registerNick(bob, room, 'Bobby');
  assert.equal(ok.attrs.type, 'result');
  await Promise.all([update, bobSelf]);

  const r = t.server.muc!.rooms.get(room)!;
  assert.equal(r.record.nicks['bob@localhost'], 'Bobby');
  assert.equal(r.affiliation('bob@localhost'), 'member');

  // A registered user's get: <registered/>, the nick, and the form filled in.
  const again = (await registerGet(bob, room)).getChild('query', REGISTER)!;
  assert.ok(again.getChild('registered'));
  assert.equal(again.getChildText('username'), 'Bobby');
  assert.equal(fieldOf(again.getChild('x', DATA), 'muc#register_roomnick')?.getChildText('value'), 'Bobby');

  // Converse re-submits on every entry: the same nick again is a plain result.
  assert.equal((await registerNick(bob, room, 'Bobby')).attrs.type, 'result');
  assert.equal(r.record.nicks['bob@localhost'], 'Bobby');

  // x-roomuser-item tells each asker their own registered nick.
  const mine = await discoInfo(bob, room, 'x-roomuser-item');
  assert.equal(mine.attrs.node, 'x-roomuser-item');
  const id = mine.getChild('identity')!;
  assert.deepEqual([id.attrs.category, id.attrs.type, id.attrs.name], ['conference', 'text', 'Bobby']);
  const none = await discoInfo(carol, room, 'x-roomuser-item');
  assert.equal(none.getChild('identity'), undefined);
});

test('registered nicks are reserved; bad forms and nicks are refused', async () => {
  const room = 'reg1@conference.localhost';
  // Someone else's registered nick, and a nick in use by another occupant.
  assert.equal(await condition(registerNick(carol, room, 'Bobby')), 'conflict');
  assert.equal(await condition(registerNick(carol, room, 'Alice')), 'conflict');
  // Nobody else may join with a registered nick (the core refuses it).
  const refused = carol.next((el) => el.is('presence') && el.attrs.type === 'error' && el.attrs.from === `${room}/Bobby`);
  await carol.send(xml('presence', { to: `${room}/Bobby` }, xml('x', { xmlns: MUC })));
  const err = await refused;
  assert.ok(err.getChild('error')?.getChild('conflict', STANZAS));
  // The owner of the nick may join with it.
  await bob.send(xml('presence', { to: `${room}/Bob`, type: 'unavailable' }));
  await join(bob, `${room}/Bobby`);

  assert.equal(await condition(registerNick(carol, room, 'Carol', 'urn:example:wrong')), 'bad-request');
  assert.equal(await condition(carol.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: REGISTER })))), 'bad-request');
  assert.equal(await condition(registerNick(carol, room, '')), 'not-acceptable');
  assert.equal(await condition(registerNick(carol, room, '   ')), 'not-acceptable');
  assert.equal(await condition(registerNick(carol, room, null)), 'not-acceptable');
  assert.equal(t.server.muc!.rooms.get(room)!.affiliation('carol@localhost'), 'none');

  // Carol may take a free nick without being in the room.
  assert.equal((await registerNick(carol, room, 'Carol')).attrs.type, 'result');
  assert.equal(t.server.muc!.rooms.get(room)!.affiliation('carol@localhost'), 'member');
});

test('<remove/> drops the nick and membership; admins and owners keep their affiliation', async () => {
  const room = 'reg1@conference.localhost';
  const r = t.server.muc!.rooms.get(room)!;
  assert.equal((await unregister(carol, room)).attrs.type, 'result');
  assert.equal(r.record.nicks['carol@localhost'], undefined);
  assert.equal(r.affiliation('carol@localhost'), 'none');
  // Unregistering twice is harmless.
  assert.equal((await unregister(carol, room)).attrs.type, 'result');

  assert.equal((await registerNick(alice, room, 'Alice')).attrs.type, 'result');
  assert.equal(r.record.nicks['alice@localhost'], 'Alice');
  assert.equal(r.affiliation('alice@localhost'), 'owner');
  assert.equal((await unregister(alice, room)).attrs.type, 'result');
  assert.equal(r.record.nicks['alice@localhost'], undefined);
  assert.equal(r.affiliation('alice@localhost'), 'owner');

  // The freed nick can be registered by someone else now.
  assert.equal((await registerNick(carol, room, 'Alice2')).attrs.type, 'result');
  assert.equal((await unregister(carol, room)).attrs.type, 'result');
});

test('members-only rooms refuse non-members, outcasts are forbidden, allowRegister is honoured', async () => {
  const mo = 'reg2@conference.localhost';
  await joinInstant(alice, `${mo}/Alice`);
  await configure(alice, mo, { 'muc#roomconfig_membersonly': '1' });
  assert.equal(await condition(registerGet(carol, mo)), 'registration-required');
  assert.equal(await condition(registerNick(carol, mo, 'Carol')), 'registration-required');
  // An existing member may reserve a nick there.
  const r = t.server.muc!.rooms.get(mo)!;
  await r.setAffiliation('bob@localhost', 'member');
  assert.equal((await registerNick(bob, mo, 'Bob')).attrs.type, 'result');
  assert.equal(r.record.nicks['bob@localhost'], 'Bob');

  await r.setAffiliation('dave@localhost', 'outcast');
  const dave = await t.login('dave');
  assert.equal(await condition(registerGet(dave, mo)), 'forbidden');
  assert.equal(await condition(registerNick(dave, mo, 'Dave')), 'forbidden');

  // An open room that does not allow registration: not advertised, refused to the unaffiliated.
  const closed = 'reg3@conference.localhost';
  await joinInstant(alice, `${closed}/Alice`);
  await configure(alice, closed, { 'muc#roomconfig_allowregister': '0' });
  assert.ok(!featuresOf(await discoInfo(carol, closed)).includes(REGISTER));
  assert.ok(featuresOf(await discoInfo(carol, mo)).includes(REGISTER));
  assert.equal(await condition(registerNick(carol, closed, 'Carol')), 'registration-required');
  // The owner still may.
  assert.equal((await registerNick(alice, closed, 'Boss')).attrs.type, 'result');
  await dave.stop();
});

test('registrations are persisted with the room', async () => {
  const room = 'reg4@conference.localhost';
  await joinInstant(alice, `${room}/Alice`);
  await configure(alice, room, { 'muc#roomconfig_persistentroom': '1' });
  assert.equal((await registerNick(carol, room, 'Caroline')).attrs.type, 'result');
  await t.restart();
  const c = await t.login('carol');
  const q = (await registerGet(c, room)).getChild('query', REGISTER)!;
  const r = t.server.muc!.rooms.get(room)!;
  assert.equal(r.record.nicks['carol@localhost'], 'Caroline');
  assert.equal(r.affiliation('carol@localhost'), 'member');
  assert.ok(q.getChild('registered'));
  assert.equal(q.getChildText('username'), 'Caroline');
});
