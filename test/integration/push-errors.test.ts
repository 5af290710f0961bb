import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, startWithUsers, type TestClient, type TestServer } from '../helpers/server.ts';
import { groupchat, joinAsMember, leave, MUC_DOMAIN } from '../helpers/muc.ts';
import { actAsAppServer, createRoom, enableIq } from '../helpers/push.ts';
import type { PushOutcome } from '../../src/push/index.ts';

let t: TestServer;
before(async () => {
  t = await startWithUsers(['alice', 'bob', 'app'], { push: { maxErrors: 3, timeoutSeconds: 1, mucPolicy: 'all' } });
});
after(() => t.stop());

/** Alice, registered in `room` and gone; Bob in the room to talk. */
async function setup(room: string): Promise<{ alice: TestClient; bob: TestClient }> {
  const alice = await t.login('alice');
  const bob = await t.login('bob');
  await createRoom(bob, `${room}/Bob`);
  await joinAsMember(alice, room, 'Alice');
  return { alice, bob };
}

function outcomes(node: string): { list: PushOutcome[]; next(): Promise<PushOutcome>; off(): void } {
  const list: PushOutcome[] = [];
  const waiters: ((o: PushOutcome) => void)[] = [];
  const off = t.server.push.onOutcome((o) => {
    if (o.registration.node !== node) return;
    list.push(o);
    waiters.shift()?.(o);
  });
  return { list, next: () => new Promise((r) => waiters.push(r)), off };
}

const has = (node: string) => t.server.push.registrations.of('alice@localhost').some((r) => r.node === node);

test('errors other than wait count; a result resets the count; at push.maxErrors the registration is removed', async () => {
  const room = `errors@${MUC_DOMAIN}`;
  const { alice, bob } = await setup(room);
  const appClient = await t.login('app', { resource: 'failing' });
  const app = actAsAppServer(appClient);
  await alice.iq(enableIq(MUC_DOMAIN, appClient.jid, 'err-node'));
  await leave(alice, `${room}/Alice`);
  const seen = outcomes('err-node');
  const say = async (text: string) => {
    const o = seen.next();
    await bob.send(groupchat(room, text));
    return o;
  };

  app.mode = { kind: 'error', type: 'cancel', condition: 'item-not-found' };
  assert.equal((await say('one')).outcome, 'error');
  assert.equal((await say('two')).outcome, 'error');
  app.mode = { kind: 'result' };
  assert.equal((await say('three')).outcome, 'result');
  app.mode = { kind: 'error', type: 'wait', condition: 'resource-constraint' };
  for (const text of ['four', 'five', 'six']) assert.equal((await say(text)).outcome, 'wait');
  assert.ok(has('err-node'), 'wait errors do not count');
  app.mode = { kind: 'error', type: 'auth', condition: 'forbidden' };
  assert.equal((await say('seven')).outcome, 'error');
  assert.equal((await say('eight')).outcome, 'error');
  assert.ok(has('err-node'), 'two errors after a result are not three');
  const third = await say('nine');
  assert.equal(third.condition, 'forbidden');
  await sleep(50);
  assert.ok(!has('err-node'), 'removed at the third counted error');
  const before = app.notifications.length;
  await bob.send(groupchat(room, 'ten'));
  await sleep(200);
  assert.equal(app.notifications.length, before, 'no push after removal');
  seen.off();
  for (const c of [alice, bob, appClient]) await c.stop();
});

test('timeouts count as errors', async () => {
  const room = `timeouts@${MUC_DOMAIN}`;
  const { alice, bob } = await setup(room);
  const appClient = await t.login('app', { resource: 'silent' });
  const app = actAsAppServer(appClient);
  app.mode = { kind: 'silent' };
  await alice.iq(enableIq(MUC_DOMAIN, appClient.jid, 'slow-node'));
  await leave(alice, `${room}/Alice`);
  const seen = outcomes('slow-node');
  const timedOut = Promise.all([seen.next(), seen.next(), seen.next()]);
  for (const text of ['a', 'b', 'c']) await bob.send(groupchat(room, text));
  const results = await timedOut;
  assert.deepEqual(results.map((o) => o.outcome), ['timeout', 'timeout', 'timeout']);
  await sleep(50);
  assert.ok(!has('slow-node'));
  assert.ok(t.server.push.stats.timeouts >= 3);
  seen.off();
  for (const c of [alice, bob, appClient]) await c.stop();
});

test('an app server on a domain this server cannot reach counts (remote-server-not-found) until removed', async () => {
  const room = `remote@${MUC_DOMAIN}`;
  const { alice, bob } = await setup(room);
  await alice.iq(enableIq(MUC_DOMAIN, 'push.example.org', 'remote-node'));
  await leave(alice, `${room}/Alice`);
  const seen = outcomes('remote-node');
  const three = Promise.all([seen.next(), seen.next(), seen.next()]);
  for (const text of ['x', 'y', 'z']) await bob.send(groupchat(room, text));
  const results = await three;
  assert.deepEqual(results.map((o) => [o.outcome, o.condition]), Array(3).fill(['error', 'remote-server-not-found']));
  await sleep(50);
  assert.ok(!has('remote-node'));
  seen.off();
  for (const c of [alice, bob]) await c.stop();
});

test('an app server client that went offline counts as an error', async () => {
  const room = `offline-app@${MUC_DOMAIN}`;
  const { alice, bob } = await setup(room);
  const appClient = await t.login('app', { resource: 'gone' });
  await alice.iq(enableIq(MUC_DOMAIN, appClient.jid, 'gone-node'));
  await appClient.stop();
  await leave(alice, `${room}/Alice`);
  const seen = outcomes('gone-node');
  const o = seen.next();
  await bob.send(groupchat(room, 'anyone?'));
  assert.deepEqual([(await o).outcome, (await o).condition], ['error', 'service-unavailable']);
  assert.equal(t.server.push.registrations.of('alice@localhost').find((r) => r.node === 'gone-node')?.errors, 1);
  seen.off();
  for (const c of [alice, bob]) await c.stop();
});
