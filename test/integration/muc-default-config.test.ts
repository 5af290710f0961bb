import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startWithUsers, xml } from '../helpers/server.ts';
import { join, joinInstant, leave, MAM, MUC, MUC_DOMAIN, say, statusCodes } from '../helpers/muc.ts';
import { discoInfo, errorCondition, featuresOf } from '../helpers/stanza.ts';

test('with the embedded default, a room created by a join alone (no form) is persistent and survives a restart', async () => {
  const t = await startWithUsers(['alice', 'bob'], { muc: { unlockedByDefault: true } });
  try {
    const room = `lasting@${MUC_DOMAIN}`;
    const alice = await t.login('alice');
    assert.ok(statusCodes(await join(alice, `${room}/Alice`)).includes(201), 'the join created the room');
    await say(alice, room, 'still here');
    await leave(alice, `${room}/Alice`);
    assert.ok(t.server.muc!.rooms.has(room), 'the room outlives its last occupant');

    await t.restart();
    const bob = await t.login('bob');
    // Addressing the room loads it from storage (rooms load on demand).
    const features = featuresOf(await discoInfo(bob, room));
    const loaded = t.server.muc!.rooms.get(room);
    assert.ok(loaded, 'the room was stored without any form submission');
    assert.equal(loaded.config.persistent, true);
    assert.equal(loaded.record.affiliations['alice@localhost'], 'owner');
    assert.ok(features.includes('muc_persistent') && features.includes(MAM), features.join(' '));
    const archived = (await t.server.muc!.archive!.query(room, { limit: 10 })).items;
    assert.equal(archived.length, 1);
    assert.match(archived[0]!.xml, /still here/);
  } finally {
    await t.stop();
  }
});

test('a locked room its owner leaves without configuring goes away, persistent default or not', async () => {
  const t = await startWithUsers(['alice']);
  try {
    const room = `unconfigured@${MUC_DOMAIN}`;
    const alice = await t.login('alice');
    assert.ok(statusCodes(await join(alice, `${room}/Alice`)).includes(201));
    await leave(alice, `${room}/Alice`);
    assert.equal(t.server.muc!.rooms.has(room), false);
  } finally {
    await t.stop();
  }
});

test('muc.defaultRoomConfig applies to a new room: its disco#info features and its rules', async () => {
  const t = await startWithUsers(['alice', 'bob'], {
    muc: { defaultRoomConfig: { membersOnly: true, public: false, whois: 'anyone', persistent: false, moderated: true } },
  });
  try {
    const room = `private@${MUC_DOMAIN}`;
    const alice = await t.login('alice');
    await joinInstant(alice, `${room}/Alice`);
    const bob = await t.login('bob');
    const features = featuresOf(await discoInfo(bob, room));
    for (const f of ['muc_membersonly', 'muc_hidden', 'muc_nonanonymous', 'muc_temporary', 'muc_moderated']) {
      assert.ok(features.includes(f), `${f} in ${features.join(' ')}`);
    }
    // Members only: Bob, no member, is refused (XEP-0045 7.2.7).
    const refused = bob.next((el) => el.is('presence') && el.attrs.type === 'error' && el.attrs.from === `${room}/Bob`);
    await bob.send(xml('presence', { to: `${room}/Bob` }, xml('x', { xmlns: MUC })));
    assert.equal(errorCondition(await refused), 'registration-required');
  } finally {
    await t.stop();
  }
});
