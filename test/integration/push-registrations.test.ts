import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, startWithUsers, xml, type TestServer } from '../helpers/server.ts';
import { groupchat, join, joinAsMember, leave, MUC_DOMAIN } from '../helpers/muc.ts';
import { createRoom, disableIq, enableIq, httpNotifications, waitHttpNotifications } from '../helpers/push.ts';
import { condition } from '../helpers/stanza.ts';

let t: TestServer;
before(async () => {
  t = await startWithUsers(['alice', 'bob'], { push: { maxDevices: 2, mucPolicy: 'all' } });
});
after(() => t.stop());

const regs = (user: string) => t.server.push.registrations.of(user).map((r) => `${r.scope} ${r.jid} ${r.node}`);

test('bad enable and disable requests are refused', async () => {
  const alice = await t.login('alice');
  await createRoom(alice, `bad@${MUC_DOMAIN}/Alice`);
  for (const to of [MUC_DOMAIN, `bad@${MUC_DOMAIN}`, undefined, 'alice@localhost']) {
    assert.equal(await condition(alice.iq(enableIq(to, undefined, 'n'))), 'bad-request', `enable without jid to ${to}`);
    assert.equal(await condition(alice.iq(disableIq(to, undefined, 'n'))), 'bad-request', `disable without jid to ${to}`);
    assert.equal(await condition(alice.iq(enableIq(to, 'push.localhost', undefined))), 'bad-request', `enable without node to ${to}`);
    assert.equal(await condition(alice.iq(enableIq(to, 'a@b@c', 'n'))), 'jid-malformed', `enable with a bad jid to ${to}`);
  }
  assert.equal(await condition(alice.iq(enableIq('bob@localhost', 'push.localhost', 'n'))), 'forbidden', "someone else's account");
  assert.equal(await condition(alice.iq(enableIq(`nosuchroom@${MUC_DOMAIN}`, 'push.localhost', 'n'))), 'item-not-found');
  assert.deepEqual(regs('alice@localhost'), []);
  await alice.stop();
});

test('enable and disable per scope; disable without node removes every node of that app server', async () => {
  const alice = await t.login('alice');
  await createRoom(alice, `scopes@${MUC_DOMAIN}/Alice`);
  await alice.iq(enableIq(MUC_DOMAIN, 'push.localhost', 'a'));
  await alice.iq(enableIq(MUC_DOMAIN, 'other.example', 'b'));
  await alice.iq(enableIq(`scopes@${MUC_DOMAIN}`, 'push.localhost', 'c'));
  await alice.iq(enableIq(undefined, 'push.localhost', 'd'));
  await alice.iq(enableIq('alice@localhost', 'push.localhost', 'e'));
  assert.deepEqual(regs('alice@localhost').sort(), [
    'account push.localhost d',
    'account push.localhost e',
    `muc:${MUC_DOMAIN} other.example b`,
    `muc:${MUC_DOMAIN} push.localhost a`,
    `room:scopes@${MUC_DOMAIN} push.localhost c`,
  ]);
  await alice.iq(disableIq(MUC_DOMAIN, 'push.localhost', 'a'));
  await alice.iq(disableIq(MUC_DOMAIN, 'push.localhost', 'nothing-here'));
  await alice.iq(disableIq(`scopes@${MUC_DOMAIN}`, 'push.localhost'));
  await alice.iq(disableIq(undefined, 'push.localhost'));
  assert.deepEqual(regs('alice@localhost'), [`muc:${MUC_DOMAIN} other.example b`]);
  await alice.iq(disableIq(MUC_DOMAIN, 'other.example'));
  assert.deepEqual(regs('alice@localhost'), []);
  await alice.stop();
});

test('at most push.maxDevices per user and scope: the oldest is dropped', async () => {
  const alice = await t.login('alice');
  const bob = await t.login('bob');
  const room = `devices@${MUC_DOMAIN}`;
  await createRoom(bob, `${room}/Bob`);
  await joinAsMember(alice, room, 'Alice');
  await alice.iq(enableIq(MUC_DOMAIN, 'push.localhost', 'dev-1'));
  await sleep(5);
  await alice.iq(enableIq(MUC_DOMAIN, 'push.localhost', 'dev-2'));
  await sleep(5);
  await alice.iq(enableIq(MUC_DOMAIN, 'push.localhost', 'dev-3'));
  await alice.iq(enableIq(undefined, 'push.localhost', 'acct-1'));
  assert.deepEqual(regs('alice@localhost').sort(), ['account push.localhost acct-1', `muc:${MUC_DOMAIN} push.localhost dev-2`, `muc:${MUC_DOMAIN} push.localhost dev-3`]);
  await leave(alice, `${room}/Alice`);
  await bob.send(groupchat(room, 'hello devices'));
  await waitHttpNotifications(t, 'dev-2', 1);
  await waitHttpNotifications(t, 'dev-3', 1);
  await sleep(100);
  assert.equal((await httpNotifications(t, 'dev-1')).length, 0);
  // Re-enabling a known device refreshes it: it becomes the newest.
  await alice.iq(enableIq(MUC_DOMAIN, 'push.localhost', 'dev-2'));
  await alice.iq(enableIq(MUC_DOMAIN, 'push.localhost', 'dev-4'));
  assert.deepEqual(regs('alice@localhost').filter((r) => r.startsWith('muc')).sort(), [`muc:${MUC_DOMAIN} push.localhost dev-2`, `muc:${MUC_DOMAIN} push.localhost dev-4`]);
  await alice.stop();
  await bob.stop();
});

test('registrations (with their publish-options form) and node secrets survive a restart', async () => {
  const alice = await t.login('alice');
  const bob = await t.login('bob');
  const room = `persist@${MUC_DOMAIN}`;
  await createRoom(bob, `${room}/Bob`);
  await joinAsMember(alice, room, 'Alice');
  await alice.iq(enableIq(MUC_DOMAIN, 'push.localhost', 'persist-node', 'persist-secret'));
  await leave(alice, `${room}/Alice`);
  await bob.send(groupchat(room, 'before restart'));
  await waitHttpNotifications(t, 'persist-node', 1);
  const before = t.server.push.registrations.of('alice@localhost').find((r) => r.node === 'persist-node')!;

  await t.restart();
  const after = t.server.push.registrations.of('alice@localhost').find((r) => r.node === 'persist-node');
  assert.ok(after, 'the registration is back');
  assert.equal(after.form, before.form, 'the form is kept verbatim');
  assert.match(after.form!, /persist-secret/);

  // The node remembers its secret: a publish with a wrong one is refused.
  const mallory = await t.login('bob', { resource: 'mallory' });
  const wrong = xml(
    'iq',
    { type: 'set', to: 'push.localhost' },
    xml(
      'pubsub',
      { xmlns: 'http://jabber.org/protocol/pubsub' },
      xml('publish', { node: 'persist-node' }, xml('item', {}, xml('notification', { xmlns: 'urn:xmpp:push:0' }))),
      xml('publish-options', {}, xml('x', { xmlns: 'jabber:x:data', type: 'submit' }, xml('field', { var: 'secret' }, xml('value', {}, 'guess')))),
    ),
  );
  assert.equal(await condition(mallory.iq(wrong)), 'forbidden');

  // And the registration still pushes, with the stored secret accepted.
  const bob2 = await t.login('bob');
  await join(bob2, `${room}/Bob`);
  await bob2.send(groupchat(room, 'after restart'));
  const list = await waitHttpNotifications(t, 'persist-node', 1);
  assert.equal(list.at(-1)!.from, MUC_DOMAIN);
  await mallory.stop();
  await bob2.stop();
});
