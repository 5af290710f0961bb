import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import { startTestServer, xml, type TestClient, type TestServer } from '../helpers/server.ts';
import { join, joinInstant, MUC, statusCodes } from '../helpers/muc.ts';

const MAM = 'urn:xmpp:mam:2';
const DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const OWNER = 'http://jabber.org/protocol/muc#owner';
const ADMIN = 'http://jabber.org/protocol/muc#admin';
const ROOM = 'persist@conference.localhost';
const TEMP = 'temp@conference.localhost';

let t: TestServer;
const ids: string[] = [];

function field(name: string, ...values: string[]): Element {
  return xml('field', { var: name }, ...values.map((v) => xml('value', {}, v)));
}

function errorCondition(el: Element): string | undefined {
  const err = el.getChild('error');
  return err?.children.find((c): c is Element => typeof c !== 'string' && c.attrs.xmlns === 'urn:ietf:params:xml:ns:xmpp-stanzas' && c.name !== 'text')?.name;
}

let seq = 0;
async function rawIq(c: TestClient, iq: Element): Promise<Element> {
  const id = `p${++seq}`;
  iq.attrs.id = id;
  const reply = c.next((el) => el.is('iq') && el.attrs.id === id && (el.attrs.type === 'result' || el.attrs.type === 'error'));
  await c.send(iq);
  return reply;
}

async function say(c: TestClient, room: string, body: string): Promise<string> {
  const echo = c.next((el) => el.is('message') && el.attrs.type === 'groupchat' && el.getChildText('body') === body);
  await c.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, body)));
  return (await echo).getChild('stanza-id', 'urn:xmpp:sid:0')!.attrs.id as string;
}

async function mamBodies(c: TestClient, room: string): Promise<{ ids: string[]; bodies: string[]; complete?: string }> {
  const queryid = `q${++seq}`;
  const start = c.received.length;
  const reply = await c.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: MAM, queryid })));
  const results = c.received.slice(start).filter((el) => el.is('message') && el.getChild('result', MAM)?.attrs.queryid === queryid);
  return {
    ids: results.map((r) => r.getChild('result', MAM)!.attrs.id as string),
    bodies: results.map((r) => r.getChild('result', MAM)!.getChild('forwarded', 'urn:xmpp:forward:0')!.getChild('message')!.getChildText('body')!),
    complete: reply.getChild('fin', MAM)?.attrs.complete as string | undefined,
  };
}

before(async () => {
  t = await startTestServer();
  for (const u of ['alice', 'bob', 'carol']) await t.addUser(u);
});
after(() => t.stop());

test('before restart: a persistent room with affiliation, registered nick, subject and archive; a temporary room', async () => {
  const alice = await t.login('alice');
  const self = await join(alice, `${ROOM}/Alice`);
  assert.ok(statusCodes(self).includes(201));
  const form = xml(
    'x',
    { xmlns: 'jabber:x:data', type: 'submit' },
    field('FORM_TYPE', 'http://jabber.org/protocol/muc#roomconfig'),
    field('muc#roomconfig_persistentroom', '1'),
    field('muc#roomconfig_roomname', 'Persistent room'),
  );
  await alice.iq(xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: OWNER }, form)));

  const room = t.server.muc!.rooms.get(ROOM)!;
  // An affiliation through muc#admin when it is installed, else set on the record directly.
  const admin = await rawIq(alice, xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: ADMIN }, xml('item', { jid: 'bob@localhost', affiliation: 'member' }))));
  if (admin.attrs.type !== 'result') await room.setAffiliation('bob@localhost', 'member');
  // A registered nick (the registration feature may not exist yet).
  room.record.nicks['bob@localhost'] = 'Bobby';
  await room.save();

  const subject = alice.next((el) => el.is('message') && el.getChildText('subject') === 'Persistent topic');
  await alice.send(xml('message', { to: ROOM, type: 'groupchat' }, xml('subject', {}, 'Persistent topic')));
  await subject;
  for (const body of ['one', 'two', 'three']) ids.push(await say(alice, ROOM, body));

  const bob = await t.login('bob');
  await joinInstant(bob, `${TEMP}/Bob`);
  await say(bob, TEMP, 'temporary');
  assert.equal((await t.server.muc!.archive!.query(TEMP, { limit: 10 })).items.length, 1);
  assert.deepEqual((await mamBodies(alice, ROOM)).bodies, ['one', 'two', 'three']);
});

