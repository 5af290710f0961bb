import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import { startWithUsers, xml, type TestClient, type TestServer } from '../helpers/server.ts';
import { configure, createNewRoom, join, leave, statusCodes, MUC, MUC_ADMIN, MUC_OWNER, MUC_USER } from '../helpers/muc.ts';
import { DATA, field, STANZAS } from '../helpers/stanza.ts';

// XEP-0045 sections 8 (moderator), 9 (admin) and 10 (owner) use cases, with real clients.

const REQUEST = 'http://jabber.org/protocol/muc#request';
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];

let t: TestServer;
before(async () => {
  t = await startWithUsers(USERS);
});
after(() => t.stop());

const roomJid = (name: string) => `${name}@conference.localhost`;
const bare = (user: string) => `${user}@localhost`;

/** Logs in the given users; the clients stop when the test ends. */
async function clients(tc: { after(fn: () => Promise<void>): void }, server: TestServer, ...users: string[]): Promise<TestClient[]> {
  const cs = await Promise.all(users.map((u) => server.login(u)));
  tc.after(async () => {
    for (const c of cs) await c.stop();
  });
  return cs;
}

function item(attrs: Record<string, string>, reason?: string): Element {
  const el = xml('item', attrs);
  if (reason !== undefined) el.append(xml('reason', {}, reason));
  return el;
}

function adminSet(c: TestClient, room: string, ...items: Element[]): Promise<Element> {
  return c.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: MUC_ADMIN }, ...items)));
}

async function adminGet(c: TestClient, room: string, attrs: Record<string, string>): Promise<Element[]> {
  const res = await c.iq(xml('iq', { type: 'get', to: room }, xml('query', { xmlns: MUC_ADMIN }, xml('item', attrs))));
  return res.getChild('query', MUC_ADMIN)!.getChildren('item');
}

/** The error condition the request failed with, or 'ok'. */
async function outcome(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (err: { condition?: string }) => err.condition ?? String(err),
  );
}

function condition(stanza: Element): string | undefined {
  const err = stanza.getChild('error');
  return err?.children.find((c): c is Element => typeof c !== 'string' && c.attrs.xmlns === STANZAS)?.name;
}

function presenceFrom(c: TestClient, from: string, match: (el: Element) => boolean = () => true): Promise<Element> {
  return c.next((el) => el.is('presence') && el.attrs.from === from && match(el));
}

const unavailable = (el: Element) => el.attrs.type === 'unavailable';
const available = (el: Element) => el.attrs.type === undefined;
const mucItem = (el: Element) => el.getChild('x', MUC_USER)!.getChild('item')!;

/** Sends a groupchat message and resolves with its echo, or with the error that came back. */
async function say(c: TestClient, room: string, body: string): Promise<Element> {
  const reply = c.next((el) => el.is('message') && (el.getChildText('body') === body || el.attrs.type === 'error'));
  await c.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, body)));
  return reply;
}

function requestForm(fields: Record<string, string>, type = 'submit'): Element {
  return xml('x', { xmlns: DATA, type }, field('FORM_TYPE', REQUEST), ...Object.entries(fields).map(([k, v]) => field(k, v)));
}

const formValue = (form: Element, name: string) => form.getChildren('field').find((f) => f.attrs.var === name)?.getChildText('value');

// ---------------------------------------------------------------------------- kick (8.2)

test('kick: 307 with actor and reason, 110 to the kicked, success before the broadcast', async (tc) => {
  const [a, b, c] = await clients(tc, t, 'alice', 'bob', 'carol');
  const room = roomJid('kick1');
  await createNewRoom(a, room, 'Alice');
  await join(b, `${room}/Bob`);
  await join(c, `${room}/Carol`);

  const bobSelf = presenceFrom(b, `${room}/Bob`, unavailable);
  const carolSees = presenceFrom(c, `${room}/Bob`, unavailable);
  const aliceSees = presenceFrom(a, `${room}/Bob`, unavailable);
  const result = await adminSet(a, room, item({ nick: 'Bob', role: 'none' }, 'Avaunt, you cullion!'));

  const self = await bobSelf;
  assert.deepEqual(statusCodes(self).sort(), [110, 307]);
  assert.equal(mucItem(self).attrs.role, 'none');
  assert.equal(mucItem(self).attrs.affiliation, 'none');
  assert.equal(mucItem(self).getChild('actor')?.attrs.nick, 'Alice');
  assert.equal(mucItem(self).getChildText('reason'), 'Avaunt, you cullion!');
  const other = await carolSees;
  assert.deepEqual(statusCodes(other), [307]);
  assert.equal(mucItem(other).getChildText('reason'), 'Avaunt, you cullion!');
  // "After removing the kicked occupant(s), the service MUST then inform the moderator of success"
  // and only then the remaining occupants.
  const seen = await aliceSees;
  assert.ok(a.received.includes(result) && a.received.indexOf(result) < a.received.indexOf(seen), 'the IQ result precedes the presence broadcast');

  // The kicked user is out: a groupchat message is refused.
  const refused = await say(b, room, 'still here?');
  assert.equal(refused.attrs.type, 'error');
  assert.equal(condition(refused), 'not-acceptable');
});

