import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import { sleep, startWithUsers, xml, type TestClient, type TestServer } from '../helpers/server.ts';
import { killSocket } from '../helpers/session.ts';
import { condition } from '../helpers/stanza.ts';

const ROSTER = 'jabber:iq:roster';

let t: TestServer;
before(async () => {
  // A dropped connection hibernates (the test client enables resumption): keep that short.
  t = await startWithUsers(['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina', 'hank', 'ivan', 'judy', 'kate', 'liam', 'mia', 'ned'], { streamManagement: { resumeTimeoutSeconds: 1 } });
});
after(() => t.stop());

const bare = (jid: string) => jid.split('/')[0]!;
const rosterGet = (c: TestClient) => c.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER })));
const rosterSet = (c: TestClient, ...items: Element[]) => c.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: ROSTER }, ...items)));
const items = (iq: Element) => iq.getChild('query', ROSTER)!.getChildren('item');
const isPush = (jid: string) => (el: Element) => el.is('iq') && el.attrs.type === 'set' && el.getChild('query', ROSTER)?.getChild('item')?.attrs.jid === jid;
const isPresence = (from: string, type?: string) => (el: Element) => el.is('presence') && el.attrs.from === from && el.attrs.type === type;

/** Logs a user in, fetches the roster and sends initial presence, like a real client. */
async function online(name: string, resource?: string, status?: string): Promise<TestClient> {
  const c = await t.login(name, resource ? { resource } : {});
  await rosterGet(c);
  const self = c.next(isPresence(c.jid));
  await c.send(xml('presence', {}, ...(status ? [xml('status', {}, status)] : [])));
  await self;
  return c;
}

/** Runs the full handshake both ways between two online clients, ending in 'both'. */
async function befriend(a: TestClient, b: TestClient): Promise<void> {
  const aBare = bare(a.jid);
  const bBare = bare(b.jid);
  for (const [x, y, xBare, yBare] of [
    [a, b, aBare, bBare],
    [b, a, bBare, aBare],
  ] as const) {
    const req = y.next((el) => el.is('presence') && el.attrs.type === 'subscribe' && el.attrs.from === xBare);
    await x.send(xml('presence', { to: yBare, type: 'subscribe' }));
    await req;
    const approved = x.next((el) => el.is('presence') && el.attrs.type === 'subscribed' && el.attrs.from === yBare);
    await y.send(xml('presence', { to: xBare, type: 'subscribed' }));
    await approved;
  }
}

test('roster get, set, update and remove, with pushes to every resource that asked', async () => {
  const one = await t.login('alice', { resource: 'one' });
  const two = await t.login('alice', { resource: 'two' });
  assert.deepEqual(items(await rosterGet(one)), []);
  await rosterGet(two);

  const pushes = [one.next(isPush('zed@localhost')), two.next(isPush('zed@localhost'))];
  await rosterSet(one, xml('item', { jid: 'Zed@LocalHost', name: 'Zed' }, xml('group', {}, 'Friends'), xml('group', {}, 'Work')));
  for (const push of await Promise.all(pushes)) {
    assert.equal(push.attrs.from, 'alice@localhost');
    const item = push.getChild('query')!.getChild('item')!;
    assert.equal(item.attrs.name, 'Zed');
    assert.equal(item.attrs.subscription, 'none');
    assert.deepEqual(item.getChildren('group').map((g) => g.text()), ['Friends', 'Work']);
  }
  let list = items(await rosterGet(two));
  assert.equal(list.length, 1);
  assert.equal(list[0]!.attrs.jid, 'zed@localhost');

  // An update replaces name and groups; a subscription value other than remove is ignored.
  const update = two.next(isPush('zed@localhost'));
  await rosterSet(two, xml('item', { jid: 'zed@localhost', name: 'Zedd', subscription: 'both' }));
  const updated = (await update).getChild('query')!.getChild('item')!;
  assert.equal(updated.attrs.name, 'Zedd');
  assert.equal(updated.attrs.subscription, 'none');
  assert.equal(updated.getChildren('group').length, 0);

  const removes = [one.next(isPush('zed@localhost')), two.next(isPush('zed@localhost'))];
  await rosterSet(one, xml('item', { jid: 'zed@localhost', subscription: 'remove' }));
  for (const push of await Promise.all(removes)) assert.equal(push.getChild('query')!.getChild('item')!.attrs.subscription, 'remove');
  list = items(await rosterGet(one));
  assert.equal(list.length, 0);

  // Addressed to the own bare JID explicitly, as some clients do.
  const viaBare = await one.iq(xml('iq', { type: 'get', to: 'alice@localhost' }, xml('query', { xmlns: ROSTER })));
  assert.equal(items(viaBare).length, 0);
  await one.stop();
  await two.stop();
});

