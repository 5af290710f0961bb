import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import { startWithUsers, sleep, xml, type TestClient, type TestServer } from '../helpers/server.ts';
import { configure, join, joinInstant, leave, MAM, MUC_ADMIN, MUC_USER, say, statusCodes } from '../helpers/muc.ts';
import { DATA, discoInfo, errorCondition, featuresOf, field, rawIq, SID } from '../helpers/stanza.ts';

const RSM = 'http://jabber.org/protocol/rsm';
const FORWARD = 'urn:xmpp:forward:0';
const ROOM = 'mam1@conference.localhost';

let t: TestServer;
let alice: TestClient;
let bob: TestClient;
/** Live stanza-ids of the five messages of ROOM, oldest first. */
const ids: string[] = [];
/** Their archive times (delay stamps), ms. */
const times: number[] = [];

let seq = 0;

interface QueryOptions {
  fields?: Record<string, string | string[]>;
  rsm?: { max?: number; after?: string; before?: string };
  flip?: boolean;
}

interface QueryResult {
  reply: Element;
  results: Element[];
  /** result ids in arrival order */
  ids: string[];
  bodies: string[];
  complete?: string;
  first?: string | null;
  last?: string | null;
}

/** Runs a MAM query against `room`; collects the result messages that came before the reply. */
async function mam(c: TestClient, room: string, opts: QueryOptions = {}): Promise<QueryResult> {
  const queryid = `q${++seq}`;
  const query = xml('query', { xmlns: MAM, queryid });
  if (opts.fields) {
    const x = xml('x', { xmlns: DATA, type: 'submit' }, field('FORM_TYPE', MAM));
    for (const [k, v] of Object.entries(opts.fields)) x.cnode(field(k, ...(Array.isArray(v) ? v : [v])));
    query.cnode(x);
  }
  if (opts.rsm) {
    const set = xml('set', { xmlns: RSM });
    if (opts.rsm.max !== undefined) set.c('max').t(String(opts.rsm.max));
    if (opts.rsm.after !== undefined) set.c('after').t(opts.rsm.after);
    if (opts.rsm.before !== undefined) set.c('before').t(opts.rsm.before);
    query.cnode(set);
  }
  if (opts.flip) query.c('flip-page');
  const start = c.received.length;
  const reply = await rawIq(c, xml('iq', { type: 'set', to: room }, query));
  const replyIndex = c.received.indexOf(reply);
  const results = c.received.slice(start).filter((el) => el.is('message') && el.getChild('result', MAM)?.attrs.queryid === queryid);
  for (const r of results) assert.ok(c.received.indexOf(r) < replyIndex, 'results arrive before the IQ result');
  const fin = reply.getChild('fin', MAM);
  const set = fin?.getChild('set', RSM);
  return {
    reply,
    results,
    ids: results.map((r) => r.getChild('result', MAM)!.attrs.id as string),
    bodies: results.map((r) => r.getChild('result', MAM)!.getChild('forwarded', FORWARD)!.getChild('message')!.getChildText('body')!),
    complete: fin?.attrs.complete as string | undefined,
    first: set?.getChildText('first'),
    last: set?.getChildText('last'),
  };
}

before(async () => {
  t = await startWithUsers(['alice', 'bob', 'carol', 'dave']);
  alice = await t.login('alice');
  bob = await t.login('bob', { transport: 'ws' });
  const self = await joinInstant(alice, `${ROOM}/Alice`);
  assert.ok(statusCodes(self).includes(170), 'archiving is announced on join');
  await join(bob, `${ROOM}/Bob`);
  // Alice sends 1, 2, 4; Bob 3, 5; a few ms apart so each has its own timestamp.
  const senders = [alice, alice, bob, alice, bob];
  for (let i = 0; i < 5; i++) {
    ids.push(await say(senders[i]!, ROOM, `m${i + 1}`));
    await sleep(5);
  }
});
after(() => t.stop());