test('kick: permission and addressing errors', async (tc) => {
  const [a, b, c, d, e] = await clients(tc, t, 'alice', 'bob', 'carol', 'dave', 'erin');
  const room = roomJid('kick2');
  await createNewRoom(a, room, 'Alice');
  await join(b, `${room}/Bob`);
  await join(c, `${room}/Carol`);
  await join(d, `${room}/Dave`);
  await adminSet(a, room, item({ affiliation: 'admin', jid: bare('carol') }));
  await adminSet(a, room, item({ affiliation: 'member', jid: bare('dave') }));
  await adminSet(a, room, item({ nick: 'Bob', role: 'moderator' })); // an unaffiliated moderator

  const kick = (who: TestClient, nick: string) => outcome(adminSet(who, room, item({ nick, role: 'none' })));
  assert.equal(await kick(d, 'Bob'), 'forbidden', 'a participant may not kick');
  assert.equal(await kick(e, 'Dave'), 'forbidden', 'a non-occupant may not kick');
  assert.equal(await kick(a, 'Nobody'), 'item-not-found', 'no occupant has that nick');
  assert.equal(await kick(a, 'Alice'), 'conflict', 'a moderator may not kick itself');
  assert.equal(await kick(b, 'Alice'), 'not-allowed', 'an unaffiliated moderator cannot kick an owner');
  assert.equal(await kick(b, 'Carol'), 'not-allowed', 'nor an admin');
  assert.equal(await kick(b, 'Dave'), 'not-allowed', 'nor a member (a higher affiliation)');
  assert.equal(await kick(c, 'Alice'), 'not-allowed', 'an admin cannot kick an owner');

  const bad = (...items: Element[]) => outcome(adminSet(a, room, ...items));
  assert.equal(await bad(item({ nick: 'Dave' })), 'bad-request', 'neither role nor affiliation');
  assert.equal(await bad(item({ nick: 'Dave', role: 'none', affiliation: 'none' })), 'bad-request', 'both role and affiliation');
  assert.equal(await bad(item({ nick: 'Dave', role: 'king' })), 'bad-request', 'no such role');
  assert.equal(await bad(item({ role: 'none' })), 'bad-request', 'no nick');
  assert.equal(await bad(item({ jid: 'a@b@c', role: 'none' })), 'jid-malformed', 'a malformed JID');
  assert.equal(await outcome(a.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: MUC_ADMIN })))), 'bad-request', 'no item');

  // An admin may kick a moderator who is no admin; Dave, a member, is kickable by the owner.
  const bobGone = presenceFrom(b, `${room}/Bob`, unavailable);
  assert.equal(await kick(c, 'Bob'), 'ok');
  assert.deepEqual(statusCodes(await bobGone).sort(), [110, 307]);
  const daveGone = presenceFrom(d, `${room}/Dave`, unavailable);
  assert.equal(await kick(a, 'Dave'), 'ok');
  assert.equal(mucItem(await daveGone).attrs.affiliation, 'member');
});

// ---------------------------------------------------------------------------- voice (7.4, 8.3, 8.4)

test('voice: visitors of a moderated room are refused, granted and revoked voice', async (tc) => {
  const [a, b, c, d] = await clients(tc, t, 'alice', 'bob', 'carol', 'dave');
  const room = roomJid('voice1');
  await createNewRoom(a, room, 'Alice', { 'muc#roomconfig_moderatedroom': '1' });
  const bobJoin = await join(b, `${room}/Bob`);
  assert.equal(mucItem(bobJoin).attrs.role, 'visitor');

  const refused = await say(b, room, 'may I speak?');
  assert.equal(refused.attrs.type, 'error');
  assert.equal(condition(refused), 'forbidden');

  // Grant voice (8.3): success first, then presence to all, 110 to the occupant itself.
  const bobSelf = presenceFrom(b, `${room}/Bob`, available);
  const aliceSees = presenceFrom(a, `${room}/Bob`, available);
  const result = await adminSet(a, room, item({ nick: 'Bob', role: 'participant' }, 'A worthy witch indeed!'));
  const self = await bobSelf;
  assert.equal(mucItem(self).attrs.role, 'participant');
  assert.ok(statusCodes(self).includes(110));
  assert.equal(mucItem(self).getChildText('reason'), 'A worthy witch indeed!');
  assert.equal(mucItem(self).getChild('actor')?.attrs.nick, 'Alice');
  const seen = await aliceSees;
  assert.equal(mucItem(seen).attrs.role, 'participant');
  assert.ok(!statusCodes(seen).includes(110));
  assert.ok(a.received.includes(result) && a.received.indexOf(result) < a.received.indexOf(seen), 'the IQ result precedes the presence');
  assert.equal((await say(b, room, 'thank you')).attrs.type, 'groupchat');

  // Revoke voice (8.4).
  const revoked = presenceFrom(b, `${room}/Bob`, (el) => available(el) && mucItem(el).attrs.role === 'visitor');
  await adminSet(a, room, item({ nick: 'Bob', role: 'visitor' }));
  assert.ok(statusCodes(await revoked).includes(110));
  assert.equal(condition(await say(b, room, 'again?')), 'forbidden');

  // Only moderators change voice; nobody revokes the voice of an admin or owner; a moderator
  // cannot revoke voice from a user of its affiliation or above.
  assert.equal(await outcome(adminSet(b, room, item({ nick: 'Bob', role: 'participant' }))), 'forbidden');
  await adminSet(a, room, item({ affiliation: 'admin', jid: bare('carol') }));
  await join(c, `${room}/Carol`);
  assert.equal(await outcome(adminSet(a, room, item({ nick: 'Carol', role: 'visitor' }))), 'not-allowed', 'an admin keeps voice');
  assert.equal(await outcome(adminSet(c, room, item({ nick: 'Alice', role: 'participant' }))), 'not-allowed', 'an owner keeps moderator status');
  await join(d, `${room}/Dave`);
  await adminSet(a, room, item({ nick: 'Dave', role: 'moderator' }));
  await adminSet(a, room, item({ affiliation: 'member', jid: bare('bob') }));
  assert.equal(await outcome(adminSet(d, room, item({ nick: 'Bob', role: 'visitor' }))), 'not-allowed', 'a member outranks an unaffiliated moderator');
  assert.equal(await outcome(adminSet(c, room, item({ nick: 'Bob', role: 'visitor' }))), 'ok', 'an admin may');
});