test('roster set validation', async () => {
  const c = await t.login('alice');
  assert.equal(await condition(rosterSet(c, xml('item', { jid: 'x@localhost' }), xml('item', { jid: 'y@localhost' }))), 'bad-request');
  assert.equal(await condition(rosterSet(c, xml('item', { jid: 'x@localhost', name: 'n'.repeat(2000) }))), 'not-acceptable');
  assert.equal(await condition(rosterSet(c, xml('item', { jid: 'x@localhost' }, xml('group', {}, '')))), 'not-acceptable');
  assert.equal(await condition(rosterSet(c, xml('item', { jid: 'x@localhost' }, xml('group', {}, 'a'), xml('group', {}, 'a')))), 'bad-request');
  assert.equal(await condition(rosterSet(c, xml('item', { jid: 'a@b@localhost' }))), 'jid-malformed');
  assert.equal(await condition(rosterSet(c, xml('item', {}))), 'bad-request');
  assert.equal(await condition(rosterSet(c, xml('item', { jid: 'x@localhost/res' }))), 'bad-request');
  assert.equal(await condition(rosterSet(c, xml('item', { jid: 'alice@localhost' }))), 'not-allowed');
  assert.equal(await condition(rosterSet(c, xml('item', { jid: 'nobody@localhost', subscription: 'remove' }))), 'item-not-found');
  assert.equal(await condition(rosterSet(c)), 'bad-request');
  await c.stop();
});

test('only the account itself may read or change its roster', async () => {
  const c = await t.login('alice');
  const get = c.iq(xml('iq', { type: 'get', to: 'bob@localhost' }, xml('query', { xmlns: ROSTER })));
  assert.equal(await condition(get), 'forbidden');
  const set = c.iq(xml('iq', { type: 'set', to: 'bob@localhost' }, xml('query', { xmlns: ROSTER }, xml('item', { jid: 'x@localhost' }))));
  assert.equal(await condition(set), 'forbidden');
  await c.stop();
});