test('after restart the persistent room is back with its state and archive; the temporary room is gone', async () => {
  await t.restart();
  const muc = t.server.muc!;
  const room = muc.rooms.get(ROOM);
  assert.ok(room, 'the persistent room was loaded');
  assert.equal(room.record.affiliations['bob@localhost'], 'member');
  assert.equal(room.record.affiliations['alice@localhost'], 'owner');
  assert.equal(room.record.nicks['bob@localhost'], 'Bobby');
  assert.equal(room.config.persistent, true);
  assert.equal(room.config.name, 'Persistent room');
  assert.equal(room.locked, false);
  assert.equal(muc.rooms.has(TEMP), false);

  const carol = await t.login('carol');
  const info = await carol.iq(xml('iq', { type: 'get', to: ROOM }, xml('query', { xmlns: DISCO_INFO })));
  const q = info.getChild('query', DISCO_INFO)!;
  const features = q.getChildren('feature').map((f) => f.attrs.var);
  assert.ok(features.includes('muc_persistent'));
  assert.ok(features.includes(MAM));
  assert.equal(q.getChild('identity')?.attrs.name, 'Persistent room');
  const tempInfo = await rawIq(carol, xml('iq', { type: 'get', to: TEMP }, xml('query', { xmlns: DISCO_INFO })));
  assert.equal(errorCondition(tempInfo), 'item-not-found');
  assert.deepEqual((await muc.archive!.query(TEMP, { limit: 10 })).items, []);

  // The registered nick is still reserved for Bob.
  const refused = carol.next((el) => el.is('presence') && el.attrs.type === 'error' && el.attrs.from === `${ROOM}/Bobby`);
  await carol.send(xml('presence', { to: `${ROOM}/Bobby` }, xml('x', { xmlns: MUC })));
  assert.equal(errorCondition(await refused), 'conflict');

  // Joining: history from the archive, then the subject.
  const historyDone = carol.next((el) => el.is('message') && el.getChild('delay', 'urn:xmpp:delay') !== undefined && el.getChildText('body') === 'three');
  const subject = carol.next((el) => el.is('message') && el.getChild('subject') !== undefined);
  const self = await join(carol, `${ROOM}/Carol`);
  assert.ok(!statusCodes(self).includes(201), 'not a new room');
  const history = await historyDone;
  assert.equal(history.getChild('stanza-id', 'urn:xmpp:sid:0')?.attrs.id, ids[2]);
  const s = await subject;
  assert.equal(s.getChildText('subject'), 'Persistent topic');
  assert.equal(s.attrs.from, `${ROOM}/Alice`);

  // The archive answers with the old messages and their original ids; new ones follow them.
  const before = await mamBodies(carol, ROOM);
  assert.deepEqual(before.bodies, ['one', 'two', 'three']);
  assert.deepEqual(before.ids, ids);
  assert.equal(before.complete, 'true');
  const newId = await say(carol, ROOM, 'four');
  assert.ok(newId > ids[2]!, 'ids stay time-ordered across the restart');
  const now = await mamBodies(carol, ROOM);
  assert.deepEqual(now.bodies, ['one', 'two', 'three', 'four']);
  assert.deepEqual(now.ids, [...ids, newId]);
});

test('destroying the persistent room deletes its record and archive, across a restart too', async () => {
  const alice = await t.login('alice');
  await alice.iq(xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: OWNER }, xml('destroy', {}, xml('reason', {}, 'done')))));
  assert.equal(t.server.muc!.rooms.has(ROOM), false);
  await t.server.muc!.archive!.settle();
  assert.deepEqual((await t.server.muc!.archive!.query(ROOM, { limit: 10 })).items, []);
  await t.restart();
  assert.equal(t.server.muc!.rooms.has(ROOM), false);
  assert.deepEqual((await t.server.muc!.archive!.query(ROOM, { limit: 10 })).items, []);
});