// ---------------------------------------------------------------------------- moderator (9.6, 9.7)

test('moderator status: granted and revoked by owners and admins; real JIDs follow it', async (tc) => {
  const [a, b, c] = await clients(tc, t, 'alice', 'bob', 'carol');
  const room = roomJid('mod1'); // semi-anonymous: only moderators see real JIDs
  await createNewRoom(a, room, 'Alice');
  await join(c, `${room}/Carol`);
  const carolSeen = presenceFrom(b, `${room}/Carol`);
  await join(b, `${room}/Bob`);
  assert.equal(mucItem(await carolSeen).attrs.jid, undefined, 'a participant does not see real JIDs');

  const bobSelf = presenceFrom(b, `${room}/Bob`, (el) => mucItem(el).attrs.role === 'moderator');
  const carolWithJid = presenceFrom(b, `${room}/Carol`, (el) => mucItem(el).attrs.jid !== undefined);
  await adminSet(a, room, item({ nick: 'Bob', role: 'moderator' }));
  assert.ok(statusCodes(await bobSelf).includes(110));
  assert.equal(mucItem(await carolWithJid).attrs.jid, c.jid, 'a new moderator learns the real JIDs');

  assert.equal(await outcome(adminSet(b, room, item({ nick: 'Carol', role: 'moderator' }))), 'forbidden', 'only admins and owners grant moderator status');

  const demoted = presenceFrom(b, `${room}/Bob`, (el) => mucItem(el).attrs.role === 'participant');
  await adminSet(a, room, item({ nick: 'Bob', role: 'participant' }));
  assert.ok(statusCodes(await demoted).includes(110));

  await adminSet(a, room, item({ affiliation: 'admin', jid: bare('carol') }));
  assert.equal(await outcome(adminSet(c, room, item({ nick: 'Alice', role: 'participant' }))), 'not-allowed', 'an admin cannot revoke moderator status from an owner');
  assert.equal(await outcome(adminSet(c, room, item({ nick: 'Bob', role: 'moderator' }))), 'ok', 'an admin grants moderator status');
});

// ---------------------------------------------------------------------------- ban (9.1, 9.2)

test('ban: 301 with actor and reason, ban list, re-entry refused, errors', async (tc) => {
  const [a, b, c, d] = await clients(tc, t, 'alice', 'bob', 'carol', 'dave');
  const room = roomJid('ban1');
  await createNewRoom(a, room, 'Alice');
  await join(b, `${room}/Bob`);
  await join(c, `${room}/Carol`);

  const bobSelf = presenceFrom(b, `${room}/Bob`, unavailable);
  const carolSees = presenceFrom(c, `${room}/Bob`, unavailable);
  await adminSet(a, room, item({ affiliation: 'outcast', jid: bare('bob') }, 'Treason'));
  const self = await bobSelf;
  assert.deepEqual(statusCodes(self).sort(), [110, 301]);
  assert.equal(mucItem(self).attrs.affiliation, 'outcast');
  assert.equal(mucItem(self).attrs.role, 'none');
  assert.equal(mucItem(self).getChild('actor')?.attrs.nick, 'Alice');
  assert.equal(mucItem(self).getChildText('reason'), 'Treason');
  const other = await carolSees;
  assert.deepEqual(statusCodes(other), [301]);
  assert.equal(mucItem(other).attrs.affiliation, 'outcast');

  // A full JID stands for its bare JID (10.3).
  await adminSet(a, room, item({ affiliation: 'outcast', jid: 'erin@localhost/pda' }));
  const list = await adminGet(a, room, { affiliation: 'outcast' });
  assert.deepEqual(list.map((i) => i.attrs.jid).sort(), [bare('bob'), bare('erin')]);
  for (const i of list) {
    assert.equal(i.attrs.affiliation, 'outcast');
    assert.equal(i.attrs.role, undefined);
    assert.equal(i.attrs.nick, undefined);
  }

  const rejoin = b.next((el) => el.is('presence') && el.attrs.type === 'error');
  await b.send(xml('presence', { to: `${room}/Bob` }, xml('x', { xmlns: MUC })));
  assert.equal(condition(await rejoin), 'forbidden');

  const ban = (who: TestClient, jid: string) => outcome(adminSet(who, room, item({ affiliation: 'outcast', jid })));
  assert.equal(await ban(a, bare('alice')), 'conflict', 'an owner cannot ban itself');
  assert.equal(await ban(c, bare('frank')), 'forbidden', 'an unaffiliated occupant cannot ban');
  await adminSet(a, room, item({ affiliation: 'admin', jid: bare('carol') }), item({ affiliation: 'admin', jid: bare('dave') }));
  assert.equal(await ban(c, bare('carol')), 'conflict', 'an admin cannot ban itself');
  assert.equal(await ban(c, bare('alice')), 'not-allowed', 'an admin cannot ban an owner');
  assert.equal(await ban(c, bare('dave')), 'not-allowed', 'an admin cannot ban an admin');
  assert.equal(await ban(d, 'not@a@jid'), 'jid-malformed');
  assert.equal(await outcome(adminSet(a, room, item({ affiliation: 'outcast' }))), 'bad-request', 'no JID');
  assert.equal(await outcome(adminSet(a, room, item({ affiliation: 'boss', jid: bare('frank') }))), 'bad-request', 'no such affiliation');
  assert.equal(await ban(c, bare('frank')), 'ok', 'an admin bans an unaffiliated user');

  // Lifting the ban (9.2) lets the user back in.
  await adminSet(a, room, item({ affiliation: 'none', jid: bare('bob') }));
  assert.deepEqual((await adminGet(a, room, { affiliation: 'outcast' })).map((i) => i.attrs.jid).sort(), [bare('erin'), bare('frank')]);
  await join(b, `${room}/Bob`);
});

