import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import { startWithUsers, sleep, xml, type TestClient, type TestServer } from '../helpers/server.ts';
import { createNewRoom, configure, join, joinInstant, MUC, MUC_DOMAIN, MUC_OWNER, MUC_USER, statusCodes } from '../helpers/muc.ts';
import { DATA, discoInfo, errorOf, featuresOf, messageError } from '../helpers/stanza.ts';

let t: TestServer;
before(async () => {
  t = await startWithUsers(['alice', 'bob', 'carol', 'dave']);
});
after(() => t.stop());

/** Sends a join presence that must fail; resolves with the error's type and condition. */
async function joinError(c: TestClient, roomNick: string, extra: Element[] = []): Promise<{ type?: string; condition?: string; el: Element }> {
  const p = c.next((el) => el.is('presence') && el.attrs.type === 'error' && el.attrs.from === roomNick);
  await c.send(xml('presence', { to: roomNick }, xml('x', { xmlns: MUC }, ...extra)));
  const el = await p;
  return { ...errorOf(el), el };
}

function setAffiliation(room: string, bare: string, aff: 'owner' | 'admin' | 'member' | 'outcast'): void {
  const r = t.server.muc!.rooms.get(room);
  assert.ok(r, `room ${room} exists`);
  r.record.affiliations[bare] = aff;
}

test('members-only: non-members get registration-required (auth), members enter', async () => {
  const a = await t.login('alice');
  const b = await t.login('bob');
  const room = `members1@${MUC_DOMAIN}`;
  await createNewRoom(a, room, 'Alice', { 'muc#roomconfig_membersonly': '1' });
  const e = await joinError(b, `${room}/Bob`);
  assert.equal(e.condition, 'registration-required');
  assert.equal(e.type, 'auth');
  assert.ok(e.el.getChild('x', MUC), 'the error keeps the muc payload');
  setAffiliation(room, 'bob@localhost', 'member');
  const self = await join(b, `${room}/Bob`);
  assert.equal(self.getChild('x', MUC_USER)?.getChild('item')?.attrs.affiliation, 'member');
  await a.stop();
  await b.stop();
});

test('members-only: when a room becomes members-only, present non-members are removed with 322', async () => {
  const a = await t.login('alice');
  const b = await t.login('bob');
  const c = await t.login('carol');
  const room = `members2@${MUC_DOMAIN}`;
  await joinInstant(a, `${room}/Alice`);
  setAffiliation(room, 'bob@localhost', 'member');
  await join(b, `${room}/Bob`);
  await join(c, `${room}/Carol`);
  const carolGone = c.next((el) => el.is('presence') && el.attrs.type === 'unavailable' && el.attrs.from === `${room}/Carol`);
  const aliceSees = a.next((el) => el.is('presence') && el.attrs.type === 'unavailable' && el.attrs.from === `${room}/Carol`);
  await configure(a, room, { 'muc#roomconfig_membersonly': '1' });
  const [self, seen] = await Promise.all([carolGone, aliceSees]);
  assert.deepEqual(statusCodes(self).sort(), [110, 322]);
  assert.deepEqual(statusCodes(seen), [322]);
  assert.equal(seen.getChild('x', MUC_USER)?.getChild('item')?.attrs.role, 'none');
  const r = t.server.muc!.rooms.get(room)!;
  assert.deepEqual([...r.occupants.keys()].sort(), ['Alice', 'Bob']);
  // Carol cannot come back.
  assert.equal((await joinError(c, `${room}/Carol`)).condition, 'registration-required');
  for (const x of [a, b, c]) await x.stop();
});

test('password: missing or wrong password is not-authorized (auth), the right one enters', async () => {
  const a = await t.login('alice');
  const b = await t.login('bob');
  const room = `secret1@${MUC_DOMAIN}`;
  await createNewRoom(a, room, 'Alice', { 'muc#roomconfig_passwordprotectedroom': '1', 'muc#roomconfig_roomsecret': 'sesame' });
  const missing = await joinError(b, `${room}/Bob`);
  assert.deepEqual([missing.condition, missing.type], ['not-authorized', 'auth']);
  const wrong = await joinError(b, `${room}/Bob`, [xml('password', {}, 'open up')]);
  assert.deepEqual([wrong.condition, wrong.type], ['not-authorized', 'auth']);
  const self = await join(b, `${room}/Bob`, [xml('password', {}, 'sesame')]);
  assert.ok(statusCodes(self).includes(110));
  // The password is never relayed in presence.
  assert.equal(self.getChild('x', MUC), undefined);
  // XEP-0045: everyone provides it, owners included (from another resource here).
  const a2 = await t.login('alice', { resource: 'second' });
  const ownerMissing = await joinError(a2, `${room}/Alice`);
  assert.equal(ownerMissing.condition, 'not-authorized');
  // Turning the protection off lets anyone in without a password.
  await configure(a, room, { 'muc#roomconfig_passwordprotectedroom': '0' });
  const c = await t.login('carol');
  await join(c, `${room}/Carol`);
  // A client may send only the secret: the room becomes protected.
  const room2 = `secret2@${MUC_DOMAIN}`;
  await createNewRoom(a, room2, 'Alice', { 'muc#roomconfig_roomsecret': 'only-secret' });
  assert.ok(featuresOf(await discoInfo(b, room2)).includes('muc_passwordprotected'));
  assert.equal((await joinError(b, `${room2}/Bob`)).condition, 'not-authorized');
  await join(b, `${room2}/Bob`, [xml('password', {}, 'only-secret')]);
  for (const x of [a, a2, b, c]) await x.stop();
});

