import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startWithUsers, xml } from '../helpers/server.ts';
import { enableIq, httpNotifications, publishIq, waitHttpNotifications } from '../helpers/push.ts';
import { condition } from '../helpers/stanza.ts';
import type { PushOutcome } from '../../src/push/index.ts';

// Issue 12 item 10: a node of the built-in app server belongs to the account that enabled it here.

test('a squatter cannot take over the push node another account enables; the owner\'s pushes go through', { timeout: 60_000 }, async () => {
  const t = await startWithUsers(['alice', 'bob', 'carol']);
  try {
    const bob = await t.login('bob');
    // Before alice enables it, the node is unclaimed: bob's publish creates it with his secret.
    assert.equal((await bob.iq(publishIq('alice-phone', { secret: 'bobs', body: 'forged' }))).attrs.type, 'result');

    const alice = await t.login('alice');
    await alice.iq(enableIq(undefined, 'push.localhost', 'alice-phone', 'alices'));
    assert.deepEqual(await httpNotifications(t, 'alice-phone'), [], 'what others published before the claim is not served as hers');

    assert.equal(await condition(bob.iq(publishIq('alice-phone', { secret: 'bobs', body: 'forged again' }))), 'forbidden');
    assert.equal(await condition(bob.iq(publishIq('alice-phone', { secret: 'alices', body: 'forged with her secret' }))), 'forbidden');
    assert.equal(await condition(bob.iq(publishIq('alice-phone', { body: 'no secret' }))), 'forbidden');
    assert.equal(await condition(bob.iq(enableIq(undefined, 'push.localhost', 'alice-phone'))), 'conflict', "another account's node cannot be enabled");
    assert.deepEqual(t.server.push.registrations.of('bob@localhost'), []);

    // Alice's own pushes: she goes offline, carol writes to her.
    const outcomes: PushOutcome['outcome'][] = [];
    t.server.push.onOutcome((o) => o.registration.user === 'alice@localhost' && outcomes.push(o.outcome));
    await alice.stop();
    const carol = await t.login('carol');
    await carol.send(xml('message', { to: 'alice@localhost', type: 'chat' }, xml('body', {}, 'lunch?')));
    const [n] = await waitHttpNotifications(t, 'alice-phone', 1);
    assert.equal(n!.from, 'localhost');
    assert.equal(n!['last-message-sender'], 'carol@localhost');
    assert.deepEqual(outcomes, ['result']);

    // The claim survives a restart.
    await t.restart();
    const bob2 = await t.login('bob');
    assert.equal(await condition(bob2.iq(publishIq('alice-phone', { secret: 'bobs', body: 'after restart' }))), 'forbidden');
    const carol2 = await t.login('carol');
    await carol2.send(xml('message', { to: 'alice@localhost', type: 'chat' }, xml('body', {}, 'still there?')));
    const [m] = await waitHttpNotifications(t, 'alice-phone', 1);
    assert.equal(m!['last-message-sender'], 'carol@localhost');
    assert.equal(t.server.push.registrations.of('alice@localhost').length, 1, 'her registration is intact');
  } finally {
    await t.stop();
  }
});

test('a node nobody here enabled stays open to other servers\' publishes, protected by its first secret', async () => {
  const t = await startWithUsers(['remote']);
  try {
    // A local client stands in for another server publishing for its own user.
    const r = await t.login('remote');
    assert.equal((await r.iq(publishIq('their-user', { secret: 's3', body: 'one' }))).attrs.type, 'result');
    assert.equal((await r.iq(publishIq('their-user', { secret: 's3', body: 'two' }))).attrs.type, 'result');
    assert.equal(await condition(r.iq(publishIq('their-user', { secret: 'other', body: 'three' }))), 'forbidden');
    assert.equal((await httpNotifications(t, 'their-user')).length, 2);
  } finally {
    await t.stop();
  }
});