test('room disco#info lists urn:xmpp:mam:2 when archiving', async () => {
  const f = featuresOf(await discoInfo(alice, ROOM));
  assert.ok(f.includes(MAM));
  assert.ok(f.includes(`${MAM}#extended`));
});

test('query returns every message, from the room bare JID, ids equal to the live stanza-ids', async () => {
  const r = await mam(bob, ROOM);
  assert.equal(r.reply.attrs.type, 'result');
  assert.deepEqual(r.bodies, ['m1', 'm2', 'm3', 'm4', 'm5']);
  assert.deepEqual(r.ids, ids);
  assert.equal(r.complete, 'true');
  assert.equal(r.first, ids[0]);
  assert.equal(r.last, ids[4]);
  for (const [i, res] of r.results.entries()) {
    assert.equal(res.attrs.from, ROOM);
    assert.equal(res.attrs.to, bob.jid);
    const fwd = res.getChild('result', MAM)!.getChild('forwarded', FORWARD)!;
    const stamp = fwd.getChild('delay', 'urn:xmpp:delay')?.attrs.stamp as string;
    assert.ok(stamp && !Number.isNaN(Date.parse(stamp)));
    times.push(Date.parse(stamp));
    const m = fwd.getChild('message')!;
    assert.equal(m.attrs.xmlns, 'jabber:client');
    assert.equal(m.attrs.type, 'groupchat');
    assert.equal(m.attrs.from, `${ROOM}/${i === 2 || i === 4 ? 'Bob' : 'Alice'}`);
    assert.equal(m.attrs.to, undefined, 'a MUC archive result carries no to (XEP-0313 6.1.2)');
    assert.equal(m.getChild('stanza-id', SID)?.attrs.id, ids[i]);
    // Semi-anonymous room and Bob is no moderator: no real JID.
    assert.equal(m.getChild('x', MUC_USER), undefined);
  }
  // A moderator (the owner) sees the real JIDs.
  const own = await mam(alice, ROOM, { rsm: { max: 1 } });
  const item = own.results[0]!.getChild('result', MAM)!.getChild('forwarded', FORWARD)!.getChild('message')!.getChild('x', MUC_USER)?.getChild('item');
  assert.equal(item?.attrs.jid, 'alice@localhost');
});

test('paging forwards with max 2', async () => {
  const p1 = await mam(bob, ROOM, { rsm: { max: 2 } });
  assert.deepEqual(p1.bodies, ['m1', 'm2']);
  assert.equal(p1.complete, 'false');
  assert.equal(p1.last, ids[1]);
  const p2 = await mam(bob, ROOM, { rsm: { max: 2, after: p1.last! } });
  assert.deepEqual(p2.bodies, ['m3', 'm4']);
  assert.equal(p2.complete, 'false');
  assert.equal(p2.first, ids[2]);
  const p3 = await mam(bob, ROOM, { rsm: { max: 2, after: p2.last! } });
  assert.deepEqual(p3.bodies, ['m5']);
  assert.equal(p3.complete, 'true');
  const p4 = await mam(bob, ROOM, { rsm: { max: 2, after: p3.last! } });
  assert.deepEqual(p4.bodies, []);
  assert.equal(p4.complete, 'true');
  assert.equal(p4.first, null);
});

test('paging backwards from the last page (<before/>) with max 2', async () => {
  const p1 = await mam(bob, ROOM, { rsm: { max: 2, before: '' } });
  assert.deepEqual(p1.bodies, ['m4', 'm5'], 'the last page, oldest first');
  assert.equal(p1.complete, 'false');
  assert.equal(p1.first, ids[3]);
  assert.equal(p1.last, ids[4]);
  const p2 = await mam(bob, ROOM, { rsm: { max: 2, before: p1.first! } });
  assert.deepEqual(p2.bodies, ['m2', 'm3']);
  assert.equal(p2.complete, 'false');
  const p3 = await mam(bob, ROOM, { rsm: { max: 2, before: p2.first! } });
  assert.deepEqual(p3.bodies, ['m1']);
  assert.equal(p3.complete, 'true');
  // A last page holding everything is complete.
  const all = await mam(bob, ROOM, { rsm: { max: 10, before: '' } });
  assert.deepEqual(all.bodies, ['m1', 'm2', 'm3', 'm4', 'm5']);
  assert.equal(all.complete, 'true');
  // Flipped: same page, newest first.
  const flipped = await mam(bob, ROOM, { rsm: { max: 2, before: '' }, flip: true });
  assert.deepEqual(flipped.bodies, ['m5', 'm4']);
});