test('max users: a full room is service-unavailable (wait); owners, admins and extra resources still enter', async () => {
  const a = await t.login('alice');
  const b = await t.login('bob');
  const c = await t.login('carol');
  const d = await t.login('dave');
  const room = `full1@${MUC_DOMAIN}`;
  await createNewRoom(a, room, 'Alice', { 'muc#roomconfig_maxusers': '2' });
  await join(b, `${room}/Bob`);
  const e = await joinError(c, `${room}/Carol`);
  assert.deepEqual([e.condition, e.type], ['service-unavailable', 'wait']);
  // Another resource of a present occupant, under the same nick, is not a new occupant.
  const b2 = await t.login('bob', { resource: 'phone' });
  await join(b2, `${room}/Bob`);
  // An admin enters a full room.
  setAffiliation(room, 'dave@localhost', 'admin');
  const self = await join(d, `${room}/Dave`);
  assert.equal(self.getChild('x', MUC_USER)?.getChild('item')?.attrs.role, 'moderator');
  // The owner too, from a new nick.
  const a2 = await t.login('alice', { resource: 'laptop' });
  await join(a2, `${room}/Alice2`);
  assert.equal(t.server.muc!.rooms.get(room)!.occupants.size, 4);
  for (const x of [a, a2, b, b2, c, d]) await x.stop();
});

test('nick conflict is conflict (cancel); a ban is forbidden (auth)', async () => {
  const a = await t.login('alice');
  const b = await t.login('bob');
  const c = await t.login('carol');
  const room = `conflict1@${MUC_DOMAIN}`;
  await joinInstant(a, `${room}/Alice`);
  const e = await joinError(b, `${room}/Alice`);
  assert.deepEqual([e.condition, e.type], ['conflict', 'cancel']);
  setAffiliation(room, 'carol@localhost', 'outcast');
  const banned = await joinError(c, `${room}/Carol`);
  assert.deepEqual([banned.condition, banned.type], ['forbidden', 'auth']);
  // The failed joins left nobody behind.
  assert.deepEqual([...t.server.muc!.rooms.get(room)!.occupants.keys()], ['Alice']);
  for (const x of [a, b, c]) await x.stop();
});

test('a locked new room is item-not-found to others until the owner submits the form (instant room)', async () => {
  const a = await t.login('alice');
  const b = await t.login('bob');
  const room = `locked1@${MUC_DOMAIN}`;
  const self = await join(a, `${room}/Alice`);
  assert.ok(statusCodes(self).includes(201));
  const e = await joinError(b, `${room}/Bob`);
  assert.deepEqual([e.condition, e.type], ['item-not-found', 'cancel']);
  await assert.rejects(discoInfo(b, room), (err: { condition?: string }) => err.condition === 'item-not-found');
  // Locked rooms are not listed.
  const items = await b.iq(xml('iq', { type: 'get', to: MUC_DOMAIN }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' })));
  assert.ok(!items.getChild('query')!.getChildren('item').some((i) => i.attrs.jid === room));
  // Instant room: an empty submit unlocks it with the defaults.
  await a.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: MUC_OWNER }, xml('x', { xmlns: DATA, type: 'submit' }))));
  const bobSelf = await join(b, `${room}/Bob`);
  assert.ok(statusCodes(bobSelf).includes(110));
  assert.ok(!statusCodes(bobSelf).includes(201));
  // No 104 broadcast for the instant room's empty form.
  await sleep(100);
  assert.ok(!a.received.some((el) => el.is('message') && statusCodes(el).includes(104)));
  for (const x of [a, b]) await x.stop();
});

// ---------------------------------------------------------------- mediated invitations

function inviteMsg(room: string, to: string, reason?: string): Element {
  return xml('message', { to: room }, xml('x', { xmlns: MUC_USER }, xml('invite', { to }, ...(reason ? [xml('reason', {}, reason)] : []))));
}

