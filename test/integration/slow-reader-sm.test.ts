import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '../../src/xml/element.ts';
import { startWithUsers, type TestServer } from '../helpers/server.ts';
import { joinRaw, RoomFlood, seesLeave } from '../helpers/flood.ts';
import { is, isIq, NS, RawTcp, RawWs } from '../helpers/raw.ts';

// Issue 12 item 1: what happens to a client that stops reading when it uses stream management,
// and the send timeout.

const ROOM = 'busy@conference.localhost';
const BODY = 'y'.repeat(16000);
const MAX_ROUNDS = 200;

/** Three readers over TCP, in the room. */
async function readers(t: TestServer): Promise<RawTcp[]> {
  const senders: RawTcp[] = [];
  for (let i = 0; i < 3; i++) {
    const c = await RawTcp.login(t.server.ports.c2s, `s${i}`);
    await joinRaw(c, ROOM, `s${i}`);
    senders.push(c);
  }
  return senders;
}

/** Counts the readers that saw the slow client leave the room. */
function leaves(senders: RawTcp[]): () => number {
  let left = 0;
  for (const c of senders) void seesLeave(c, ROOM, 'slow', 60_000).then((saw) => saw && left++);
  return () => left;
}

/** Three readers and one TCP client that will stop reading, all in the room. */
async function busyRoom(t: TestServer, opts: { sm: boolean }) {
  const senders = await readers(t);
  const slow = await RawTcp.login(t.server.ports.c2s, 'slow');
  let smId = '';
  if (opts.sm) {
    slow.send(`<enable xmlns='${NS.SM}' resume='true'/>`);
    smId = (await slow.next(is('enabled', NS.SM))).attrs.id as string;
  }
  await joinRaw(slow, ROOM, 'slow');
  for (const c of senders) await c.next((el) => el.name === 'presence' && el.attrs.from === `${ROOM}/slow`, 5000, 'the slow join');
  slow.socket.pause();
  return { senders, slow, smId, flood: new RoomFlood(ROOM, senders, BODY), left: leaves(senders) };
}

const users = ['s0', 's1', 's2', 'slow'];
const fast = { rateBytesPerSecond: 4194304, rateBurstBytes: 4194304 };
const room = { unlockedByDefault: true, defaultRoomConfig: { historyLength: 0 } };
const isGroupchat = (el: Element) => el.name === 'message' && el.attrs.type === 'groupchat' && el.getChild('body') !== undefined;

test('a resumable session that stops reading is hibernated, stays in the room, and a resume gets every message', { timeout: 120_000 }, async () => {
  const t = await startWithUsers(users, {
    muc: room,
    limits: { ...fast, maxPendingOutputBytes: 262144 },
    streamManagement: { maxQueue: 100_000, maxQueueBytes: 64 * 1024 * 1024 },
  });
  try {
    const { slow, smId, flood, left, senders } = await busyRoom(t, { sm: true });
    const session = t.server.ctx.sessions.get((slow as RawTcp & { jid: string }).jid)!;
    while (flood.rounds < MAX_ROUNDS && session.state === 'active') await flood.round();
    assert.equal(session.state, 'hibernated', `hibernated after ${flood.rounds} rounds`);
    // A few more while hibernated: they are queued for the resume.
    for (let i = 0; i < 5; i++) await flood.round();
    assert.equal(left(), 0, 'a hibernated occupant has not left the room');
    assert.ok(flood.complete());
    slow.destroy();

    const again = await RawTcp.connect(t.server.ports.c2s);
    await again.authenticate('slow', 'secret');
    again.send(`<resume xmlns='${NS.SM}' previd='${smId}' h='0'/>`);
    await again.next(is('resumed', NS.SM));
    // The resend is far over the high-water mark: it is what the client asked for, and is sent.
    const ids = new Set<string>();
    while (ids.size < flood.rounds * senders.length) ids.add((await again.next(isGroupchat, 10_000, 'a resent room message')).attrs.id as string);
    assert.equal(session.state, 'active');
    again.destroy();
    for (const c of senders) c.destroy();
  } finally {
    await t.stop();
  }
});

test('the unacknowledged queue is bounded in bytes: over streamManagement.maxQueueBytes the session is closed', { timeout: 120_000 }, async () => {
  // 1 MiB of queue is reached long before 1000 stanzas or the (default) output high-water mark.
  const t = await startWithUsers(users, { muc: room, limits: fast, streamManagement: { maxQueueBytes: 1048576 } });
  try {
    const { flood, left, senders, slow } = await busyRoom(t, { sm: true });
    while (flood.rounds < 60 && left() < senders.length) await flood.round();
    assert.equal(left(), senders.length, `the slow session left the room after ${flood.rounds} rounds (${flood.rounds * senders.length} stanzas)`);
    assert.ok(flood.complete());
    for (const c of [...senders, slow]) c.destroy();
  } finally {
    await t.stop();
  }
});

test('send timeout: output that has not drained for limits.sendTimeoutSeconds drops the client', { timeout: 120_000 }, async () => {
  // The high-water mark is out of reach: only the timeout can drop the client.
  const t = await startWithUsers(users, { muc: room, limits: { ...fast, maxPendingOutputBytes: 64 * 1024 * 1024, sendTimeoutSeconds: 1 } });
  try {
    const { flood, left, senders, slow } = await busyRoom(t, { sm: false });
    // Enough to fill the kernel's buffers (a few MiB), far from 64 MiB.
    while (flood.rounds < MAX_ROUNDS && left() < senders.length) await flood.round();
    for (let i = 0; i < 100 && left() < senders.length; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(left(), senders.length, `the slow client left the room (after ${flood.rounds} rounds)`);
    assert.ok(flood.complete());
    for (const c of [...senders, slow]) c.destroy();
  } finally {
    await t.stop();
  }
});

test('over WebSocket too: a client that stops reading is dropped at the high-water mark', { timeout: 120_000 }, async () => {
  const t = await startWithUsers(users, { muc: room, limits: { ...fast, maxPendingOutputBytes: 262144 } });
  try {
    const senders = await readers(t);
    const slow = await RawWs.connect(`ws://127.0.0.1:${t.server.ports.http}/xmpp-websocket`);
    slow.open();
    await slow.next(is('stream:features'));
    assert.equal((await slow.plain('slow', 'secret')).name, 'success');
    slow.open();
    await slow.next(is('stream:features'));
    slow.send(`<iq type='set' id='b1' xmlns='jabber:client'><bind xmlns='${NS.BIND}'/></iq>`);
    await slow.next(isIq('b1'));
    slow.send(`<presence to='${ROOM}/slow' xmlns='jabber:client'><x xmlns='http://jabber.org/protocol/muc'/></presence>`);
    await slow.next((el) => el.name === 'presence' && el.attrs.from === `${ROOM}/slow`);
    for (const c of senders) await c.next((el) => el.name === 'presence' && el.attrs.from === `${ROOM}/slow`, 5000, 'the slow join');
    slow.ws.pause();
    const left = leaves(senders);
    const flood = new RoomFlood(ROOM, senders, BODY);
    while (flood.rounds < MAX_ROUNDS && left() < senders.length) await flood.round();
    assert.equal(left(), senders.length, `the slow client left the room (after ${flood.rounds} rounds)`);
    assert.ok(flood.complete());
    for (const c of senders) c.destroy();
    slow.ws.terminate();
  } finally {
    await t.stop();
  }
});
