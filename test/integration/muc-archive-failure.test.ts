import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join as joinPath } from 'node:path';
import type { Element } from '@xmpp/xml';
import { startWithUsers, sleep, xml, type TestClient, type TestServer } from '../helpers/server.ts';
import { configure, groupchat, join, joinInstant, MAM, say } from '../helpers/muc.ts';
import { errorOf, rawIq } from '../helpers/stanza.ts';
import { fillDisk, mountSmallDisk, type SmallDisk } from '../helpers/disk.ts';

const ROOM = 'full@conference.localhost';
const FORWARD = 'urn:xmpp:forward:0';

/** Sends a groupchat message; resolves with its echo or its error, whichever comes. */
async function attempt(c: TestClient, body: string): Promise<Element> {
  const msg = groupchat(ROOM, body);
  msg.attrs.id = body;
  const outcome = c.next((el) => el.is('message') && (el.attrs.id === body || el.getChildText('body') === body));
  await c.send(msg);
  return outcome;
}

/** Every body in the room's archive, oldest first. */
async function archivedBodies(c: TestClient): Promise<string[]> {
  const start = c.received.length;
  await rawIq(c, xml('iq', { type: 'set', to: ROOM }, xml('query', { xmlns: MAM, queryid: 'all' }, xml('set', { xmlns: 'http://jabber.org/protocol/rsm' }, xml('max', {}, '100')))));
  return c.received
    .slice(start)
    .filter((el) => el.is('message') && el.getChild('result', MAM)?.attrs.queryid === 'all')
    .map((el) => el.getChild('result', MAM)!.getChild('forwarded', FORWARD)!.getChild('message')!.getChildText('body')!);
}

// Issue 12 item 8: an echo carries a stanza-id, a promise that history has the message.
describe('a room message whose archive write fails (20 MB tmpfs)', () => {
  let disk: SmallDisk | undefined;
  let t: TestServer | undefined;

  before(async () => {
    disk = await mountSmallDisk();
    if (!disk.skip) t = await startWithUsers(['alice', 'bob'], { dataDir: joinPath(disk.path, 'data') });
  });
  after(async () => {
    // Stops the clients too (a logged-in @xmpp/client would keep reconnecting).
    await t?.stop().catch(() => {});
    await disk?.unmount();
  });

  test('is refused to its sender with wait/resource-constraint and reaches no occupant; echoed messages are all in the archive after a restart', async (ctx) => {
    if (disk!.skip) return ctx.skip(disk!.skip);
    const server = t!;
    let alice = await server.login('alice');
    const bob = await server.login('bob');
    await joinInstant(alice, `${ROOM}/Alice`);
    await configure(alice, ROOM, { 'muc#roomconfig_persistentroom': '1' });
    await join(bob, `${ROOM}/Bob`);
    await say(alice, ROOM, 'before');

    const filler = await fillDisk(disk!.path);
    const echoed: string[] = [];
    let refused: Element | undefined;
    for (let i = 0; i < 200 && !refused; i++) {
      const outcome = await attempt(alice, `full${i}`);
      if (outcome.attrs.type === 'error') refused = outcome;
      else echoed.push(`full${i}`);
    }
    assert.ok(refused, 'a message is refused once the disk is full');
    assert.deepEqual(errorOf(refused), { type: 'wait', condition: 'resource-constraint' });
    assert.equal(refused.attrs.from, ROOM);
    const refusedBody = refused.attrs.id as string;
    await sleep(300);
    assert.ok(!bob.received.some((el) => el.getChildText('body') === refusedBody), 'the other occupant never gets the refused message');
    assert.ok(!alice.received.some((el) => el.attrs.type === 'groupchat' && el.getChildText('body') === refusedBody), 'no echo of the refused message');

    await rm(filler);
    const deadline = Date.now() + 20_000;
    while (!server.server.ctx.store.writable && Date.now() < deadline) await sleep(100);
    assert.ok(server.server.ctx.store.writable, 'the store recovers once space is free');
    await say(alice, ROOM, 'after');

    await server.restart();
    alice = await server.login('alice');
    await join(alice, `${ROOM}/Alice`);
    const bodies = await archivedBodies(alice);
    assert.deepEqual(bodies, ['before', ...echoed, 'after'], 'every echoed message is in the archive, the refused one is not');
  });
});
