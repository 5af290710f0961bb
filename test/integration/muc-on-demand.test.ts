import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWithUsers, xml, type TestClient, type TestServer } from '../helpers/server.ts';
import { configure, join, joinInstant, leave, MUC_DOMAIN, say } from '../helpers/muc.ts';
import { discoInfo } from '../helpers/stanza.ts';

// Issue 10, "rooms on demand": persistent rooms load when first addressed, and at most
// muc.maxLiveRooms of them stay in memory while nobody is in them.

let t: TestServer;
let alice: TestClient;
const rooms = ['lru1', 'lru2', 'lru3'].map((r) => `${r}@${MUC_DOMAIN}`);

before(async () => {
  t = await startWithUsers(['alice', 'bob'], { muc: { maxLiveRooms: 2 } });
  alice = await t.login('alice');
  for (const room of rooms) {
    await joinInstant(alice, `${room}/Alice`);
    await configure(alice, room, { 'muc#roomconfig_persistentroom': '1', 'muc#roomconfig_roomname': `Room ${room.slice(0, 4)}` });
    await say(alice, room, `hello ${room.slice(0, 4)}`);
    await leave(alice, `${room}/Alice`);
  }
});
after(() => t.stop());

test('past maxLiveRooms the least recently used empty room is unloaded, and comes back with its state and history when addressed', async () => {
  const live = t.server.muc!.rooms;
  assert.equal(live.size, 2, 'two rooms stay in memory');
  assert.equal(live.has(rooms[0]!), false, 'the least recently used one went');

  const bob = await t.login('bob');
  const info = await discoInfo(bob, rooms[0]!);
  assert.equal(info.getChild('identity')?.attrs.name, 'Room lru1', 'its configuration came back from storage');
  assert.equal(live.has(rooms[0]!), true, 'addressing it loaded it');
  assert.equal(live.size, 2, 'another one went instead');

  // History is restored from the archive: a newcomer gets the message sent before the unload.
  const history = bob.next((el) => el.is('message') && el.getChildText('body') === 'hello lru1');
  await join(bob, `${rooms[0]}/Bob`);
  await history;
});

test('the service lists stored public rooms that are not in memory', async () => {
  const bob = await t.login('bob', { resource: 'list' });
  const items = await bob.iq(xml('iq', { type: 'get', to: MUC_DOMAIN }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' })));
  assert.ok(t.server.muc!.rooms.size < rooms.length, 'one of them is only in storage');
  const jids = items.getChild('query')!.getChildren('item').map((i) => i.attrs.jid as string).sort();
  for (const room of rooms) assert.ok(jids.includes(room), `${room} listed: ${jids.join(', ')}`);
});

test('an occupied room is never unloaded, even past the limit', async () => {
  const bob = await t.login('bob', { resource: 'stay' });
  for (const room of rooms) await join(bob, `${room}/Stay`);
  assert.equal(t.server.muc!.rooms.size, 3);
  for (const room of rooms) assert.ok(t.server.muc!.rooms.get(room)!.occupants.has('Stay'));
});