test('start and end filters', async () => {
  assert.equal(times.length, 5);
  const iso = (ms: number) => new Date(ms).toISOString();
  const mid = await mam(bob, ROOM, { fields: { start: iso(times[1]!), end: iso(times[3]!) } });
  assert.deepEqual(mid.bodies, ['m2', 'm3', 'm4']);
  assert.equal(mid.complete, 'true');
  const after = await mam(bob, ROOM, { fields: { start: iso(times[3]!) } });
  assert.deepEqual(after.bodies, ['m4', 'm5']);
  const beforeEnd = await mam(bob, ROOM, { fields: { end: iso(times[0]!) } });
  assert.deepEqual(beforeEnd.bodies, ['m1']);
  const paged = await mam(bob, ROOM, { fields: { start: iso(times[1]!) }, rsm: { max: 2 } });
  assert.deepEqual(paged.bodies, ['m2', 'm3']);
  assert.equal(paged.complete, 'false');
  const none = await mam(bob, ROOM, { fields: { start: '2000-01-01T00:00:00Z', end: '2000-01-02T00:00:00+02:00' } });
  assert.deepEqual(none.bodies, []);
  assert.equal(none.complete, 'true');
  const bad = await mam(bob, ROOM, { fields: { start: 'yesterday' } });
  assert.equal(errorCondition(bad.reply), 'bad-request');
});

test('with filter: the sender bare JID (for moderators) or the room JID with a nick', async () => {
  const byBob = await mam(alice, ROOM, { fields: { with: 'bob@localhost' } });
  assert.deepEqual(byBob.bodies, ['m3', 'm5']);
  assert.equal(byBob.complete, 'true');
  const pagedBob = await mam(alice, ROOM, { fields: { with: 'bob@localhost' }, rsm: { max: 1 } });
  assert.deepEqual(pagedBob.bodies, ['m3']);
  assert.equal(pagedBob.complete, 'false');
  const byNick = await mam(bob, ROOM, { fields: { with: `${ROOM}/Alice` } });
  assert.deepEqual(byNick.bodies, ['m1', 'm2', 'm4']);
  // Bob is no moderator of this semi-anonymous room: real JIDs are hidden from him.
  const hidden = await mam(bob, ROOM, { fields: { with: 'alice@localhost' } });
  assert.equal(errorCondition(hidden.reply), 'forbidden');
});

test('extended fields: after-id, before-id, ids', async () => {
  const between = await mam(bob, ROOM, { fields: { 'after-id': ids[0]!, 'before-id': ids[3]! } });
  assert.deepEqual(between.bodies, ['m2', 'm3']);
  const some = await mam(bob, ROOM, { fields: { ids: [ids[4]!, ids[1]!] } });
  assert.deepEqual(some.bodies, ['m2', 'm5']);
  const unknown = await mam(bob, ROOM, { fields: { ids: ['01ARZ3NDEKTSV4RRFFQ69G5FAV'] } });
  assert.equal(errorCondition(unknown.reply), 'item-not-found');
  const badField = await mam(bob, ROOM, { fields: { 'x-unknown': 'x' } });
  assert.equal(errorCondition(badField.reply), 'feature-not-implemented');
});

