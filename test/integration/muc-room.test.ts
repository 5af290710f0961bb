import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import { startWithUsers, sleep, xml, type TestClient, type TestServer } from '../helpers/server.ts';
import { configure, groupchat, join, joinInstant, leave, MUC_DOMAIN, MUC_OWNER, MUC_USER, statusCodes } from '../helpers/muc.ts';
import { DATA, discoInfo, errorOf, featuresOf, messageError, SID } from '../helpers/stanza.ts';

const DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';
const DELAY = 'urn:xmpp:delay';

let t: TestServer;
before(async () => {
  t = await startWithUsers(['alice', 'bob', 'carol']);
});
after(() => t.stop());

async function getForm(c: TestClient, room: string): Promise<Element> {
  const res = await c.iq(xml('iq', { type: 'get', to: room }, xml('query', { xmlns: MUC_OWNER })));
  return res.getChild('query', MUC_OWNER)!.getChild('x', DATA)!;
}

const isBody = (from: string, body: string) => (el: Element) => el.is('message') && el.attrs.from === from && el.getChildText('body') === body;
const isStatusMsg = (room: string, code: number) => (el: Element) => el.is('message') && el.attrs.from === room && statusCodes(el).includes(code);

test('the configuration form has every room setting', async () => {
  const a = await t.login('alice');
  const room = `form1@${MUC_DOMAIN}`;
  await join(a, `${room}/Alice`);
  const form = await getForm(a, room);
  const vars = form.getChildren('field').map((f) => f.attrs.var as string);
  for (const v of [
    'FORM_TYPE',
    'muc#roomconfig_roomname',
    'muc#roomconfig_roomdesc',
    'muc#roomconfig_lang',
    'muc#roomconfig_persistentroom',
    'muc#roomconfig_publicroom',
    'muc#roomconfig_passwordprotectedroom',
    'muc#roomconfig_roomsecret',
    'muc#roomconfig_membersonly',
    'muc#roomconfig_moderatedroom',
    'muc#roomconfig_whois',
    'muc#roomconfig_maxusers',
    'muc#roomconfig_historylength',
    'muc#roomconfig_changesubject',
    'muc#roomconfig_allowinvites',
    'muc#roomconfig_allowpm',
    'muc#roomconfig_enablearchiving',
    'muc#roomconfig_presencebroadcast',
    'muc#roomconfig_allowregister',
  ]) {
    assert.ok(vars.includes(v), `the form has ${v}`);
  }
  assert.equal(form.attrs.type, 'form');
  // Only owners see it.
  const b = await t.login('bob');
  await a.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: MUC_OWNER }, xml('x', { xmlns: DATA, type: 'submit' }))));
  await join(b, `${room}/Bob`);
  await assert.rejects(b.iq(xml('iq', { type: 'get', to: room }, xml('query', { xmlns: MUC_OWNER }))), (e: { condition?: string }) => e.condition === 'forbidden');
  for (const x of [a, b]) await x.stop();
});