// ---------------------------------------------------------------------------- affiliations (9.3, 9.4, 10.3 to 10.8)

test('member, admin and owner: presence to all with 110 to the user, who may do what', async (tc) => {
  const [a, b, c] = await clients(tc, t, 'alice', 'bob', 'carol');
  const room = roomJid('aff1');
  await createNewRoom(a, room, 'Alice');
  await join(b, `${room}/Bob`);
  await join(c, `${room}/Carol`);

  const bobMember = presenceFrom(b, `${room}/Bob`, (el) => mucItem(el).attrs.affiliation === 'member');
  const carolSees = presenceFrom(c, `${room}/Bob`, (el) => mucItem(el).attrs.affiliation === 'member');
  await adminSet(a, room, item({ affiliation: 'member', jid: bare('bob'), nick: 'Bob' }, 'welcome'));
  const self = await bobMember;
  assert.ok(statusCodes(self).includes(110));
  assert.equal(mucItem(self).attrs.role, 'participant');
  assert.equal(mucItem(self).getChildText('reason'), 'welcome');
  assert.ok(!statusCodes(await carolSees).includes(110));

  const bobAdmin = presenceFrom(b, `${room}/Bob`, (el) => mucItem(el).attrs.affiliation === 'admin');
  await adminSet(a, room, item({ affiliation: 'admin', jid: bare('bob') }));
  assert.equal(mucItem(await bobAdmin).attrs.role, 'moderator', 'an admin is a moderator');

  const set = (who: TestClient, affiliation: string, user: string) => outcome(adminSet(who, room, item({ affiliation, jid: bare(user) })));
  assert.equal(await set(c, 'member', 'dave'), 'forbidden', 'an unaffiliated occupant cannot grant membership');
  assert.equal(await set(b, 'member', 'carol'), 'ok', 'an admin grants membership');
  assert.equal(await set(b, 'admin', 'carol'), 'forbidden', 'only owners grant admin status');
  assert.equal(await set(b, 'owner', 'dave'), 'forbidden', 'only owners grant owner status');
  assert.equal(await set(b, 'none', 'alice'), 'forbidden', 'only owners revoke owner status');
  assert.equal(await set(b, 'none', 'carol'), 'ok', 'an admin revokes membership');

  const carolOwner = presenceFrom(c, `${room}/Carol`, (el) => mucItem(el).attrs.affiliation === 'owner');
  await adminSet(a, room, item({ affiliation: 'owner', jid: bare('carol') }));
  const co = await carolOwner;
  assert.equal(mucItem(co).attrs.role, 'moderator');
  assert.ok(statusCodes(co).includes(110));

  // Revoking admin status (10.7) lowers the role to what the new affiliation gives.
  const bobDemoted = presenceFrom(b, `${room}/Bob`, (el) => mucItem(el).attrs.affiliation === 'member');
  await adminSet(a, room, item({ affiliation: 'member', jid: bare('bob') }));
  assert.equal(mucItem(await bobDemoted).attrs.role, 'participant');
});

test('lists: who may read the owner, admin, member and ban lists', async (tc) => {
  const [a, b, c, d] = await clients(tc, t, 'alice', 'bob', 'carol', 'dave');
  const room = roomJid('lists1');
  await createNewRoom(a, room, 'Alice');
  await join(b, `${room}/Bob`);
  await join(c, `${room}/Carol`);
  await adminSet(
    a,
    room,
    item({ affiliation: 'admin', jid: bare('bob') }),
    item({ affiliation: 'member', jid: bare('carol') }),
    item({ affiliation: 'member', jid: bare('dave') }),
    item({ affiliation: 'owner', jid: bare('erin') }),
  );

  assert.deepEqual((await adminGet(a, room, { affiliation: 'owner' })).map((i) => i.attrs.jid).sort(), [bare('alice'), bare('erin')]);
  const admins = await adminGet(a, room, { affiliation: 'admin' });
  assert.deepEqual(admins.map((i) => [i.attrs.jid, i.attrs.nick, i.attrs.role]), [[bare('bob'), 'Bob', undefined]]);
  const members = await adminGet(b, room, { affiliation: 'member' });
  assert.deepEqual(members.map((i) => i.attrs.jid).sort(), [bare('carol'), bare('dave')]);
  assert.equal(members.find((i) => i.attrs.jid === bare('carol'))?.attrs.nick, 'Carol', 'a present member is listed with its nick');
  assert.deepEqual(await adminGet(b, room, { affiliation: 'outcast' }), []);

  const get = (who: TestClient, attrs: Record<string, string>) => outcome(adminGet(who, room, attrs));
  // Semi-anonymous room: the owner and admin lists are for owners, the member list for admins.
  assert.equal(await get(b, { affiliation: 'owner' }), 'forbidden');
  assert.equal(await get(b, { affiliation: 'admin' }), 'forbidden');
  assert.equal(await get(c, { affiliation: 'member' }), 'forbidden');
  assert.equal(await get(d, { affiliation: 'outcast' }), 'forbidden');
  assert.equal(await get(a, { affiliation: 'none' }), 'bad-request', 'there is no none list');
  assert.equal(await get(a, { affiliation: 'member', role: 'participant' }), 'bad-request');
  assert.equal(await get(a, {}), 'bad-request');

  // Non-anonymous room: admins may read the owner and admin lists, members the member list.
  await a.iq(
    xml('iq', { type: 'set', to: room }, xml('query', { xmlns: MUC_OWNER }, xml('x', { xmlns: DATA, type: 'submit' }, xml('field', { var: 'muc#roomconfig_whois' }, xml('value', {}, 'anyone'))))),
  );
  assert.equal(await get(b, { affiliation: 'owner' }), 'ok');
  assert.equal(await get(c, { affiliation: 'member' }), 'ok');
  assert.equal(await get(c, { affiliation: 'admin' }), 'forbidden');
  assert.equal(await get(c, { affiliation: 'outcast' }), 'forbidden');
});