test('an unknown RSM after/before id is item-not-found', async () => {
  const a = await mam(bob, ROOM, { rsm: { max: 2, after: '01ARZ3NDEKTSV4RRFFQ69G5FAV' } });
  assert.equal(a.reply.attrs.type, 'error');
  assert.equal(errorCondition(a.reply), 'item-not-found');
  assert.equal(a.results.length, 0);
  const b = await mam(bob, ROOM, { rsm: { before: 'nope' } });
  assert.equal(errorCondition(b.reply), 'item-not-found');
  const c = await mam(bob, ROOM, { fields: { 'after-id': 'nope' } });
  assert.equal(errorCondition(c.reply), 'item-not-found');
});

test('max is capped at 100 and defaults to 50', async () => {
  const room = 'mambig@conference.localhost';
  const c = await t.login('carol');
  await joinInstant(c, `${room}/Carol`);
  for (let i = 0; i < 120; i++) await c.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, `b${i}`)));
  await c.next((el) => el.is('message') && el.getChildText('body') === 'b119');
  const def = await mam(c, room);
  assert.equal(def.results.length, 50);
  assert.equal(def.complete, 'false');
  const big = await mam(c, room, { rsm: { max: 1000 } });
  assert.equal(big.results.length, 100);
  assert.equal(big.bodies[99], 'b99');
  const last = await mam(c, room, { rsm: { max: 1000, before: '' } });
  assert.equal(last.bodies[0], 'b20');
  assert.equal(last.bodies[99], 'b119');
  const zero = await mam(c, room, { rsm: { max: 0 } });
  assert.equal(zero.results.length, 0);
  assert.equal(zero.complete, 'false');
  await c.stop();
});

test('query form fields and archive metadata', async () => {
  const r = await bob.iq(xml('iq', { type: 'get', to: ROOM }, xml('query', { xmlns: MAM })));
  const vars = r.getChild('query', MAM)!.getChild('x', DATA)!.getChildren('field').map((f) => f.attrs.var);
  for (const v of ['FORM_TYPE', 'with', 'start', 'end', 'before-id', 'after-id', 'ids']) assert.ok(vars.includes(v), v);
  const md = await bob.iq(xml('iq', { type: 'get', to: ROOM }, xml('metadata', { xmlns: MAM })));
  const meta = md.getChild('metadata', MAM)!;
  assert.equal(meta.getChild('start')?.attrs.id, ids[0]);
  assert.equal(meta.getChild('end')?.attrs.id, ids[4]);
});

test('who may query: a non-occupant of an open room yes, of a members-only room only if affiliated', async () => {
  const dave = await t.login('dave');
  const open = await mam(dave, ROOM, { rsm: { max: 1 } });
  assert.equal(open.reply.attrs.type, 'result');
  assert.deepEqual(open.bodies, ['m1']);

  const room = 'mammembers@conference.localhost';
  const c = await t.login('carol');
  await joinInstant(c, `${room}/Carol`);
  await configure(c, room, { 'muc#roomconfig_membersonly': '1' });
  await say(c, room, 'secret');
  const denied = await mam(dave, room);
  assert.equal(errorCondition(denied.reply), 'forbidden');
  await c.iq(
    xml('iq', { type: 'set', to: room }, xml('query', { xmlns: MUC_ADMIN }, xml('item', { jid: 'dave@localhost', affiliation: 'member' }))),
  ).catch(() => {
    // muc#admin may not be installed yet: set the affiliation directly.
    t.server.muc!.rooms.get(room)!.record.affiliations['dave@localhost'] = 'member';
  });
  const allowed = await mam(dave, room);
  assert.deepEqual(allowed.bodies, ['secret']);
  await dave.stop();
  await c.stop();
});