test('reserved room: full form, 104 on later changes, 172/173 on whois, status 100 and jids when non-anonymous', async () => {
  const a = await t.login('alice');
  const b = await t.login('bob');
  const c = await t.login('carol');
  const room = `reserved1@${MUC_DOMAIN}`;
  const self = await join(a, `${room}/Alice`);
  assert.ok(statusCodes(self).includes(201));
  await configure(a, room, {
    'muc#roomconfig_roomname': 'Reserved',
    'muc#roomconfig_roomdesc': 'A reserved room',
    'muc#roomconfig_lang': 'en',
    'muc#roomconfig_persistentroom': '1',
    'muc#roomconfig_publicroom': '1',
    'muc#roomconfig_passwordprotectedroom': '0',
    'muc#roomconfig_membersonly': '0',
    'muc#roomconfig_moderatedroom': '0',
    'muc#roomconfig_whois': 'moderators',
    'muc#roomconfig_maxusers': '10',
    'muc#roomconfig_historylength': '5',
    'muc#roomconfig_changesubject': '0',
    'muc#roomconfig_allowinvites': '0',
    'muc#roomconfig_allowpm': 'anyone',
    'muc#roomconfig_enablearchiving': '1',
    'muc#roomconfig_presencebroadcast': ['moderator', 'participant', 'visitor'],
    'muc#roomconfig_allowregister': '1',
  });
  const form = await getForm(a, room);
  const value = (v: string) => form.getChildren('field').find((f) => f.attrs.var === v)?.getChildText('value');
  assert.equal(value('muc#roomconfig_roomname'), 'Reserved');
  assert.equal(value('muc#roomconfig_persistentroom'), '1');
  assert.equal(value('muc#roomconfig_historylength'), '5');
  const info = await discoInfo(b, room);
  const features = featuresOf(info);
  assert.ok(features.includes('muc_persistent') && features.includes('muc_semianonymous'));
  assert.equal(info.getChild('identity')!.attrs.name, 'Reserved');

  // Semi-anonymous: no status 100, and a participant does not see real JIDs.
  const bobRoster = b.next((el) => el.is('presence') && el.attrs.from === `${room}/Alice`);
  const bobSelf = await join(b, `${room}/Bob`);
  assert.ok(!statusCodes(bobSelf).includes(100));
  assert.equal((await bobRoster).getChild('x', MUC_USER)!.getChild('item')!.attrs.jid, undefined);

  // A later change: everyone gets 104; the whois change adds 172.
  const a104 = a.next(isStatusMsg(room, 104));
  const b104 = b.next(isStatusMsg(room, 104));
  await configure(a, room, { 'muc#roomconfig_whois': 'anyone' });
  const [ma, mb] = await Promise.all([a104, b104]);
  assert.deepEqual(statusCodes(mb).sort(), [104, 172]);
  assert.deepEqual(statusCodes(ma).sort(), [104, 172]);
  assert.equal(mb.attrs.type, 'groupchat');

  // Non-anonymous: status 100 on join, and every occupant's real JID is shown.
  const carolSeesAlice = c.next((el) => el.is('presence') && el.attrs.from === `${room}/Alice`);
  const bobSeesCarol = b.next((el) => el.is('presence') && el.attrs.from === `${room}/Carol`);
  const carolSelf = await join(c, `${room}/Carol`);
  assert.ok(statusCodes(carolSelf).includes(100));
  assert.equal((await carolSeesAlice).getChild('x', MUC_USER)!.getChild('item')!.attrs.jid, a.jid);
  assert.equal((await bobSeesCarol).getChild('x', MUC_USER)!.getChild('item')!.attrs.jid, c.jid);

  // Back to semi-anonymous: 173; a change without privacy impact is just 104.
  const c173 = c.next(isStatusMsg(room, 173));
  await configure(a, room, { 'muc#roomconfig_whois': 'moderators' });
  assert.deepEqual(statusCodes(await c173).sort(), [104, 173]);
  const c104 = c.next(isStatusMsg(room, 104));
  await configure(a, room, { 'muc#roomconfig_roomname': 'Renamed' });
  assert.deepEqual(statusCodes(await c104), [104]);
  for (const x of [a, b, c]) await x.stop();
});

test('destroy with reason and alternate venue', async () => {
  const a = await t.login('alice');
  const b = await t.login('bob');
  const room = `doomed1@${MUC_DOMAIN}`;
  await joinInstant(a, `${room}/Alice`);
  await join(b, `${room}/Bob`);
  const bobGone = b.next((el) => el.is('presence') && el.attrs.type === 'unavailable' && el.attrs.from === `${room}/Bob`);
  const aliceGone = a.next((el) => el.is('presence') && el.attrs.type === 'unavailable' && el.attrs.from === `${room}/Alice`);
  await a.iq(
    xml('iq', { type: 'set', to: room }, xml('query', { xmlns: MUC_OWNER }, xml('destroy', { jid: `elsewhere@${MUC_DOMAIN}` }, xml('reason', {}, 'moving house')))),
  );
  for (const p of await Promise.all([bobGone, aliceGone])) {
    const x = p.getChild('x', MUC_USER)!;
    assert.equal(x.getChild('item')!.attrs.role, 'none');
    const d = x.getChild('destroy')!;
    assert.equal(d.attrs.jid, `elsewhere@${MUC_DOMAIN}`);
    assert.equal(d.getChildText('reason'), 'moving house');
  }
  await assert.rejects(discoInfo(b, room), (e: { condition?: string }) => e.condition === 'item-not-found');
  // Only owners destroy.
  const room2 = `doomed2@${MUC_DOMAIN}`;
  await joinInstant(a, `${room2}/Alice`);
  await join(b, `${room2}/Bob`);
  await assert.rejects(b.iq(xml('iq', { type: 'set', to: room2 }, xml('query', { xmlns: MUC_OWNER }, xml('destroy')))), (e: { condition?: string }) => e.condition === 'forbidden');
  for (const x of [a, b]) await x.stop();
});