test('lists: moderators read the voice and visitor lists, admins the moderator list', async (tc) => {
  const [a, b, c] = await clients(tc, t, 'alice', 'bob', 'carol');
  const room = roomJid('lists2');
  await createNewRoom(a, room, 'Alice');
  await join(b, `${room}/Bob`);
  await join(c, `${room}/Carol`);

  const voice = await adminGet(a, room, { role: 'participant' });
  assert.deepEqual(
    voice.map((i) => ({ ...i.attrs })).sort((x, y) => String(x.nick).localeCompare(String(y.nick))),
    [
      { affiliation: 'none', jid: b.jid, nick: 'Bob', role: 'participant' },
      { affiliation: 'none', jid: c.jid, nick: 'Carol', role: 'participant' },
    ],
  );
  const mods = await adminGet(a, room, { role: 'moderator' });
  assert.deepEqual(mods.map((i) => ({ ...i.attrs })), [{ affiliation: 'owner', jid: a.jid, nick: 'Alice', role: 'moderator' }]);
  assert.deepEqual(await adminGet(a, room, { role: 'visitor' }), []);

  const get = (who: TestClient, attrs: Record<string, string>) => outcome(adminGet(who, room, attrs));
  assert.equal(await get(b, { role: 'participant' }), 'forbidden', 'a participant may not');
  await adminSet(a, room, item({ nick: 'Bob', role: 'moderator' }));
  assert.equal(await get(b, { role: 'participant' }), 'ok', 'a moderator may');
  assert.equal(await get(b, { role: 'moderator' }), 'forbidden', 'the moderator list is for admins and owners');
  assert.equal(await get(a, { role: 'none' }), 'bad-request');
});

// ---------------------------------------------------------------------------- members-only (9.4)

test('members-only: revoking membership removes the occupant with 321 only', async (tc) => {
  const [a, b, c] = await clients(tc, t, 'alice', 'bob', 'carol');
  const room = roomJid('mo1');
  await createNewRoom(a, room, 'Alice', { 'muc#roomconfig_membersonly': '1' });
  await adminSet(a, room, item({ affiliation: 'member', jid: bare('bob') }), item({ affiliation: 'member', jid: bare('carol') }));
  await join(b, `${room}/Bob`);
  await join(c, `${room}/Carol`);

  const bobSelf = presenceFrom(b, `${room}/Bob`, unavailable);
  const carolSees = presenceFrom(c, `${room}/Bob`, unavailable);
  const mark = c.received.length;
  await adminSet(a, room, item({ affiliation: 'none', jid: bare('bob') }, 'Not so worthy after all!'));
  const self = await bobSelf;
  assert.deepEqual(statusCodes(self).sort(), [110, 321]);
  assert.equal(mucItem(self).attrs.affiliation, 'none');
  assert.equal(mucItem(self).getChild('actor')?.attrs.nick, 'Alice');
  assert.deepEqual(statusCodes(await carolSees), [321]);
  // "the service SHOULD NOT send both a de-affiliation presence ... followed by room-removal presence"
  const fromBob = c.received.slice(mark).filter((el) => el.is('presence') && el.attrs.from === `${room}/Bob`);
  assert.deepEqual(fromBob.map((el) => el.attrs.type), ['unavailable']);

  const refused = b.next((el) => el.is('presence') && el.attrs.type === 'error');
  await b.send(xml('presence', { to: `${room}/Bob` }, xml('x', { xmlns: MUC })));
  assert.equal(condition(await refused), 'registration-required');
});

// ---------------------------------------------------------------------------- owners (10.3 to 10.6)

test('owners: the last owner cannot step down; with another owner it can', async (tc) => {
  const [a] = await clients(tc, t, 'alice');
  const room = roomJid('own1');
  await createNewRoom(a, room, 'Alice');
  const set = (affiliation: string, user: string) => outcome(adminSet(a, room, item({ affiliation, jid: bare(user) })));
  assert.equal(await set('admin', 'alice'), 'conflict');
  assert.equal(await set('none', 'alice'), 'conflict');
  assert.equal(await set('member', 'alice'), 'conflict');

  assert.equal(await set('owner', 'bob'), 'ok');
  // Removing both owners at once is refused as a whole.
  assert.equal(await outcome(adminSet(a, room, item({ affiliation: 'admin', jid: bare('alice') }), item({ affiliation: 'none', jid: bare('bob') }))), 'conflict');
  assert.deepEqual((await adminGet(a, room, { affiliation: 'owner' })).map((i) => i.attrs.jid).sort(), [bare('alice'), bare('bob')]);

  const demoted = presenceFrom(a, `${room}/Alice`, (el) => mucItem(el).attrs.affiliation === 'admin');
  assert.equal(await set('admin', 'alice'), 'ok');
  const self = await demoted;
  assert.equal(mucItem(self).attrs.role, 'moderator');
  assert.ok(statusCodes(self).includes(110));
  assert.equal(await outcome(adminGet(a, room, { affiliation: 'admin' })), 'forbidden', 'no longer an owner');
});

