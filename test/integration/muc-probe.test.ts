import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import { xml, type TestClient, type TestServer } from '../helpers/server.ts';
import { aliceAndBobIn, MUC_DOMAIN, MUC_USER, statusCodes } from '../helpers/muc.ts';
import { errorOf } from '../helpers/stanza.ts';

// Issue 10 item 5: presence probes to the room and to occupant JIDs (XEP-0045 17.3).

const ROOM = `probes@${MUC_DOMAIN}`;

let t: TestServer;
let alice: TestClient;
let bob: TestClient;

before(async () => {
  ({ t, alice, bob } = await aliceAndBobIn(ROOM));
  const away = alice.next((el) => el.is('presence') && el.attrs.from === `${ROOM}/Bob` && el.getChildText('show') === 'away');
  await bob.send(xml('presence', { to: `${ROOM}/Bob` }, xml('show', {}, 'away'), xml('status', {}, 'lunch')));
  await away;
});
after(() => t.stop());

/** Sends a probe and resolves with the first presence from `from` that answers it. */
async function probe(c: TestClient, to: string, from = to): Promise<Element> {
  const answer = c.next((el) => el.is('presence') && el.attrs.from === from);
  await c.send(xml('presence', { to, type: 'probe' }));
  return answer;
}

const item = (el: Element) => el.getChild('x', MUC_USER)?.getChild('item');

test('an occupant probing another occupant gets its current presence as the room shows it', async () => {
  const seenByAlice = await probe(alice, `${ROOM}/Bob`);
  assert.equal(seenByAlice.attrs.type, undefined);
  assert.equal(seenByAlice.getChildText('show'), 'away');
  assert.equal(seenByAlice.getChildText('status'), 'lunch');
  assert.equal(item(seenByAlice)?.attrs.role, 'participant');
  assert.equal(item(seenByAlice)?.attrs.jid, bob.jid, 'a moderator sees the real JID');
  assert.deepEqual(statusCodes(seenByAlice), []);

  const seenByBob = await probe(bob, `${ROOM}/Alice`);
  assert.equal(item(seenByBob)?.attrs.affiliation, 'owner');
  assert.equal(item(seenByBob)?.attrs.role, 'moderator');
  assert.equal(item(seenByBob)?.attrs.jid, undefined, 'a participant does not see real JIDs here');
});

test('a probe of the room or of one’s own nick gets the own presence (110); a missing nick is unavailable', async () => {
  for (const to of [ROOM, `${ROOM}/Bob`]) {
    const own = await probe(bob, to, `${ROOM}/Bob`);
    assert.equal(own.attrs.type, undefined, to);
    assert.deepEqual(statusCodes(own), [110], to);
    assert.equal(item(own)?.attrs.jid, bob.jid, to);
  }
  const gone = await probe(bob, `${ROOM}/Nobody`);
  assert.equal(gone.attrs.type, 'unavailable');
});

test('a non-occupant’s probe is refused and joins nobody; an occupant’s probe leaves nobody', async () => {
  const carol = await t.login('carol');
  const refused = carol.next((el) => el.is('presence') && el.attrs.type === 'error');
  await carol.send(xml('presence', { to: `${ROOM}/Carol`, type: 'probe' }));
  const error = await refused;
  assert.equal(errorOf(error).condition, 'not-acceptable');
  assert.equal(error.getChild('error')!.attrs.by, ROOM);
  assert.equal((await probe(alice, `${ROOM}/Carol`)).attrs.type, 'unavailable', 'carol did not join');
  assert.equal((await probe(alice, `${ROOM}/Bob`)).attrs.type, undefined, 'bob’s probes did not take him out');
  assert.ok(!alice.received.some((el) => el.is('presence') && el.attrs.from === `${ROOM}/Carol` && el.attrs.type !== 'unavailable'));
  await carol.stop();
});
