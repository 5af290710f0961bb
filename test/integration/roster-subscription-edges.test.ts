import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import { startWithUsers, xml, type TestClient, type TestServer } from '../helpers/server.ts';

// Issue 10 item 12: presence at the edges of a subscription (RFC 6121 2.5.2, 3.1.5, 3.2.2, 3.3.3).

const ROSTER = 'jabber:iq:roster';

let t: TestServer;
before(async () => {
  t = await startWithUsers(['alice', 'bob', 'carol']);
});
after(() => t.stop());

const rosterGet = (c: TestClient) => c.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER })));
const removeItem = (c: TestClient, jid: string) => c.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: ROSTER }, xml('item', { jid, subscription: 'remove' }))));
const isPresence = (from: string, type?: string) => (el: Element) => el.is('presence') && el.attrs.from === from && el.attrs.type === type;

async function online(name: string, resource: string): Promise<TestClient> {
  const c = await t.login(name, { resource });
  await rosterGet(c);
  const self = c.next(isPresence(c.jid));
  await c.send(xml('presence', {}, xml('status', {}, `${resource} here`)));
  await self;
  return c;
}

/** `from` asks `to` (online) for a subscription and `to` approves it; resolves when `from` has the approval. */
async function subscribe(from: TestClient, to: TestClient): Promise<void> {
  const toBare = to.jid.split('/')[0]!;
  const request = to.next((el) => el.is('presence') && el.attrs.type === 'subscribe');
  await from.send(xml('presence', { to: toBare, type: 'subscribe' }));
  await request;
  const approved = from.next(isPresence(toBare, 'subscribed'));
  await to.send(xml('presence', { to: from.jid.split('/')[0]!, type: 'subscribed' }));
  await approved;
}

/** Where in `c.received` the first stanza matching each predicate is (-1 when none). */
const positions = (c: TestClient, ...matches: ((el: Element) => boolean)[]) => matches.map((m) => c.received.findIndex(m));

test('approving sends the current presence of every available resource; removing the subscriber cancels, then says unavailable from each', async () => {
  const alice = await online('alice', 'desk');
  const bob1 = await online('bob', 'one');
  const bob2 = await online('bob', 'two');

  // 3.1.5: after the approval, the presence of each of bob's available resources.
  const seen = [alice.next(isPresence(bob1.jid)), alice.next(isPresence(bob2.jid))];
  await subscribe(alice, bob1);
  const [p1, p2] = await Promise.all(seen);
  assert.equal(p1!.getChildText('status'), 'one here');
  assert.equal(p2!.getChildText('status'), 'two here');
  const [approval, first] = positions(alice, isPresence('bob@localhost', 'subscribed'), isPresence(bob1.jid));
  assert.ok(approval! < first!, 'the approval comes before the presence it allows');

  // 2.5.2 with 3.2.2: bob removes alice, who could see his presence: the cancellation, then unavailable from each resource.
  const gone = [alice.next(isPresence('bob@localhost', 'unsubscribed')), alice.next(isPresence(bob1.jid, 'unavailable')), alice.next(isPresence(bob2.jid, 'unavailable'))];
  await removeItem(bob1, 'alice@localhost');
  await Promise.all(gone);
  const [cancelled, u1, u2] = positions(alice, isPresence('bob@localhost', 'unsubscribed'), isPresence(bob1.jid, 'unavailable'), isPresence(bob2.jid, 'unavailable'));
  assert.ok(cancelled! < u1! && cancelled! < u2!, 'unavailable follows the cancellation');
  await Promise.all([alice.stop(), bob1.stop(), bob2.stop()]);
});

test('removing a mutual contact: unsubscribe, then unsubscribed, then unavailable; the remover hears the contact go too', async () => {
  const alice = await online('alice', 'laptop');
  const carol = await online('carol', 'phone');
  await subscribe(alice, carol);
  await subscribe(carol, alice);

  const cancelled = [carol.next(isPresence('alice@localhost', 'unsubscribe')), carol.next(isPresence('alice@localhost', 'unsubscribed'))];
  const aliceGone = carol.next(isPresence(alice.jid, 'unavailable'));
  const carolGone = alice.next(isPresence(carol.jid, 'unavailable'));
  await removeItem(alice, 'carol@localhost');
  await Promise.all([...cancelled, aliceGone, carolGone]);
  const [unsubscribe, unsubscribed, unavailable] = positions(
    carol,
    isPresence('alice@localhost', 'unsubscribe'),
    isPresence('alice@localhost', 'unsubscribed'),
    isPresence(alice.jid, 'unavailable'),
  );
  assert.ok(unsubscribe! >= 0 && unsubscribe! < unsubscribed! && unsubscribed! < unavailable!, `order ${unsubscribe} ${unsubscribed} ${unavailable}`);
  await Promise.all([alice.stop(), carol.stop()]);
});