// ---------------------------------------------------------------------------- bulk changes

test('bulk changes: several items in one IQ, all or nothing', async (tc) => {
  const [a, b, c] = await clients(tc, t, 'alice', 'bob', 'carol');
  const room = roomJid('bulk1');
  await createNewRoom(a, room, 'Alice');
  await join(b, `${room}/Bob`);
  await join(c, `${room}/Carol`);
  const members = async () => (await adminGet(a, room, { affiliation: 'member' })).map((i) => i.attrs.jid).sort();

  const bobMember = presenceFrom(b, `${room}/Bob`, (el) => mucItem(el).attrs.affiliation === 'member');
  await adminSet(a, room, item({ affiliation: 'member', jid: bare('bob') }), item({ affiliation: 'member', jid: bare('dave') }));
  await bobMember;
  assert.deepEqual(await members(), [bare('bob'), bare('dave')]);

  // One refused item refuses them all: nothing changes, nobody hears of anything.
  const before = b.received.length;
  assert.equal(
    await outcome(adminSet(a, room, item({ affiliation: 'none', jid: bare('bob') }), item({ affiliation: 'member', jid: bare('erin') }), item({ affiliation: 'outcast', jid: bare('alice') }))),
    'conflict',
  );
  assert.deepEqual(await members(), [bare('bob'), bare('dave')]);
  assert.equal(await outcome(adminSet(a, room, item({ nick: 'Carol', role: 'none' }), item({ nick: 'Nobody', role: 'none' }))), 'item-not-found');
  assert.deepEqual((await adminGet(a, room, { role: 'participant' })).map((i) => i.attrs.nick).sort(), ['Bob', 'Carol']);
  assert.equal(b.received.slice(before).filter((el) => el.is('presence')).length, 0);

  // Roles and affiliations mixed, all valid.
  const bobGone = presenceFrom(b, `${room}/Bob`, unavailable);
  const carolVisitor = presenceFrom(c, `${room}/Carol`, (el) => mucItem(el).attrs.role === 'visitor');
  await adminSet(a, room, item({ nick: 'Bob', role: 'none' }), item({ nick: 'Carol', role: 'visitor' }), item({ affiliation: 'outcast', jid: bare('erin') }));
  assert.deepEqual(statusCodes(await bobGone).sort(), [110, 307]);
  await carolVisitor;
  assert.deepEqual((await adminGet(a, room, { affiliation: 'outcast' })).map((i) => i.attrs.jid), [bare('erin')]);
});

// ---------------------------------------------------------------------------- voice requests (7.13, 8.6)

test('voice requests: forwarded to moderators, approved by a moderator', async (tc) => {
  const [a, b, c, d, f] = await clients(tc, t, 'alice', 'bob', 'carol', 'dave', 'frank');
  const room = roomJid('vr1');
  await createNewRoom(a, room, 'Alice', { 'muc#roomconfig_moderatedroom': '1' });
  await adminSet(a, room, item({ affiliation: 'admin', jid: bare('carol') }));
  await join(c, `${room}/Carol`);
  await join(b, `${room}/Bob`);
  await join(d, `${room}/Dave`);

  const isApproval = (el: Element) => el.is('message') && el.attrs.from === room && el.getChild('x', DATA)?.attrs.type === 'form';
  const toAlice = a.next(isApproval);
  const toCarol = c.next(isApproval);
  await b.send(xml('message', { to: room }, requestForm({ 'muc#role': 'participant' })));
  const [formA, formC] = await Promise.all([toAlice, toCarol]);
  const form = formA.getChild('x', DATA)!;
  assert.equal(formValue(form, 'FORM_TYPE'), REQUEST);
  assert.equal(formValue(form, 'muc#role'), 'participant');
  assert.equal(formValue(form, 'muc#jid'), b.jid);
  assert.equal(formValue(form, 'muc#roomnick'), 'Bob');
  assert.equal(formValue(form, 'muc#request_allow'), '0');
  assert.ok(formC.getChild('x', DATA));

  // A visitor cannot approve; a non-occupant cannot ask; only voice can be asked for.
  const approval = (allow: string) => requestForm({ 'muc#role': 'participant', 'muc#jid': b.jid, 'muc#roomnick': 'Bob', 'muc#request_allow': allow });
  const daveError = d.next((el) => el.is('message') && el.attrs.type === 'error');
  await d.send(xml('message', { to: room }, approval('true')));
  assert.equal(condition(await daveError), 'forbidden');
  const frankError = f.next((el) => el.is('message') && el.attrs.type === 'error');
  await f.send(xml('message', { to: room }, requestForm({ 'muc#role': 'participant' })));
  assert.equal(condition(await frankError), 'forbidden');
  const badRole = d.next((el) => el.is('message') && el.attrs.type === 'error');
  await d.send(xml('message', { to: room }, requestForm({ 'muc#role': 'moderator' })));
  assert.equal(condition(await badRole), 'bad-request');

  // Declining changes nothing; approving grants voice with the usual presence.
  await a.send(xml('message', { to: room }, approval('false')));
  assert.deepEqual((await adminGet(a, room, { role: 'visitor' })).map((i) => i.attrs.nick).sort(), ['Bob', 'Dave']);
  const bobVoiced = presenceFrom(b, `${room}/Bob`, (el) => mucItem(el).attrs.role === 'participant');
  await a.send(xml('message', { to: room }, approval('true')));
  const self = await bobVoiced;
  assert.ok(statusCodes(self).includes(110));
  assert.equal(mucItem(self).getChild('actor')?.attrs.nick, 'Alice');
  assert.equal((await say(b, room, 'I have voice')).attrs.type, 'groupchat');

  // Approving someone who is gone.
  const gone = a.next((el) => el.is('message') && el.attrs.type === 'error');
  await a.send(xml('message', { to: room }, requestForm({ 'muc#role': 'participant', 'muc#jid': 'ghost@localhost/x', 'muc#roomnick': 'Ghost', 'muc#request_allow': '1' })));
  assert.equal(condition(await gone), 'item-not-found');
});