test('subscription handshake ends in both, with pushes and presence flowing both ways', async () => {
  const a = await online('bob', 'pc', 'bob here');
  const b = await online('carol', 'phone', 'carol here');

  // bob asks: his item becomes none + pending out, carol is asked.
  const askPush = a.next(isPush('carol@localhost'));
  const request = b.next((el) => el.is('presence') && el.attrs.type === 'subscribe');
  await a.send(xml('presence', { to: 'carol@localhost', type: 'subscribe' }));
  const pending = (await askPush).getChild('query')!.getChild('item')!;
  assert.equal(pending.attrs.subscription, 'none');
  assert.equal(pending.attrs.ask, 'subscribe');
  assert.equal((await request).attrs.from, 'bob@localhost');

  // carol approves: she gets 'from', bob gets 'to' and carol's presence.
  const carolPush = b.next(isPush('bob@localhost'));
  const bobPush = a.next(isPush('carol@localhost'));
  const carolPresence = a.next(isPresence(b.jid));
  await b.send(xml('presence', { to: 'bob@localhost', type: 'subscribed' }));
  assert.equal((await carolPush).getChild('query')!.getChild('item')!.attrs.subscription, 'from');
  const toItem = (await bobPush).getChild('query')!.getChild('item')!;
  assert.equal(toItem.attrs.subscription, 'to');
  assert.equal(toItem.attrs.ask, undefined);
  assert.equal((await carolPresence).getChildText('status'), 'carol here');

  // The other direction.
  const bothA = a.next((el) => isPush('carol@localhost')(el) && el.getChild('query')!.getChild('item')!.attrs.subscription === 'both');
  const bothB = b.next((el) => isPush('bob@localhost')(el) && el.getChild('query')!.getChild('item')!.attrs.subscription === 'both');
  const bobPresence = b.next(isPresence(a.jid));
  const request2 = a.next((el) => el.is('presence') && el.attrs.type === 'subscribe' && el.attrs.from === 'carol@localhost');
  await b.send(xml('presence', { to: 'bob@localhost', type: 'subscribe' }));
  await request2;
  await a.send(xml('presence', { to: 'carol@localhost', type: 'subscribed' }));
  await Promise.all([bothA, bothB]);
  assert.equal((await bobPresence).getChildText('status'), 'bob here');

  // Presence updates now reach the other side both ways.
  const seenByCarol = b.next((el) => isPresence(a.jid)(el) && el.getChildText('show') === 'away');
  await a.send(xml('presence', {}, xml('show', {}, 'away')));
  await seenByCarol;
  const seenByBob = a.next((el) => isPresence(b.jid)(el) && el.getChildText('show') === 'dnd');
  await b.send(xml('presence', {}, xml('show', {}, 'dnd')));
  await seenByBob;

  const [ra, rb] = await Promise.all([rosterGet(a), rosterGet(b)]);
  assert.equal(items(ra).find((i) => i.attrs.jid === 'carol@localhost')?.attrs.subscription, 'both');
  assert.equal(items(rb).find((i) => i.attrs.jid === 'bob@localhost')?.attrs.subscription, 'both');

  // A clean logout: carol sees bob go.
  const gone = b.next(isPresence(a.jid, 'unavailable'));
  await a.stop();
  await gone;
  await b.stop();
});

test('initial presence probes contacts and sees their current presence; other resources see each other', async () => {
  const d = await online('dave', 'desk', 'dave at desk');
  let e = await online('erin', 'laptop');
  await befriend(d, e);
  await e.stop();
  await sleep(50);

  e = await t.login('erin', { resource: 'tablet' });
  const second = await t.login('erin', { resource: 'phone' });
  await rosterGet(e);
  const daves = e.next(isPresence(d.jid));
  const erinSeen = d.next(isPresence(e.jid));
  await e.send(xml('presence'));
  const p = await daves;
  assert.equal(p.getChildText('status'), 'dave at desk');
  assert.equal(p.attrs.to, e.jid);
  assert.ok(p.getChild('delay', 'urn:xmpp:delay'), 'the stored presence carries its delay stamp');
  await erinSeen;

  // The second resource's initial presence: the first sees it, and it learns about the first.
  const firstSeesSecond = e.next(isPresence(second.jid));
  const secondSeesFirst = second.next(isPresence(e.jid));
  const secondSeesDave = second.next(isPresence(d.jid));
  await second.send(xml('presence', {}, xml('priority', {}, '5')));
  await Promise.all([firstSeesSecond, secondSeesFirst, secondSeesDave]);
  assert.equal(t.server.ctx.sessions.get(second.jid)?.priority, 5);

  // Going unavailable without closing: contacts and own resources are told.
  const daveSeesUnavailable = d.next(isPresence(second.jid, 'unavailable'));
  const firstSeesUnavailable = e.next(isPresence(second.jid, 'unavailable'));
  await second.send(xml('presence', { type: 'unavailable' }));
  await Promise.all([daveSeesUnavailable, firstSeesUnavailable]);
  await Promise.all([d.stop(), e.stop(), second.stop()]);
});

test('a contact that is offline answers a probe with unavailable', async () => {
  const f = await online('frank');
  const g = await online('gina');
  await befriend(f, g);
  await g.stop();
  await sleep(50);
  await f.stop();
  const again = await t.login('frank');
  await rosterGet(again);
  const unavailable = again.next(isPresence('gina@localhost', 'unavailable'));
  await again.send(xml('presence'));
  await unavailable;
  await again.stop();
});

test('unavailable is broadcast when the socket dies (after the resumption window)', async () => {
  const h = await online('hank');
  const i = await online('ivan');
  await befriend(h, i);
  const gone = i.next(isPresence(h.jid, 'unavailable'), 5000);
  // The connection drops without a stream close, as a lost network does.
  h.xmpp.reconnect.stop();
  killSocket(h);
  const p = await gone;
  assert.match(p.getChildText('status') ?? '', /Disconnected/);
  await i.stop();
});

