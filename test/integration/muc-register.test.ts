import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import { startTestServer, xml, type TestClient, type TestServer } from '../helpers/server.ts';
import { join, joinInstant, MUC, MUC_USER } from '../helpers/muc.ts';

const REGISTER = 'jabber:iq:register';
const DATA = 'jabber:x:data';
const MUC_REGISTER = 'http://jabber.org/protocol/muc#register';
const DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const OWNER = 'http://jabber.org/protocol/muc#owner';

let t: TestServer;
let alice: TestClient;
let bob: TestClient;
let carol: TestClient;

before(async () => {
  t = await startTestServer();
  for (const u of ['alice', 'bob', 'carol', 'dave']) await t.addUser(u);
  alice = await t.login('alice');
  bob = await t.login('bob');
  carol = await t.login('carol', { transport: 'ws' });
});
after(() => t.stop());

function registerGet(c: TestClient, room: string): Promise<Element> {
  return c.iq(xml('iq', { type: 'get', to: room }, xml('query', { xmlns: REGISTER })));
}

function registerSet(c: TestClient, room: string, nick: string | null, formType = MUC_REGISTER): Promise<Element> {
  const form = xml('x', { xmlns: DATA, type: 'submit' }, xml('field', { var: 'FORM_TYPE' }, xml('value', {}, formType)));
  if (nick !== null) form.cnode(xml('field', { var: 'muc#register_roomnick' }, xml('value', {}, nick)));
  return c.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: REGISTER }, form)));
}

function unregister(c: TestClient, room: string): Promise<Element> {
  return c.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: REGISTER }, xml('remove'))));
}

async function condition(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { condition: string }).condition;
  }
  assert.fail('expected an error');
}

function fieldOf(form: Element | undefined, name: string): Element | undefined {
  return form?.getChildren('field').find((f) => f.attrs.var === name);
}

async function configure(c: TestClient, room: string, fields: Record<string, string>): Promise<void> {
  const form = xml('x', { xmlns: DATA, type: 'submit' }, xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'http://jabber.org/protocol/muc#roomconfig')));
  for (const [k, v] of Object.entries(fields)) form.cnode(xml('field', { var: k }, xml('value', {}, v)));
  await c.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: OWNER }, form)));
}

async function discoInfo(c: TestClient, to: string, node?: string): Promise<Element> {
  const res = await c.iq(xml('iq', { type: 'get', to }, xml('query', { xmlns: DISCO_INFO, ...(node ? { node } : {}) })));
  return res.getChild('query', DISCO_INFO)!;
}

const features = (q: Element) => q.getChildren('feature').map((f) => f.attrs.var as string);