// ---------------------------------------------------------------------------- persistence

test('affiliations of absent users are stored and survive a restart', async (tc) => {
  const t2 = await startWithUsers(USERS);
  tc.after(() => t2.stop());
  const room = roomJid('persist1');
  let [a] = await clients(tc, t2, 'alice');
  await createNewRoom(a!, room, 'Alice', { 'muc#roomconfig_persistentroom': '1' });
  await adminSet(
    a!,
    room,
    item({ affiliation: 'member', jid: bare('dave'), nick: 'Davey' }),
    item({ affiliation: 'outcast', jid: bare('erin') }, 'Spam'),
    item({ affiliation: 'admin', jid: bare('bob') }),
  );

  await t2.restart();
  [a] = await clients(tc, t2, 'alice');
  // An owner manages affiliations without being in the room.
  await adminSet(a!, room, item({ affiliation: 'member', jid: bare('frank') }));
  assert.deepEqual((await adminGet(a!, room, { affiliation: 'member' })).map((i) => [i.attrs.jid, i.attrs.nick]).sort(), [
    [bare('dave'), 'Davey'],
    [bare('frank'), undefined],
  ]);
  assert.deepEqual((await adminGet(a!, room, { affiliation: 'outcast' })).map((i) => [i.attrs.jid, i.getChildText('reason')]), [[bare('erin'), 'Spam']]);
  assert.deepEqual((await adminGet(a!, room, { affiliation: 'admin' })).map((i) => i.attrs.jid), [bare('bob')]);

  const [e, b] = await clients(tc, t2, 'erin', 'bob');
  const refused = e.next((el) => el.is('presence') && el.attrs.type === 'error');
  await e.send(xml('presence', { to: `${room}/Erin` }, xml('x', { xmlns: MUC })));
  assert.equal(condition(await refused), 'forbidden');
  const bobSelf = await join(b, `${room}/Bob`);
  assert.equal(mucItem(bobSelf).attrs.affiliation, 'admin');
  assert.equal(mucItem(bobSelf).attrs.role, 'moderator');
});

// ---------------------------------------------------------------------------- ban reasons (9.1, 9.2)

test('ban reasons: the ban list gives each reason; a new affiliation drops it', async (tc) => {
  const [a] = await clients(tc, t, 'alice');
  const room = roomJid('banreason1');
  await createNewRoom(a, room, 'Alice');
  await adminSet(a, room, item({ affiliation: 'outcast', jid: bare('bob') }, 'Treason'), item({ affiliation: 'outcast', jid: bare('erin') }));
  const reasons = async () => Object.fromEntries((await adminGet(a, room, { affiliation: 'outcast' })).map((i) => [i.attrs.jid, i.getChildText('reason')]));
  assert.deepEqual(await reasons(), { [bare('bob')]: 'Treason', [bare('erin')]: null });

  // Lifting the ban and banning again without a reason leaves no reason behind.
  await adminSet(a, room, item({ affiliation: 'none', jid: bare('bob') }));
  await adminSet(a, room, item({ affiliation: 'outcast', jid: bare('bob') }));
  assert.deepEqual(await reasons(), { [bare('bob')]: null, [bare('erin')]: null });
  // A ban given again with a reason replaces none; membership drops the reason, and so does a
  // ban given afresh after it.
  await adminSet(a, room, item({ affiliation: 'outcast', jid: bare('erin') }, 'Spam'));
  assert.equal((await reasons())[bare('erin')], 'Spam');
  await adminSet(a, room, item({ affiliation: 'member', jid: bare('erin') }));
  await adminSet(a, room, item({ affiliation: 'outcast', jid: bare('erin') }));
  assert.equal((await reasons())[bare('erin')], null);
  // Reasons are not given in the other lists.
  await adminSet(a, room, item({ affiliation: 'member', jid: bare('frank') }, 'welcome'));
  const members = await adminGet(a, room, { affiliation: 'member' });
  assert.deepEqual(members.map((i) => [i.attrs.jid, i.getChild('reason')]), [[bare('frank'), undefined]]);
});

// ---------------------------------------------------------------------------- domain bans (9.1)