test('invites: forbidden to participants unless allowed; moderators invite; the invitee gets the room invitation', async () => {
  const a = await t.login('alice');
  const b = await t.login('bob');
  const d = await t.login('dave');
  const room = `invite1@${MUC_DOMAIN}`;
  await joinInstant(a, `${room}/Alice`);
  await join(b, `${room}/Bob`);
  const e = await messageError(b, inviteMsg(room, d.jid, 'come'));
  assert.deepEqual([e.condition, e.type], ['forbidden', 'auth']);

  // A moderator may always invite.
  const got = d.next((el) => el.is('message') && el.attrs.from === room && !!el.getChild('x', MUC_USER)?.getChild('invite'));
  await a.send(inviteMsg(room, d.jid, 'join us'));
  const m = await got;
  const inv = m.getChild('x', MUC_USER)!.getChild('invite')!;
  // Issue 10 item 8: in a semi-anonymous room the inviter is named by occupant JID.
  assert.equal(inv.attrs.from, `${room}/Alice`);
  assert.equal(inv.getChildText('reason'), 'join us');
  assert.equal(m.getChild('x', MUC_USER)!.getChild('password'), undefined);
  assert.equal(m.getChild('x', 'jabber:x:conference')?.attrs.jid, room);

  // With invitations allowed, participants invite too.
  await configure(a, room, { 'muc#roomconfig_allowinvites': '1' });
  const got2 = d.next((el) => el.is('message') && el.attrs.from === room && el.getChild('x', MUC_USER)?.getChild('invite')?.attrs.from === `${room}/Bob`);
  await b.send(inviteMsg(room, d.jid));
  await got2;

  // Where real JIDs are public, the real JID.
  await configure(a, room, { 'muc#roomconfig_whois': 'anyone' });
  const got3 = d.next((el) => el.is('message') && el.attrs.from === room && el.getChild('x', MUC_USER)?.getChild('invite')?.attrs.from === b.jid);
  await b.send(inviteMsg(room, d.jid));
  await got3;

  // A non-occupant may not invite; a malformed invitee is jid-malformed.
  const c = await t.login('carol');
  assert.equal((await messageError(c, inviteMsg(room, d.jid))).condition, 'not-acceptable');
  assert.equal((await messageError(b, inviteMsg(room, 'not@a@jid'))).condition, 'jid-malformed');
  for (const x of [a, b, c, d]) await x.stop();
});

test('invites: decline is relayed to the inviter from the room', async () => {
  const a = await t.login('alice');
  const d = await t.login('dave');
  const room = `invite2@${MUC_DOMAIN}`;
  await joinInstant(a, `${room}/Alice`);
  const got = a.next((el) => el.is('message') && el.attrs.from === room && !!el.getChild('x', MUC_USER)?.getChild('decline'));
  await d.send(xml('message', { to: room }, xml('x', { xmlns: MUC_USER }, xml('decline', { to: a.jid }, xml('reason', {}, 'too busy')))));
  const m = await got;
  const dec = m.getChild('x', MUC_USER)!.getChild('decline')!;
  assert.equal(dec.attrs.from, 'dave@localhost');
  assert.equal(dec.getChildText('reason'), 'too busy');
  for (const x of [a, d]) await x.stop();
});

test('invites: members-only rooms let admins invite, make the invitee a member, and carry the password', async () => {
  const a = await t.login('alice');
  const b = await t.login('bob');
  const c = await t.login('carol');
  const d = await t.login('dave');
  const room = `invite3@${MUC_DOMAIN}`;
  await createNewRoom(a, room, 'Alice', { 'muc#roomconfig_membersonly': '1', 'muc#roomconfig_passwordprotectedroom': '1', 'muc#roomconfig_roomsecret': 'pw' });
  setAffiliation(room, 'bob@localhost', 'member');
  await join(b, `${room}/Bob`, [xml('password', {}, 'pw')]);
  // A member may not invite unless the room allows invitations.
  assert.deepEqual(Object.values(await messageError(b, inviteMsg(room, d.jid))), ['auth', 'forbidden']);

  const got = c.next((el) => el.is('message') && el.attrs.from === room && !!el.getChild('x', MUC_USER)?.getChild('invite'));
  await a.send(inviteMsg(room, c.jid, 'welcome'));
  const m = await got;
  assert.equal(m.getChild('x', MUC_USER)!.getChildText('password'), 'pw');
  assert.equal(t.server.muc!.rooms.get(room)!.record.affiliations['carol@localhost'], 'member');
  const self = await join(c, `${room}/Carol`, [xml('password', {}, 'pw')]);
  assert.equal(self.getChild('x', MUC_USER)?.getChild('item')?.attrs.affiliation, 'member');

  // With invitations allowed, members invite (and the invitee becomes a member).
  await configure(a, room, { 'muc#roomconfig_allowinvites': '1' });
  const got2 = d.next((el) => el.is('message') && el.attrs.from === room && !!el.getChild('x', MUC_USER)?.getChild('invite'));
  await b.send(inviteMsg(room, d.jid));
  await got2;
  assert.equal(t.server.muc!.rooms.get(room)!.record.affiliations['dave@localhost'], 'member');
  for (const x of [a, b, c, d]) await x.stop();
});