test('an unaffiliated user gets the form, registers, becomes a member, and the room sees it', async () => {
  const room = 'reg1@conference.localhost';
  await joinInstant(alice, `${room}/Alice`);
  await join(bob, `${room}/Bob`);

  const info = await discoInfo(bob, room);
  assert.ok(features(info).includes(REGISTER));

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
  const ok = await registerSet(bob, room, 'Bobby');
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
  assert.equal((await registerSet(bob, room, 'Bobby')).attrs.type, 'result');
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
  assert.equal(await condition(registerSet(carol, room, 'Bobby')), 'conflict');
  assert.equal(await condition(registerSet(carol, room, 'Alice')), 'conflict');
  // Nobody else may join with a registered nick (the core refuses it).
  const refused = carol.next((el) => el.is('presence') && el.attrs.type === 'error' && el.attrs.from === `${room}/Bobby`);
  await carol.send(xml('presence', { to: `${room}/Bobby` }, xml('x', { xmlns: MUC })));
  const err = await refused;
  assert.ok(err.getChild('error')?.getChild('conflict', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
  // The owner of the nick may join with it.
  await bob.send(xml('presence', { to: `${room}/Bob`, type: 'unavailable' }));
  await join(bob, `${room}/Bobby`);

  assert.equal(await condition(registerSet(carol, room, 'Carol', 'urn:example:wrong')), 'bad-request');
  assert.equal(await condition(carol.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: REGISTER })))), 'bad-request');
  assert.equal(await condition(registerSet(carol, room, '')), 'not-acceptable');
  assert.equal(await condition(registerSet(carol, room, '   ')), 'not-acceptable');
  assert.equal(await condition(registerSet(carol, room, null)), 'not-acceptable');
  assert.equal(t.server.muc!.rooms.get(room)!.affiliation('carol@localhost'), 'none');

  // Carol may take a free nick without being in the room.
  assert.equal((await registerSet(carol, room, 'Carol')).attrs.type, 'result');
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

  assert.equal((await registerSet(alice, room, 'Alice')).attrs.type, 'result');
  assert.equal(r.record.nicks['alice@localhost'], 'Alice');
  assert.equal(r.affiliation('alice@localhost'), 'owner');
  assert.equal((await unregister(alice, room)).attrs.type, 'result');
  assert.equal(r.record.nicks['alice@localhost'], undefined);
  assert.equal(r.affiliation('alice@localhost'), 'owner');

  // The freed nick can be registered by someone else now.
  assert.equal((await registerSet(carol, room, 'Alice2')).attrs.type, 'result');
  assert.equal((await unregister(carol, room)).attrs.type, 'result');
});

test('members-only rooms refuse non-members, outcasts are forbidden, allowRegister is honoured', async () => {
  const mo = 'reg2@conference.localhost';
  await joinInstant(alice, `${mo}/Alice`);
  await configure(alice, mo, { 'muc#roomconfig_membersonly': '1' });
  assert.equal(await condition(registerGet(carol, mo)), 'registration-required');
  assert.equal(await condition(registerSet(carol, mo, 'Carol')), 'registration-required');
  // An existing member may reserve a nick there.
  const r = t.server.muc!.rooms.get(mo)!;
  await r.setAffiliation('bob@localhost', 'member');
  assert.equal((await registerSet(bob, mo, 'Bob')).attrs.type, 'result');
  assert.equal(r.record.nicks['bob@localhost'], 'Bob');

  await r.setAffiliation('dave@localhost', 'outcast');
  const dave = await t.login('dave');
  assert.equal(await condition(registerGet(dave, mo)), 'forbidden');
  assert.equal(await condition(registerSet(dave, mo, 'Dave')), 'forbidden');

  // An open room that does not allow registration: not advertised, refused to the unaffiliated.
  const closed = 'reg3@conference.localhost';
  await joinInstant(alice, `${closed}/Alice`);
  await configure(alice, closed, { 'muc#roomconfig_allowregister': '0' });
  assert.ok(!features(await discoInfo(carol, closed)).includes(REGISTER));
  assert.ok(features(await discoInfo(carol, mo)).includes(REGISTER));
  assert.equal(await condition(registerSet(carol, closed, 'Carol')), 'registration-required');
  // The owner still may.
  assert.equal((await registerSet(alice, closed, 'Boss')).attrs.type, 'result');
  await dave.stop();
});

test('registrations are persisted with the room', async () => {
  const room = 'reg4@conference.localhost';
  await joinInstant(alice, `${room}/Alice`);
  await configure(alice, room, { 'muc#roomconfig_persistentroom': '1' });
  assert.equal((await registerSet(carol, room, 'Caroline')).attrs.type, 'result');
  await t.restart();
  const r = t.server.muc!.rooms.get(room)!;
  assert.equal(r.record.nicks['carol@localhost'], 'Caroline');
  assert.equal(r.affiliation('carol@localhost'), 'member');
  const c = await t.login('carol');
  const q = (await registerGet(c, room)).getChild('query', REGISTER)!;
  assert.ok(q.getChild('registered'));
  assert.equal(q.getChildText('username'), 'Caroline');
});