test('domain bans: a bare domain outcast refuses every user of the domain without an affiliation of its own', async (tc) => {
  const [a, b, c, d] = await clients(tc, t, 'alice', 'bob', 'carol', 'dave');
  const room = roomJid('domainban1');
  await createNewRoom(a, room, 'Alice');
  await join(c, `${room}/Carol`);
  await adminSet(a, room, item({ affiliation: 'member', jid: bare('dave') }));

  // Banning the domain removes its unaffiliated occupants (301); the owner stays.
  const carolGone = presenceFrom(c, `${room}/Carol`, unavailable);
  const aliceSees = presenceFrom(a, `${room}/Carol`, unavailable);
  await adminSet(a, room, item({ affiliation: 'outcast', jid: 'localhost' }, 'Whole server'));
  const gone = await carolGone;
  assert.deepEqual(statusCodes(gone).sort(), [110, 301]);
  assert.equal(mucItem(gone).attrs.affiliation, 'outcast');
  assert.equal(mucItem(gone).getChildText('reason'), 'Whole server');
  assert.deepEqual(statusCodes(await aliceSees), [301]);
  assert.equal((await say(a, room, 'still here')).attrs.type, 'groupchat', 'the owner keeps its own affiliation');

  const refused = b.next((el) => el.is('presence') && el.attrs.type === 'error');
  await b.send(xml('presence', { to: `${room}/Bob` }, xml('x', { xmlns: MUC })));
  assert.equal(condition(await refused), 'forbidden');

  // A user's own affiliation comes before the domain's ban.
  const daveSelf = await join(d, `${room}/Dave`);
  assert.equal(mucItem(daveSelf).attrs.affiliation, 'member');

  const list = await adminGet(a, room, { affiliation: 'outcast' });
  assert.deepEqual(list.map((i) => [i.attrs.jid, i.getChildText('reason')]), [['localhost', 'Whole server']]);
  // Only the outcast entry of a domain applies to its users: the member list has no domain item,
  // and the user lists are unchanged.
  assert.deepEqual((await adminGet(a, room, { affiliation: 'member' })).map((i) => i.attrs.jid), [bare('dave')]);

  // Lifting the domain ban lets the domain back in.
  await adminSet(a, room, item({ affiliation: 'none', jid: 'localhost' }));
  const bobSelf = await join(b, `${room}/Bob`);
  assert.equal(mucItem(bobSelf).attrs.affiliation, 'none');
});

// ---------------------------------------------------------------------------- voice across visits (8.3, 8.4)

test('voice across visits: granted or revoked voice of an unaffiliated user holds on rejoining a moderated room', async (tc) => {
  const [a, b, c] = await clients(tc, t, 'alice', 'bob', 'carol');
  const room = roomJid('visits1');
  await createNewRoom(a, room, 'Alice', { 'muc#roomconfig_moderatedroom': '1', 'muc#roomconfig_persistentroom': '1' });
  const rejoinRole = async (who: TestClient, nick: string) => {
    await leave(who, `${room}/${nick}`);
    return mucItem(await join(who, `${room}/${nick}`)).attrs.role;
  };

  assert.equal(mucItem(await join(b, `${room}/Bob`)).attrs.role, 'visitor');
  await adminSet(a, room, item({ nick: 'Bob', role: 'participant' }));
  assert.equal(await rejoinRole(b, 'Bob'), 'participant', 'granted voice is kept');
  assert.equal((await say(b, room, 'back with voice')).attrs.type, 'groupchat');

  // Revoked from a participant (the default of an unmoderated room, say): kept too.
  await adminSet(a, room, item({ nick: 'Bob', role: 'visitor' }));
  assert.equal(await rejoinRole(b, 'Bob'), 'visitor', 'revoked voice is kept');

  // Others keep the default role.
  assert.equal(mucItem(await join(c, `${room}/Carol`)).attrs.role, 'visitor');

  // A voice request approved by a moderator counts as granted voice.
  const form = a.next((el) => el.is('message') && el.attrs.from === room && el.getChild('x', DATA)?.attrs.type === 'form');
  await b.send(xml('message', { to: room }, requestForm({ 'muc#role': 'participant' })));
  const request = (await form).getChild('x', DATA)!;
  await a.send(
    xml('message', { to: room }, requestForm({ 'muc#role': 'participant', 'muc#jid': formValue(request, 'muc#jid')!, 'muc#roomnick': 'Bob', 'muc#request_allow': 'true' })),
  );
  await presenceFrom(b, `${room}/Bob`, (el) => available(el) && mucItem(el).attrs.role === 'participant');
  assert.equal(await rejoinRole(b, 'Bob'), 'participant');

  // Only in a moderated room: unmoderated, everyone enters with voice; moderated again, it holds.
  await adminSet(a, room, item({ nick: 'Carol', role: 'participant' }));
  await adminSet(a, room, item({ nick: 'Bob', role: 'visitor' }));
  await leave(b, `${room}/Bob`);
  await configure(a, room, { 'muc#roomconfig_moderatedroom': '0' });
  assert.equal(mucItem(await join(b, `${room}/Bob`)).attrs.role, 'participant');
  await leave(b, `${room}/Bob`);
  await configure(a, room, { 'muc#roomconfig_moderatedroom': '1' });
  assert.equal(mucItem(await join(b, `${room}/Bob`)).attrs.role, 'visitor');

  // A change of affiliation starts over from the default: Carol, granted voice, becomes a member
  // and loses the membership while away; she comes back a visitor.
  await leave(c, `${room}/Carol`);
  await adminSet(a, room, item({ affiliation: 'member', jid: bare('carol') }));
  await adminSet(a, room, item({ affiliation: 'none', jid: bare('carol') }));
  assert.equal(mucItem(await join(c, `${room}/Carol`)).attrs.role, 'visitor');
});