test('archive.get(roomJid, id) returns the broadcast message', async () => {
  const el = await t.server.muc!.archive!.get(ROOM, ids[2]!);
  assert.ok(el);
  assert.equal(el.attrs.from, `${ROOM}/Bob`);
  assert.equal(el.getChildText('body'), 'm3');
  assert.equal(el.getChild('stanza-id', SID)?.attrs.id, ids[2]);
  assert.equal(await t.server.muc!.archive!.get(ROOM, '01ARZ3NDEKTSV4RRFFQ69G5FAV'), null);
  assert.equal(await t.server.muc!.archive!.get('other@conference.localhost', ids[2]!), null);
});

test('a sender-supplied muc#user payload is not archived', async () => {
  const body = 'spoof';
  const echo = alice.next((el) => el.is('message') && el.getChildText('body') === body);
  await alice.send(
    xml('message', { to: ROOM, type: 'groupchat' }, xml('body', {}, body), xml('x', { xmlns: MUC_USER }, xml('item', { jid: 'admin@localhost' }))),
  );
  const id = (await echo).getChild('stanza-id', SID)!.attrs.id as string;
  const r = await mam(bob, ROOM, { fields: { ids: [id] } });
  assert.deepEqual(r.bodies, [body]);
  const fwd = r.results[0]!.getChild('result', MAM)!.getChild('forwarded', FORWARD)!.getChild('message')!;
  assert.equal(fwd.getChild('x', MUC_USER), undefined);
});

test('subject changes and body-less messages are not archived', async () => {
  const room = 'mamsubject@conference.localhost';
  const c = await t.login('carol');
  await joinInstant(c, `${room}/Carol`);
  const subj = c.next((el) => el.is('message') && el.getChildText('subject') === 'topic');
  await c.send(xml('message', { to: room, type: 'groupchat' }, xml('subject', {}, 'topic')));
  await subj;
  await c.send(xml('message', { to: room, type: 'groupchat' }, xml('active', { xmlns: 'http://jabber.org/protocol/chatstates' })));
  await say(c, room, 'real');
  const r = await mam(c, room);
  assert.deepEqual(r.bodies, ['real']);
  await c.stop();
});

test('archiving off: no feature, nothing archived, queries refused', async () => {
  const room = 'mamoff@conference.localhost';
  const c = await t.login('carol');
  await joinInstant(c, `${room}/Carol`);
  await configure(c, room, { 'muc#roomconfig_enablearchiving': '0' });
  assert.ok(!featuresOf(await discoInfo(c, room)).includes(MAM));
  await say(c, room, 'not kept');
  const archive = t.server.muc!.archive!;
  assert.deepEqual((await archive.query(room, { limit: 10 })).items, []);
  const r = await mam(c, room);
  assert.equal(r.reply.attrs.type, 'error');
  assert.equal(r.results.length, 0);
  // Turned back on, only later messages are kept.
  await configure(c, room, { 'muc#roomconfig_enablearchiving': '1' });
  assert.ok(featuresOf(await discoInfo(c, room)).includes(MAM));
  await say(c, room, 'kept');
  assert.deepEqual((await mam(c, room)).bodies, ['kept']);
  await c.stop();
});

test("a temporary room's archive is deleted when the room goes away", async () => {
  const room = 'mamtemp@conference.localhost';
  const c = await t.login('carol');
  await joinInstant(c, `${room}/Carol`);
  // Rooms are persistent by default (muc.defaultRoomConfig): this one is made temporary.
  await configure(c, room, { 'muc#roomconfig_persistentroom': '0' });
  await say(c, room, 'ephemeral');
  const archive = t.server.muc!.archive!;
  assert.equal((await archive.query(room, { limit: 10 })).items.length, 1);
  await leave(c, `${room}/Carol`);
  assert.equal(t.server.muc!.rooms.has(room), false);
  await archive.settle();
  assert.deepEqual((await archive.query(room, { limit: 10 })).items, []);
  // A new room of the same name starts empty and archives again.
  await joinInstant(c, `${room}/Carol`);
  await say(c, room, 'fresh');
  assert.deepEqual((await mam(c, room)).bodies, ['fresh']);
  await c.stop();
});