test('a temporary room disappears when the last occupant leaves', async () => {
  const a = await t.login('alice');
  const b = await t.login('bob');
  const room = `temp1@${MUC_DOMAIN}`;
  await joinInstant(a, `${room}/Alice`);
  // Rooms are persistent by default (muc.defaultRoomConfig): this one is made temporary.
  await configure(a, room, { 'muc#roomconfig_persistentroom': '0' });
  await join(b, `${room}/Bob`);
  assert.ok(featuresOf(await discoInfo(b, room)).includes('muc_temporary'));
  for (const [c, nick] of [[a, 'Alice'], [b, 'Bob']] as const) await leave(c, `${room}/${nick}`);
  await assert.rejects(discoInfo(b, room), (e: { condition?: string }) => e.condition === 'item-not-found');
  for (const x of [a, b]) await x.stop();
});

test('nick change: 303 with the new nick, then the new presence with 110 to self', async () => {
  const a = await t.login('alice');
  const b = await t.login('bob');
  const room = `nick1@${MUC_DOMAIN}`;
  await joinInstant(a, `${room}/Alice`);
  await join(b, `${room}/Bob`);
  const selfOld = b.next((el) => el.is('presence') && el.attrs.type === 'unavailable' && el.attrs.from === `${room}/Bob`);
  const selfNew = b.next((el) => el.is('presence') && el.attrs.type === undefined && el.attrs.from === `${room}/Robert`);
  const otherOld = a.next((el) => el.is('presence') && el.attrs.type === 'unavailable' && el.attrs.from === `${room}/Bob`);
  const otherNew = a.next((el) => el.is('presence') && el.attrs.type === undefined && el.attrs.from === `${room}/Robert`);
  await b.send(xml('presence', { to: `${room}/Robert` }));
  const [so, sn, oo, on] = await Promise.all([selfOld, selfNew, otherOld, otherNew]);
  assert.deepEqual(statusCodes(so).sort(), [110, 303]);
  assert.equal(so.getChild('x', MUC_USER)!.getChild('item')!.attrs.nick, 'Robert');
  assert.deepEqual(statusCodes(sn), [110]);
  assert.deepEqual(statusCodes(oo), [303]);
  assert.equal(oo.getChild('x', MUC_USER)!.getChild('item')!.attrs.nick, 'Robert');
  assert.deepEqual(statusCodes(on), []);
  // The order: old nick's unavailable before the new nick's presence.
  const i = b.received.indexOf(so);
  const j = b.received.indexOf(sn);
  assert.ok(i < j);
  // Messages now come from the new nick; the old one is free.
  const got = a.next(isBody(`${room}/Robert`, 'renamed'));
  await b.send(groupchat(room, 'renamed'));
  await got;
  assert.equal((await messageError(b, xml('message', { to: `${room}/Bob`, type: 'chat' }, xml('body', {}, 'x')))).condition, 'item-not-found');
  // Changing to a nick in use is a conflict.
  const conflict = b.next((el) => el.is('presence') && el.attrs.type === 'error' && el.attrs.from === `${room}/Alice`);
  await b.send(xml('presence', { to: `${room}/Alice` }));
  assert.equal(errorOf(await conflict).condition, 'conflict');
  for (const x of [a, b]) await x.stop();
});

test('leave: unavailable with 110 to self, without to others; status text relayed', async () => {
  const a = await t.login('alice');
  const b = await t.login('bob');
  const room = `leave1@${MUC_DOMAIN}`;
  await joinInstant(a, `${room}/Alice`);
  await join(b, `${room}/Bob`);
  const self = b.next((el) => el.is('presence') && el.attrs.type === 'unavailable' && el.attrs.from === `${room}/Bob`);
  const other = a.next((el) => el.is('presence') && el.attrs.type === 'unavailable' && el.attrs.from === `${room}/Bob`);
  await b.send(xml('presence', { to: `${room}/Bob`, type: 'unavailable' }, xml('status', {}, 'bye now')));
  const [s, o] = await Promise.all([self, other]);
  assert.deepEqual(statusCodes(s), [110]);
  assert.deepEqual(statusCodes(o), []);
  assert.equal(o.getChildText('status'), 'bye now');
  assert.equal(o.getChild('x', MUC_USER)!.getChild('item')!.attrs.role, 'none');
  assert.deepEqual([...t.server.muc!.rooms.get(room)!.occupants.keys()], ['Alice']);
  for (const x of [a, b]) await x.stop();
});