test('unavailable is broadcast at once when a socket without resumption dies', async () => {
  const j = await online('judy');
  const k = await online('kate');
  await befriend(j, k);
  // Turn resumption off server-side for this session: the drop closes it immediately.
  const session = t.server.ctx.sessions.get(j.jid)!;
  if (session.sm) session.sm.id = null;
  const gone = k.next(isPresence(j.jid, 'unavailable'), 800);
  j.xmpp.reconnect.stop();
  killSocket(j);
  await gone;
  await k.stop();
});

test('directed presence to a non-contact gets unavailable when the session ends', async () => {
  const l = await t.login('liam');
  const m = await online('mia', 'desk');
  // No broadcast presence at all from liam: directed presence only, as a client joining a room.
  const arrives = m.next(isPresence(l.jid));
  await l.send(xml('presence', { to: m.jid }, xml('status', {}, 'just for you')));
  assert.equal((await arrives).getChildText('status'), 'just for you');
  assert.ok(t.server.ctx.sessions.get(l.jid)!.directedPresence.has(m.jid));
  const left = m.next(isPresence(l.jid, 'unavailable'));
  await l.stop();
  await left;

  // Directed unavailable forgets the JID: no second unavailable at close.
  const l2 = await online('liam', 'again');
  await l2.send(xml('presence', { to: m.jid }));
  await m.next(isPresence(l2.jid));
  const first = m.next(isPresence(l2.jid, 'unavailable'));
  await l2.send(xml('presence', { to: m.jid, type: 'unavailable' }));
  await first;
  assert.equal(t.server.ctx.sessions.get(l2.jid)!.directedPresence.size, 0);
  const before = m.received.length;
  await l2.stop();
  await sleep(200);
  assert.equal(m.received.slice(before).filter(isPresence(l2.jid, 'unavailable')).length, 0);
  await m.stop();
});

test('a subscription request to an offline user is stored and shown at login; removal cancels both ways', async () => {
  const n = await online('ned');
  const pendingPush = n.next(isPush('alice@localhost'));
  await n.send(xml('presence', { to: 'alice@localhost', type: 'subscribe' }, xml('status', {}, 'add me?')));
  await pendingPush;

  const a = await t.login('alice', { resource: 'late' });
  await rosterGet(a);
  const request = a.next((el) => el.is('presence') && el.attrs.type === 'subscribe' && el.attrs.from === 'ned@localhost');
  await a.send(xml('presence'));
  assert.equal((await request).getChildText('status'), 'add me?');

  // Approve, then alice removes ned: ned loses his subscription and sees alice go unavailable.
  const nedTo = n.next((el) => isPush('alice@localhost')(el) && el.getChild('query')!.getChild('item')!.attrs.subscription === 'to');
  const alicePresence = n.next(isPresence(a.jid));
  await a.send(xml('presence', { to: 'ned@localhost', type: 'subscribed' }));
  await Promise.all([nedTo, alicePresence]);

  const nedNone = n.next((el) => isPush('alice@localhost')(el) && el.getChild('query')!.getChild('item')!.attrs.subscription === 'none');
  const unsubscribed = n.next((el) => el.is('presence') && el.attrs.type === 'unsubscribed' && el.attrs.from === 'alice@localhost');
  const unavailable = n.next(isPresence(a.jid, 'unavailable'));
  const removed = a.next(isPush('ned@localhost'));
  await rosterSet(a, xml('item', { jid: 'ned@localhost', subscription: 'remove' }));
  assert.equal((await removed).getChild('query')!.getChild('item')!.attrs.subscription, 'remove');
  await Promise.all([nedNone, unsubscribed, unavailable]);
  await a.stop();
  await n.stop();
});

test('rosters survive a restart', async () => {
  await t.restart();
  const c = await t.login('carol');
  const list = items(await rosterGet(c));
  assert.equal(list.find((i) => i.attrs.jid === 'bob@localhost')?.attrs.subscription, 'both');
  await c.stop();
});
