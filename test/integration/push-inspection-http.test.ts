import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWithUsers, xml, type TestClient, type TestServer } from '../helpers/server.ts';
import { groupchat, join, leave, MUC_DOMAIN, registerNick } from '../helpers/muc.ts';
import { createRoom, enableIq, openEvents, publishIq, waitHttpNotifications, type HttpNotification } from '../helpers/push.ts';

// Issue 13, CI suites: the push inspection endpoints a test suite drives over HTTP.

let t: TestServer;
let bob: TestClient;
before(async () => {
  t = await startWithUsers(['alice', 'bob'], { push: { mucPolicy: 'all', withBody: true } });
  bob = await t.login('bob');
});
after(() => t.stop());

const url = (query: string) => `http://127.0.0.1:${t.server.ports.http}/push/notifications${query}`;
const get = async (query: string): Promise<HttpNotification[]> => {
  const res = await fetch(url(query));
  assert.equal(res.status, 200);
  return (await res.json()) as HttpNotification[];
};
const publish = (node: string, body: string) => bob.iq(publishIq(node, { body }));

test('each notification says which account and which room it was for', async () => {
  const room = `inspect@${MUC_DOMAIN}`;
  const alice = await t.login('alice');
  await createRoom(alice, `${room}/Alice`);
  await registerNick(alice, room, 'Alice');
  await alice.iq(enableIq(MUC_DOMAIN, 'push.localhost', 'alice-rooms'));
  await alice.iq(enableIq(undefined, 'push.localhost', 'alice-account'));
  await leave(alice, `${room}/Alice`);
  await join(bob, `${room}/Bob`);
  await bob.send(groupchat(room, 'in the room'));
  const [fromRoom] = await waitHttpNotifications(t, 'alice-rooms', 1);
  assert.equal(fromRoom!.account, 'alice@localhost');
  assert.equal(fromRoom!.room, room);
  assert.equal(fromRoom!['last-message-body'], 'in the room');
  assert.ok(Number.isInteger(fromRoom!.id) && fromRoom!.id > 0);

  // Offline: a direct message pushes the account registration, about no room.
  await alice.stop();
  await leave(bob, `${room}/Bob`);
  await bob.send(xml('message', { to: 'alice@localhost', type: 'chat' }, xml('body', {}, 'direct')));
  const [direct] = await waitHttpNotifications(t, 'alice-account', 1);
  assert.equal(direct!.account, 'alice@localhost');
  assert.equal(direct!.room, null);
  assert.ok(direct!.id > fromRoom!.id, 'ids grow in arrival order');
  // The new fields filter too.
  assert.deepEqual((await get(`?account=${encodeURIComponent('alice@localhost')}&room=${encodeURIComponent(room)}`)).map((n) => n.id), [fromRoom!.id]);
});

test('GET ?since=ID answers only the later ones; DELETE forgets one node or all', async () => {
  await publish('del-a', 'a1');
  await publish('del-b', 'b1');
  const all = await get('');
  const a1 = all.find((n) => n.node === 'del-a')!;
  await publish('del-a', 'a2');
  assert.deepEqual((await get(`?since=${a1.id}`)).map((n) => n['last-message-body']), ['b1', 'a2']);
  assert.deepEqual((await get(`?node=del-a&since=${a1.id}`)).map((n) => n['last-message-body']), ['a2']);
  assert.equal((await fetch(url('?since=-1'))).status, 400);
  assert.equal((await fetch(url('?wait=soon'))).status, 400);

  const one = await fetch(url('?node=del-a'), { method: 'DELETE' });
  assert.equal(one.status, 200);
  assert.deepEqual(await one.json(), { deleted: 2 });
  assert.equal((await get('?node=del-a')).length, 0);
  assert.equal((await get('?node=del-b')).length, 1, 'another node keeps its own');
  const rest = await fetch(url(''), { method: 'DELETE' });
  assert.ok(((await rest.json()) as { deleted: number }).deleted >= 1);
  assert.deepEqual(await get(''), []);
  // Ids go on from where they were: a `since` cursor stays valid across a DELETE.
  await publish('del-a', 'a3');
  const [a3] = await get('?node=del-a');
  assert.ok(a3!.id > a1.id + 2);
});

test('a long poll (?wait=) returns when a notification arrives', async () => {
  const [last] = (await get('')).slice(-1);
  const since = last?.id ?? 0;
  const polling = get(`?node=poll&since=${since}&wait=30`);
  // Not answered yet: the poll is open until something for its node arrives.
  await publish('not-polled', 'other node');
  await publish('poll', 'wake up');
  const got = await polling;
  assert.deepEqual(got.map((n) => [n.node, n['last-message-body']]), [['poll', 'wake up']]);
  // A poll asking from before kept ones answers them at once.
  assert.deepEqual((await get(`?node=poll&since=${since}&wait=30`)).map((n) => n['last-message-body']), ['wake up']);
});

test('a long poll answers [] when nothing arrives within the wait', async () => {
  const started = Date.now();
  assert.deepEqual(await get('?node=never&wait=1'), []);
  // A bound, not a benchmark: it did wait (about 1 s), and did not hang.
  assert.ok(Date.now() - started >= 900, 'the poll waited');
});

test('SSE: every event has an id, and Last-Event-ID replays the kept ones after it', async () => {
  const live = await openEvents(t, '?node=replay');
  await publish('replay', 'r1');
  await publish('replay', 'r2');
  await publish('replay', 'r3');
  const seen = await live.until(3);
  live.close();
  assert.deepEqual(seen.map((e) => e.id), seen.map((e) => String(e.data.id)));
  assert.deepEqual(seen.map((e) => e.data['last-message-body']), ['r1', 'r2', 'r3']);

  // Reconnecting after r1: r2 and r3 come again (only this node's), then live ones.
  await publish('other', 'not replayed');
  const again = await openEvents(t, '?node=replay', { 'Last-Event-ID': seen[0]!.id! });
  const replayed = await again.until(2);
  assert.deepEqual(replayed.map((e) => e.data['last-message-body']), ['r2', 'r3']);
  assert.deepEqual(replayed.map((e) => e.id), [seen[1]!.id, seen[2]!.id]);
  await publish('replay', 'r4');
  assert.equal((await again.until(3))[2]!.data['last-message-body'], 'r4');
  again.close();
});
