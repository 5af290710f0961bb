import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import { sleep, startWithUsers, xml, type TestClient, type TestServer } from '../helpers/server.ts';
import { join, joinInstant, MUC_USER, statusCodes } from '../helpers/muc.ts';
import { killSocket, nextHibernation, smReady } from '../helpers/session.ts';
import { condition, discoInfo, featuresOf, SID, STANZAS } from '../helpers/stanza.ts';
import type { RoomEvents } from '../../src/muc/events.ts';

const PING = 'urn:xmpp:ping';

type Ghost = RoomEvents['room:occupant-ghost'];

let t: TestServer;
before(async () => {
  t = await startWithUsers(['alice', 'bob', 'carol', 'dave'], { streamManagement: { resumeTimeoutSeconds: 1 } });
});
after(() => t.stop());

/** Resolves with the next ghost event of `room` (the test server's own MUC hooks). */
function nextGhost(room: string): Promise<Ghost> {
  return new Promise((resolve) => {
    const off = t.server.muc!.hooks.on('room:occupant-ghost', (e) => {
      if (e.room.jid.bare !== room) return;
      off();
      // What listeners see at that moment: the occupant is still in the room.
      resolve({ ...e, stillPresent: e.room.occupants.get(e.occupant.nick) === e.occupant } as Ghost);
    });
  });
}

const unavailable333 = (from: string) => (el: Element) => el.is('presence') && el.attrs.from === from && el.attrs.type === 'unavailable' && statusCodes(el).includes(333);

test('a hibernated session that times out with an undelivered groupchat message is removed as a ghost (333)', async () => {
  const room = 'ghost1@conference.localhost';
  const alice = await t.login('alice');
  const bob = await t.login('bob');
  // @xmpp/client enables stream management with resume when the server offers it, right after
  // binding (possibly after start() resolved): wait for the server to see it.
  await smReady(t, bob);
  await joinInstant(alice, `${room}/Alice`);
  await join(bob, `${room}/Bob`);
  const ghost = nextGhost(room);
  const gone = alice.next(unavailable333(`${room}/Bob`), 10_000);

  // Bob's socket dies without a closing </stream>; the client must not reconnect.
  const hibernated = nextHibernation(t, 'bob@localhost');
  bob.xmpp.reconnect.stop();
  killSocket(bob);
  await hibernated;
  assert.ok(t.server.muc!.rooms.get(room)!.occupants.has('Bob'), 'a hibernated occupant stays in the room');

  await alice.send(xml('message', { to: room, type: 'groupchat', id: 'g1' }, xml('body', {}, 'are you there, Bob?')));
  const [presence, event] = await Promise.all([gone, ghost]);

  const item = presence.getChild('x', MUC_USER)?.getChild('item');
  assert.equal(item?.attrs.role, 'none');
  assert.match(presence.getChildText('status') ?? '', /^Kicked: recipient unavailable/);
  assert.equal(event.occupant.nick, 'Bob');
  assert.equal(event.jid.bare, 'bob@localhost');
  assert.ok((event as Ghost & { stillPresent: boolean }).stillPresent, 'the ghost event fires before the removal');
  assert.equal(event.undelivered?.getChildText('body'), 'are you there, Bob?');
  assert.equal(event.undelivered?.getChild('error'), undefined);
  assert.equal(event.undelivered?.attrs.from, `${room}/Alice`);
  assert.equal(event.undelivered?.getChild('stanza-id', SID)?.attrs.by, room);
  assert.ok(!t.server.muc!.rooms.get(room)!.occupants.has('Bob'));
  // Exactly one unavailable presence for Bob reached Alice (the session's own unavailable,
  // sent when it closed, found the occupant already gone).
  await sleep(200);
  const unavailables = alice.received.filter((el) => el.is('presence') && el.attrs.from === `${room}/Bob` && el.attrs.type === 'unavailable');
  assert.equal(unavailables.length, 1);
  await alice.stop();
});

test('an occupant bouncing a groupchat message with a kickable error is removed with the message', async () => {
  const room = 'ghost2@conference.localhost';
  const alice = await t.login('alice');
  const carol = await t.login('carol', { transport: 'ws' });
  await joinInstant(alice, `${room}/Alice`);
  await join(carol, `${room}/Carol`);
  const delivered = carol.next((el) => el.is('message') && el.getChildText('body') === 'hello carol');
  await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, 'hello carol')));
  const msg = await delivered;
  const stanzaId = msg.getChild('stanza-id', SID)!.attrs.id as string;

  // A non-kickable condition leaves the occupant alone.
  await carol.send(
    xml('message', { to: `${room}/Alice`, type: 'error' }, xml('body', {}, 'hello carol'), xml('error', { type: 'modify' }, xml('not-acceptable', { xmlns: STANZAS }))),
  );
  await sleep(200);
  assert.ok(t.server.muc!.rooms.get(room)!.occupants.has('Carol'));

  const ghost = nextGhost(room);
  const gone = alice.next(unavailable333(`${room}/Carol`));
  const selfGone = carol.next((el) => unavailable333(`${room}/Carol`)(el) && statusCodes(el).includes(110));
  await carol.send(
    xml(
      'message',
      { to: `${room}/Alice`, type: 'error', id: msg.attrs.id },
      xml('body', {}, 'hello carol'),
      xml('stanza-id', { xmlns: SID, id: stanzaId, by: room }),
      xml('error', { type: 'cancel' }, xml('service-unavailable', { xmlns: STANZAS })),
    ),
  );
  const [presence, event] = await Promise.all([gone, ghost, selfGone]);
  assert.equal(presence.getChildText('status'), 'Kicked: service unavailable');
  assert.equal(event.occupant.nick, 'Carol');
  assert.equal(event.undelivered?.getChildText('body'), 'hello carol');
  assert.equal(event.undelivered?.getChild('error'), undefined);
  assert.equal(event.undelivered?.getChild('stanza-id', SID)?.attrs.id, stanzaId);
  assert.equal(event.undelivered?.attrs.type, 'groupchat');
  assert.ok(!t.server.muc!.rooms.get(room)!.occupants.has('Carol'));
  await Promise.all([alice.stop(), carol.stop()]);
});