test('presence status and show are relayed to the room', async () => {
  const a = await t.login('alice');
  const b = await t.login('bob');
  const room = `status1@${MUC_DOMAIN}`;
  await joinInstant(a, `${room}/Alice`);
  await join(b, `${room}/Bob`);
  const seen = a.next((el) => el.is('presence') && el.attrs.from === `${room}/Bob` && el.getChildText('status') === 'in a meeting');
  const self = b.next((el) => el.is('presence') && el.attrs.from === `${room}/Bob` && el.getChildText('status') === 'in a meeting');
  await b.send(xml('presence', { to: `${room}/Bob` }, xml('show', {}, 'dnd'), xml('status', {}, 'in a meeting')));
  const [p, s] = await Promise.all([seen, self]);
  assert.equal(p.getChildText('show'), 'dnd');
  assert.deepEqual(statusCodes(s), [110]);
  // A newcomer sees the current status.
  const c = await t.login('carol');
  const carolSees = c.next((el) => el.is('presence') && el.attrs.from === `${room}/Bob`);
  await join(c, `${room}/Carol`);
  assert.equal((await carolSees).getChildText('status'), 'in a meeting');
  for (const x of [a, b, c]) await x.stop();
});

test('several resources under one nick: all get messages; one leaving keeps the occupant', async () => {
  const a1 = await t.login('alice', { resource: 'desk' });
  const a2 = await t.login('alice', { resource: 'phone' });
  const b = await t.login('bob');
  const room = `multi1@${MUC_DOMAIN}`;
  await joinInstant(a1, `${room}/Alice`);
  await join(b, `${room}/Bob`);
  const a2SeesBob = a2.next((el) => el.is('presence') && el.attrs.from === `${room}/Bob`);
  const self2 = await join(a2, `${room}/Alice`);
  assert.ok(statusCodes(self2).includes(110));
  await a2SeesBob;
  assert.equal(t.server.muc!.rooms.get(room)!.occupants.size, 2);

  const g1 = a1.next(isBody(`${room}/Bob`, 'to both'));
  const g2 = a2.next(isBody(`${room}/Bob`, 'to both'));
  await b.send(groupchat(room, 'to both'));
  await Promise.all([g1, g2]);
  // Private messages reach every session of the nick too.
  const p1 = a1.next((el) => el.is('message') && el.attrs.type === 'chat' && el.getChildText('body') === 'psst');
  const p2 = a2.next((el) => el.is('message') && el.attrs.type === 'chat' && el.getChildText('body') === 'psst');
  await b.send(xml('message', { to: `${room}/Alice`, type: 'chat' }, xml('body', {}, 'psst')));
  await Promise.all([p1, p2]);

  // The phone leaves: it gets its own unavailable, Bob sees Alice still present.
  const left = a2.next((el) => el.is('presence') && el.attrs.type === 'unavailable' && el.attrs.from === `${room}/Alice`);
  const bobSees = b.next((el) => el.is('presence') && el.attrs.from === `${room}/Alice`);
  await a2.send(xml('presence', { to: `${room}/Alice`, type: 'unavailable' }));
  assert.ok(statusCodes(await left).includes(110));
  assert.equal((await bobSees).attrs.type, undefined);
  assert.ok(t.server.muc!.rooms.get(room)!.occupants.has('Alice'));
  const g3 = a1.next(isBody(`${room}/Bob`, 'after'));
  await b.send(groupchat(room, 'after'));
  await g3;
  await sleep(100);
  assert.ok(!a2.received.some((el) => el.is('message') && el.getChildText('body') === 'after'));
  for (const x of [a1, a2, b]) await x.stop();
});

