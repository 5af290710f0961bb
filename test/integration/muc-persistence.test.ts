import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWithUsers, xml, type TestClient, type TestServer } from '../helpers/server.ts';
import { configure, join, joinInstant, MAM, MUC, MUC_ADMIN, MUC_OWNER, say, statusCodes } from '../helpers/muc.ts';
import { DISCO_INFO, discoInfo, errorCondition, featuresOf, rawIq, SID } from '../helpers/stanza.ts';

const ROOM = 'persist@conference.localhost';
const TEMP = 'temp@conference.localhost';

let t: TestServer;
const ids: string[] = [];

let seq = 0;
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
  t = await startWithUsers(['alice', 'bob', 'carol']);
});
after(() => t.stop());

test('before restart: a persistent room with affiliation, registered nick, subject and archive; a temporary room', async () => {
  const alice = await t.login('alice');
  const self = await join(alice, `${ROOM}/Alice`);
  assert.ok(statusCodes(self).includes(201));
  await configure(alice, ROOM, { 'muc#roomconfig_persistentroom': '1', 'muc#roomconfig_roomname': 'Persistent room' });

  const room = t.server.muc!.rooms.get(ROOM)!;
  // An affiliation through muc#admin when it is installed, else set on the record directly.
  const admin = await rawIq(alice, xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: MUC_ADMIN }, xml('item', { jid: 'bob@localhost', affiliation: 'member' }))));
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
  assert.equal(muc.rooms.has(ROOM), false, 'a persistent room is loaded when it is first addressed, not at start');
  const carol = await t.login('carol');
  const q = await discoInfo(carol, ROOM);
  const room = muc.rooms.get(ROOM);
  assert.ok(room, 'the persistent room was loaded');
  assert.equal(room.record.affiliations['bob@localhost'], 'member');
  assert.equal(room.record.affiliations['alice@localhost'], 'owner');
  assert.equal(room.record.nicks['bob@localhost'], 'Bobby');
  assert.equal(room.config.persistent, true);
  assert.equal(room.config.name, 'Persistent room');
  assert.equal(room.locked, false);
  assert.equal(muc.rooms.has(TEMP), false);

  const features = featuresOf(q);
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
  assert.equal(history.getChild('stanza-id', SID)?.attrs.id, ids[2]);
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
  await alice.iq(xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: MUC_OWNER }, xml('destroy', {}, xml('reason', {}, 'done')))));
  assert.equal(t.server.muc!.rooms.has(ROOM), false);
  await t.server.muc!.archive!.settle();
  assert.deepEqual((await t.server.muc!.archive!.query(ROOM, { limit: 10 })).items, []);
  await t.restart();
  assert.equal(t.server.muc!.rooms.has(ROOM), false);
  assert.deepEqual((await t.server.muc!.archive!.query(ROOM, { limit: 10 })).items, []);
});