test('a bounce without payload is looked up in the room archive by stanza-id', async () => {
  const room = 'ghost3@conference.localhost';
  const alice = await t.login('alice');
  const carol = await t.login('carol');
  await joinInstant(alice, `${room}/Alice`);
  await join(carol, `${room}/Carol`);
  const delivered = carol.next((el) => el.is('message') && el.getChildText('body') === 'archived words');
  await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, 'archived words')));
  const stanzaId = (await delivered).getChild('stanza-id', SID)!.attrs.id as string;

  const ghost = nextGhost(room);
  const gone = alice.next(unavailable333(`${room}/Carol`));
  // A stripped bounce with no condition at all ("malformed error" in Prosody's terms) is kickable.
  await carol.send(xml('message', { to: room, type: 'error' }, xml('stanza-id', { xmlns: SID, id: stanzaId, by: room }), xml('error', { type: 'cancel' })));
  const [, event] = await Promise.all([gone, ghost]);
  if (t.server.muc!.archive) {
    assert.equal(event.undelivered?.getChildText('body'), 'archived words');
    assert.equal(event.undelivered?.attrs.to, carol.jid);
  } else {
    assert.equal(event.undelivered, null);
  }
  await Promise.all([alice.stop(), carol.stop()]);
});

test('a presence error removes the session; another resource under the same nick stays', async () => {
  const room = 'ghost4@conference.localhost';
  const alice = await t.login('alice');
  const d1 = await t.login('dave', { resource: 'one' });
  const d2 = await t.login('dave', { resource: 'two' });
  await joinInstant(alice, `${room}/Alice`);
  await join(d1, `${room}/Dave`);
  await join(d2, `${room}/Dave`);
  let ghosts = 0;
  const off = t.server.muc!.hooks.on('room:occupant-ghost', () => void ghosts++);

  await d1.send(xml('presence', { to: `${room}/Alice`, type: 'error' }, xml('error', { type: 'cancel' }, xml('remote-server-not-found', { xmlns: STANZAS }))));
  await sleep(200);
  const r = t.server.muc!.rooms.get(room)!;
  const dave = r.occupants.get('Dave')!;
  assert.deepEqual([...dave.sessions.keys()], [d2.jid]);
  assert.equal(ghosts, 0);

  const gone = alice.next(unavailable333(`${room}/Dave`));
  await d2.send(xml('presence', { to: room, type: 'error' }, xml('error', { type: 'cancel' }, xml('gone', { xmlns: STANZAS }))));
  const presence = await gone;
  assert.equal(presence.getChildText('status'), 'Kicked: gone');
  assert.ok(!r.occupants.has('Dave'));
  assert.equal(ghosts, 1);
  off();
  await Promise.all([alice.stop(), d1.stop(), d2.stop()]);
});

test('self-ping (XEP-0410): result while joined, not-acceptable when not, item-not-found for a missing nick', async () => {
  const room = 'ping1@conference.localhost';
  const alice = await t.login('alice');
  const bob = await t.login('bob');
  const carol = await t.login('carol');
  await joinInstant(alice, `${room}/Alice`);
  await join(bob, `${room}/Bob`);
  const ping = (c: TestClient, to: string) => c.iq(xml('iq', { type: 'get', to }, xml('ping', { xmlns: PING })));

  assert.ok(featuresOf(await discoInfo(alice, room)).includes('http://jabber.org/protocol/muc#self-ping-optimization'));

  const res = await ping(bob, `${room}/Bob`);
  assert.equal(res.attrs.type, 'result');
  assert.equal(res.attrs.from, `${room}/Bob`);
  assert.equal(await condition(ping(carol, `${room}/Bob`)), 'not-acceptable');
  assert.equal(await condition(ping(carol, `${room}/Nobody`)), 'not-acceptable');
  // Another occupant's nick: an ordinary ping, passed on to alice's client, which answers it (issue 10 item 14).
  const relayed = await ping(bob, `${room}/Alice`);
  assert.equal(relayed.attrs.type, 'result');
  assert.equal(relayed.attrs.from, `${room}/Alice`);
  assert.equal(await condition(ping(bob, `${room}/Nobody`)), 'item-not-found');
  // Another resource of Bob that is not joined is not in the room.
  const bob2 = await t.login('bob', { resource: 'other' });
  assert.equal(await condition(ping(bob2, `${room}/Bob`)), 'not-acceptable');
  // The room itself answers pings.
  assert.equal((await ping(carol, room)).attrs.type, 'result');
  // After leaving, the ping says "not joined".
  await bob.send(xml('presence', { to: `${room}/Bob`, type: 'unavailable' }));
  await sleep(100);
  assert.equal(await condition(ping(bob, `${room}/Bob`)), 'not-acceptable');
  await Promise.all([alice.stop(), bob.stop(), bob2.stop(), carol.stop()]);
});