test('history on join honours maxstanzas, maxchars, seconds and since, with <delay/>; subject follows', async () => {
  const a = await t.login('alice');
  const room = `hist1@${MUC_DOMAIN}`;
  await joinInstant(a, `${room}/Alice`);
  for (const body of ['one', 'two']) {
    const echo = a.next(isBody(`${room}/Alice`, body));
    await a.send(groupchat(room, body));
    await echo;
  }
  await sleep(1300);
  const betweenMs = Date.now() - 50;
  const between = new Date(betweenMs).toISOString();
  await sleep(1300);
  for (const body of ['three', 'four']) {
    const echo = a.next(isBody(`${room}/Alice`, body));
    await a.send(groupchat(room, body));
    await echo;
  }

  /** Joins as bob with a history request; returns the history bodies, checking order and delay. */
  async function history(spec: Record<string, string> | (() => Record<string, string>) | null): Promise<string[]> {
    const b = await t.login('bob');
    // Computed after the login, so a slow machine does not age 'three' and 'four' out of the window.
    const attrs = typeof spec === 'function' ? spec() : spec;
    const subject = b.next((el) => el.is('message') && !!el.getChild('subject') && !el.getChild('body'));
    await join(b, `${room}/Bob`, attrs ? [xml('history', attrs)] : []);
    const s = await subject;
    const subjectAt = b.received.indexOf(s);
    const msgs = b.received.filter((el) => el.is('message') && el.getChild('body'));
    for (const m of msgs) {
      const d = m.getChild('delay', DELAY);
      assert.ok(d, 'history carries <delay/>');
      assert.equal(d.attrs.from, room);
      assert.ok(!Number.isNaN(Date.parse(d.attrs.stamp as string)));
      assert.ok(b.received.indexOf(m) < subjectAt, 'the subject comes after the history');
    }
    await b.stop();
    await sleep(50);
    return msgs.map((m) => m.getChildText('body')!);
  }

  // First, while 'three' and 'four' are less than a second old and the others older.
  // A window reaching back to just before 'three': 'one' and 'two' are over a second older.
  assert.deepEqual(await history(() => ({ seconds: String(Math.ceil((Date.now() - betweenMs) / 1000)) })), ['three', 'four']);
  assert.deepEqual(await history(null), ['one', 'two', 'three', 'four']);
  assert.deepEqual(await history({ maxstanzas: '2' }), ['three', 'four']);
  assert.deepEqual(await history({ maxstanzas: '0' }), []);
  assert.deepEqual(await history({ since: between }), ['three', 'four']);
  assert.deepEqual(await history({ maxchars: '0' }), []);
  // One stanza (as the joiner received it, plus 'to') fits; two do not.
  const four = a.received.find(isBody(`${room}/Alice`, 'four'))!;
  assert.deepEqual(await history({ maxchars: String(Math.floor(four.toString().length * 1.5)) }), ['four']);
  assert.deepEqual(await history({ maxstanzas: '3', seconds: '60' }), ['two', 'three', 'four']);
  await a.stop();
});

test('subject: empty <subject/> when none; changes allowed or forbidden by configuration', async () => {
  const a = await t.login('alice');
  const b = await t.login('bob');
  const room = `subject1@${MUC_DOMAIN}`;
  await joinInstant(a, `${room}/Alice`);
  const first = b.next((el) => el.is('message') && !!el.getChild('subject'));
  await join(b, `${room}/Bob`);
  const empty = await first;
  assert.equal(empty.attrs.from, room);
  assert.equal(empty.attrs.type, 'groupchat');
  assert.equal(empty.getChildText('subject'), '');
  assert.equal(empty.getChild('body'), undefined);

  // Participants may not change it by default.
  const e = await messageError(b, xml('message', { to: room, type: 'groupchat' }, xml('subject', {}, 'mine')));
  assert.deepEqual([e.condition, e.type], ['forbidden', 'auth']);
  // Moderators may.
  const bSees = b.next((el) => el.is('message') && el.getChildText('subject') === 'Welcome');
  await a.send(xml('message', { to: room, type: 'groupchat' }, xml('subject', {}, 'Welcome')));
  assert.equal((await bSees).attrs.from, `${room}/Alice`);
  // Allowed for occupants once configured.
  await configure(a, room, { 'muc#roomconfig_changesubject': '1' });
  const aSees = a.next((el) => el.is('message') && el.getChildText('subject') === 'By Bob');
  await b.send(xml('message', { to: room, type: 'groupchat' }, xml('subject', {}, 'By Bob')));
  assert.equal((await aSees).attrs.from, `${room}/Bob`);
  // A newcomer gets the current subject from its setter.
  const c = await t.login('carol');
  const cs = c.next((el) => el.is('message') && !!el.getChild('subject'));
  await join(c, `${room}/Carol`);
  const got = await cs;
  assert.equal(got.getChildText('subject'), 'By Bob');
  assert.equal(got.attrs.from, `${room}/Bob`);
  for (const x of [a, b, c]) await x.stop();
});

