import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startChildServer, type ChildServer } from '../helpers/child-server.ts';
import { joinRaw, RoomFlood, seesLeave } from '../helpers/flood.ts';
import { NS, RawTcp } from '../helpers/raw.ts';

// Issue 12 item 1: a client that stops reading in a busy room must not grow the server's memory.

const ROOM = 'busy@conference.localhost';
/** The slow client must be dropped well before this many rounds (5 messages of 8 KB each). */
const MAX_ROUNDS = 400;

async function member(s: ChildServer, name: string): Promise<RawTcp> {
  const r = await RawTcp.connect(s.ports.c2s);
  await r.openAndFeatures();
  const reg = await r.iq(`<iq type='set' id='reg'><query xmlns='${NS.REGISTER}'><username>${name}</username><password>pw</password></query></iq>`, 'reg');
  assert.equal(reg.attrs.type, 'result', reg.toString());
  r.destroy();
  const c = await RawTcp.login(s.ports.c2s, name, 'pw');
  await joinRaw(c, ROOM, name);
  return c;
}

test('a client that stops reading is dropped at the output high-water mark; the room goes on and memory stays bounded', { timeout: 120_000 }, async (t) => {
  // A child process, so its RSS is the server's alone.
  const s = await startChildServer({
    muc: { unlockedByDefault: true, defaultRoomConfig: { historyLength: 0 } },
    // The senders stay well under their input rate; the high-water mark is small so the test is quick.
    limits: { maxPendingOutputBytes: 262144, rateBytesPerSecond: 4194304, rateBurstBytes: 4194304 },
  });
  try {
    const senders: RawTcp[] = [];
    for (let i = 0; i < 5; i++) senders.push(await member(s, `s${i}`));
    const slow = await member(s, 'slow');
    // Each sender sees the slow client's join before the flood, so counts start clean.
    for (const c of senders) await c.next((el) => el.name === 'presence' && el.attrs.from === `${ROOM}/slow`, 5000, 'the slow join');
    slow.socket.pause();
    const baseline = await s.rss();
    let peak = baseline;
    let gone = 0;
    const left = senders.map((c) => seesLeave(c, ROOM, 'slow').then((saw) => saw && gone++));
    const flood = new RoomFlood(ROOM, senders, 'x'.repeat(8000));
    // Rounds until every sender saw the slow client leave, then 10 more.
    let after = 10;
    while (flood.rounds < MAX_ROUNDS && (gone < senders.length || after-- > 0)) {
      await flood.round();
      if (flood.rounds % 20 === 0) peak = Math.max(peak, await s.rss());
    }
    peak = Math.max(peak, await s.rss());
    t.diagnostic(`${flood.rounds} rounds; server RSS ${(baseline / 1048576).toFixed(1)} MiB before the flood, peak ${(peak / 1048576).toFixed(1)} MiB`);
    assert.equal(gone, senders.length, `every occupant saw the slow client leave (after ${flood.rounds} rounds)`);
    assert.ok(flood.rounds < MAX_ROUNDS, 'the slow client was dropped before the flood ended');
    await Promise.all(left);
    assert.ok(flood.complete(), 'every other occupant received every message');
    assert.equal(s.exitCode(), null);
    // A loose bound: RSS also grows with the heap the traffic itself needs (about 20 MiB here). The
    // check that matters is the drop above; without it the server queued ~16 MiB for the slow
    // client over MAX_ROUNDS and kept growing.
    assert.ok(peak - baseline < 48 * 1024 * 1024, `server RSS grew by ${((peak - baseline) / 1048576).toFixed(1)} MiB`);
    const dropped = await s.waitLog((l) => l['msg'] === 'client not reading its output: dropping the connection');
    assert.match(String(dropped['reason']), /bytes of output are waiting/);
    for (const c of senders) c.destroy();
    slow.destroy();
  } finally {
    await s.stop();
  }
});