test('private messages: delivered with <x muc#user/>, item-not-found for unknown nicks, forbidden per allowpm', async () => {
  const a = await t.login('alice');
  const b = await t.login('bob');
  const c = await t.login('carol');
  const room = `pm1@${MUC_DOMAIN}`;
  await joinInstant(a, `${room}/Alice`);
  await join(b, `${room}/Bob`);
  const got = b.next((el) => el.is('message') && el.getChildText('body') === 'private hello');
  await a.send(xml('message', { to: `${room}/Bob`, type: 'chat' }, xml('body', {}, 'private hello')));
  const m = await got;
  assert.equal(m.attrs.from, `${room}/Alice`);
  assert.equal(m.attrs.type, 'chat');
  assert.ok(m.getChild('x', MUC_USER));
  const unknown = await messageError(a, xml('message', { to: `${room}/Nobody`, type: 'chat' }, xml('body', {}, 'hello?')));
  assert.deepEqual([unknown.condition, unknown.type], ['item-not-found', 'cancel']);
  // A non-occupant cannot send private messages.
  assert.equal((await messageError(c, xml('message', { to: `${room}/Bob`, type: 'chat' }, xml('body', {}, 'hey')))).condition, 'not-acceptable');
  // A groupchat-typed message to a nick is refused.
  assert.equal((await messageError(a, xml('message', { to: `${room}/Bob`, type: 'groupchat' }, xml('body', {}, 'x')))).condition, 'bad-request');

  await configure(a, room, { 'muc#roomconfig_allowpm': 'moderators' });
  const forbidden = await messageError(b, xml('message', { to: `${room}/Alice`, type: 'chat' }, xml('body', {}, 'hi')));
  assert.deepEqual([forbidden.condition, forbidden.type], ['forbidden', 'auth']);
  const fromMod = b.next((el) => el.is('message') && el.getChildText('body') === 'mods only');
  await a.send(xml('message', { to: `${room}/Bob`, type: 'chat' }, xml('body', {}, 'mods only')));
  await fromMod;
  await configure(a, room, { 'muc#roomconfig_allowpm': 'none' });
  assert.equal((await messageError(a, xml('message', { to: `${room}/Bob`, type: 'chat' }, xml('body', {}, 'no')))).condition, 'forbidden');
  for (const x of [a, b, c]) await x.stop();
});

test('groupchat: not-acceptable from a non-occupant; origin-id kept, a spoofed stanza-id by the room stripped', async () => {
  const a = await t.login('alice');
  const b = await t.login('bob');
  const room = `gc1@${MUC_DOMAIN}`;
  await joinInstant(a, `${room}/Alice`);
  const e = await messageError(b, groupchat(room, 'let me in'));
  assert.deepEqual([e.condition, e.type], ['not-acceptable', 'modify']);
  await join(b, `${room}/Bob`);
  const got = b.next(isBody(`${room}/Alice`, 'ids'));
  await a.send(
    groupchat(room, 'ids', [xml('origin-id', { xmlns: SID, id: 'origin-123' }), xml('stanza-id', { xmlns: SID, id: 'spoofed', by: room }), xml('stanza-id', { xmlns: SID, id: 'other', by: 'alice@localhost' })]),
  );
  const m = await got;
  assert.equal(m.getChild('origin-id', SID)?.attrs.id, 'origin-123');
  const ids = m.getChildren('stanza-id', SID);
  const byRoom = ids.filter((s) => s.attrs.by === room);
  assert.equal(byRoom.length, 1);
  assert.notEqual(byRoom[0]!.attrs.id, 'spoofed');
  // A stanza-id claimed by someone else is not the room's to remove.
  assert.ok(ids.some((s) => s.attrs.by === 'alice@localhost' && s.attrs.id === 'other'));
  for (const x of [a, b]) await x.stop();
});

test('disco#items on the service lists public rooms, not hidden ones', async () => {
  const a = await t.login('alice');
  const pub = `listed1@${MUC_DOMAIN}`;
  const hidden = `hidden1@${MUC_DOMAIN}`;
  await join(a, `${pub}/Alice`);
  await configure(a, pub, { 'muc#roomconfig_publicroom': '1', 'muc#roomconfig_roomname': 'Listed Room' });
  await join(a, `${hidden}/Alice`);
  await configure(a, hidden, { 'muc#roomconfig_publicroom': '0' });
  const res = await a.iq(xml('iq', { type: 'get', to: MUC_DOMAIN }, xml('query', { xmlns: DISCO_ITEMS })));
  const items = res.getChild('query')!.getChildren('item');
  const listed = items.find((i) => i.attrs.jid === pub);
  assert.ok(listed);
  assert.equal(listed.attrs.name, 'Listed Room');
  assert.ok(!items.some((i) => i.attrs.jid === hidden));
  assert.ok(featuresOf(await discoInfo(a, hidden)).includes('muc_hidden'));
  await a.stop();
});
