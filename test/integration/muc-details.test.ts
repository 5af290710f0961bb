import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWithUsers, xml, type TestClient, type TestServer } from '../helpers/server.ts';
import { isIq, NS, RawWs } from '../helpers/raw.ts';
import { groupchat, join, joinInstant, MUC, MUC_DOMAIN } from '../helpers/muc.ts';
import { SID } from '../helpers/stanza.ts';

const ROOM = `details@${MUC_DOMAIN}`;

let t: TestServer;
let alice: TestClient;
let bob: TestClient;

before(async () => {
  t = await startWithUsers(['alice', 'bob', 'carol']);
  alice = await t.login('alice');
  bob = await t.login('bob');
  await joinInstant(alice, `${ROOM}/Alice`);
  await join(bob, `${ROOM}/Bob`);
});
after(() => t.stop());

/** The `by` of the error answering `stanza` (sent with a fresh id). */
async function errorBy(c: TestClient, stanza: ReturnType<typeof xml>): Promise<string | undefined> {
  const id = `by${Math.random().toString(36).slice(2)}`;
  stanza.attrs.id = id;
  const reply = c.next((el) => el.attrs.id === id && el.attrs.type === 'error');
  await c.send(stanza);
  return (await reply).getChild('error')!.attrs.by as string | undefined;
}

// Issue 10 item 3: RFC 6120 8.3.2, the error names the entity that generated it.
test("errors from a room say by='room', errors from the service say by='service'", async () => {
  const carol = await t.login('carol');
  assert.equal(await errorBy(carol, groupchat(ROOM, 'not joined')), ROOM, 'a groupchat message from a non-occupant');
  assert.equal(await errorBy(carol, xml('message', { to: `${ROOM}/Nobody`, type: 'chat' }, xml('body', {}, 'pm'))), ROOM, 'an error for an occupant JID comes from the room');
  assert.equal(await errorBy(carol, xml('iq', { type: 'get', to: `nosuchroom@${MUC_DOMAIN}` }, xml('query', { xmlns: 'urn:example:none' }))), `nosuchroom@${MUC_DOMAIN}`);
  assert.equal(await errorBy(carol, xml('iq', { type: 'get', to: MUC_DOMAIN }, xml('query', { xmlns: 'urn:example:none' }))), MUC_DOMAIN);
  await carol.stop();
});

// Issue 10 item 13: a client cannot plant a stanza-id that claims to come from the room.
test('a spoofed stanza-id claiming the room (in another letter case) is stripped', async () => {
  const got = bob.next((el) => el.is('message') && el.getChildText('body') === 'spoof');
  await alice.send(groupchat(ROOM, 'spoof', [xml('stanza-id', { xmlns: SID, id: 'forged', by: 'Details@Conference.LOCALHOST' })]));
  const ids = (await got).getChildren('stanza-id', SID);
  assert.equal(ids.length, 1, 'only the room’s own stanza-id');
  assert.notEqual(ids[0]!.attrs.id, 'forged');
  assert.equal(ids[0]!.attrs.by, ROOM);
});

// Issue 10 item 13, RFC 7395 3.5: every frame is a fully namespaced element.
test("every stanza sent over WebSocket declares xmlns='jabber:client'", async () => {
  const ws = await RawWs.login(`ws://127.0.0.1:${t.server.ports.http}/xmpp-websocket`, 'carol');
  ws.send(`<presence xmlns='jabber:client' to='${ROOM}/Carol'><x xmlns='${MUC}'/></presence>`);
  await ws.next((el) => el.name === 'presence' && el.attrs.from === `${ROOM}/Carol`);
  await alice.send(groupchat(ROOM, 'to ws'));
  await ws.next((el) => el.name === 'message' && el.children.some((c) => typeof c !== 'string' && c.name === 'body'));
  ws.send(`<iq xmlns='jabber:client' type='get' id='ping1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
  await ws.next(isIq('ping1'));
  const stanzas = ws.all.filter((el) => ['message', 'presence', 'iq'].includes(el.name));
  assert.ok(stanzas.length >= 4, `got ${stanzas.length} stanzas`);
  for (const el of stanzas) assert.equal(el.attrs.xmlns, NS.CLIENT, el.toString().slice(0, 120));
  assert.deepEqual(ws.badFrames, []);
  ws.close();
});

// Issue 10 item 15: clients show an option's label (profanity printed "[anyone] (null)").
test('every option of the room configuration form has a label', async () => {
  const form = await alice.iq(xml('iq', { type: 'get', to: ROOM }, xml('query', { xmlns: 'http://jabber.org/protocol/muc#owner' })));
  const options = form.getChild('query')!.getChild('x', 'jabber:x:data')!.getChildren('field').flatMap((f) => f.getChildren('option').map((o) => ({ field: f.attrs.var as string, label: o.attrs.label as string | undefined })));
  assert.ok(options.length >= 10, `${options.length} options`);
  for (const o of options) assert.ok(o.label && o.label.trim(), `an option of ${o.field} has no label`);
});

// Issue 10 item 2: a leave shows the real JID to those who may see it (here: moderators).
test('the unavailable presence of a leaving occupant carries its real JID to moderators only, in a semi-anonymous room', async () => {
  const room = `leave-jid@${MUC_DOMAIN}`;
  const carol = await t.login('carol', { resource: 'leave' });
  const dave = await t.login('bob', { resource: 'leaver' });
  await joinInstant(alice, `${room}/Alice`);
  await join(carol, `${room}/Carol`);
  await join(dave, `${room}/Leaver`);
  const isGone = (el: ReturnType<typeof xml>) => el.is('presence') && el.attrs.from === `${room}/Leaver` && el.attrs.type === 'unavailable';
  const toAlice = alice.next(isGone);
  const toCarol = carol.next(isGone);
  await dave.send(xml('presence', { to: `${room}/Leaver`, type: 'unavailable' }));
  const item = (el: ReturnType<typeof xml>) => el.getChild('x', 'http://jabber.org/protocol/muc#user')!.getChild('item')!;
  assert.equal(item(await toAlice).attrs.jid, dave.jid, 'the moderator sees who left');
  assert.equal(item(await toCarol).attrs.jid, undefined, 'a participant does not');
  await carol.stop();
  await dave.stop();
});

// Issue 10 item 1: XEP-0045 9.3-9.8 for a user who is not in the room.
test('an affiliation change of an absent user is told to occupants (real JID to those who may see it) and to the user with status 101', async () => {
  const room = `absent-aff@${MUC_DOMAIN}`;
  const carol = await t.login('carol', { resource: 'aff' });
  const outside = await t.login('bob', { resource: 'outside' });
  // Available, so that a message to the bare JID reaches this resource.
  await outside.send(xml('presence'));
  await joinInstant(alice, `${room}/Alice`);
  await join(carol, `${room}/Carol`);
  const isNotice = (el: ReturnType<typeof xml>) => el.is('message') && el.attrs.from === room && !!el.getChild('x', 'http://jabber.org/protocol/muc#user')?.getChild('item');
  const toAlice = alice.next(isNotice);
  const toCarol = carol.next(isNotice);
  const toBob = outside.next(isNotice);
  const reply = await alice.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: 'http://jabber.org/protocol/muc#admin' }, xml('item', { jid: 'bob@localhost', affiliation: 'member' }))));
  assert.equal(reply.attrs.type, 'result');
  const item = (el: ReturnType<typeof xml>) => el.getChild('x', 'http://jabber.org/protocol/muc#user')!.getChild('item')!;
  const a = await toAlice;
  assert.deepEqual([item(a).attrs.affiliation, item(a).attrs.jid], ['member', 'bob@localhost'], 'the moderator sees whose affiliation changed');
  const c = await toCarol;
  assert.deepEqual([item(c).attrs.affiliation, item(c).attrs.jid], ['member', undefined], 'a participant of a semi-anonymous room sees no JID');
  const b = await toBob;
  const status = b.getChild('x', 'http://jabber.org/protocol/muc#user')!.getChildren('status').map((s) => s.attrs.code);
  assert.deepEqual(status, ['101']);
  await carol.stop();
  await outside.stop();
});

// Issue 10 item 9: nick registration semantics (XEP-0045 7.10, 7.12, 9.3).
test('nick registration: an owner’s admin-list registration shows in x-roomuser-item; a taken nick is conflict by the room; <remove/> in a members-only room removes membership and occupant (321)', async () => {
  const room = `reg-sem@${MUC_DOMAIN}`;
  const REGISTER = 'jabber:iq:register';
  const MUC_USER = 'http://jabber.org/protocol/muc#user';
  const carol = await t.login('carol', { resource: 'reg' });
  await joinInstant(alice, `${room}/Alice`);
  // The owner registers Carol's nick through the member list.
  await alice.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: 'http://jabber.org/protocol/muc#admin' }, xml('item', { jid: 'carol@localhost', affiliation: 'member', nick: 'Caz' }))));
  const node = await carol.iq(xml('iq', { type: 'get', to: room }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info', node: 'x-roomuser-item' })));
  assert.equal(node.getChild('query')!.getChild('identity')?.attrs.name, 'Caz');

  // Bob may not register the nick Carol holds: conflict, generated by the room.
  const taken = bob.next((el) => el.is('iq') && el.attrs.type === 'error' && el.attrs.id === 'reg-taken');
  await bob.send(
    xml('iq', { type: 'set', to: room, id: 'reg-taken' }, xml('query', { xmlns: REGISTER }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' }, xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'http://jabber.org/protocol/muc#register')), xml('field', { var: 'muc#register_roomnick' }, xml('value', {}, 'Caz'))))),
  );
  const err = (await taken).getChild('error')!;
  assert.ok(err.getChild('conflict'));
  assert.equal(err.attrs.by, room);

  // Members-only: Carol unregisters and is removed, with 321.
  await alice.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: 'http://jabber.org/protocol/muc#owner' }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' }, xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'http://jabber.org/protocol/muc#roomconfig')), xml('field', { var: 'muc#roomconfig_membersonly' }, xml('value', {}, '1'))))));
  await join(carol, `${room}/Caz`);
  const removed = carol.next((el) => el.is('presence') && el.attrs.from === `${room}/Caz` && el.attrs.type === 'unavailable');
  await carol.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: REGISTER }, xml('remove'))));
  const codes = (await removed).getChild('x', MUC_USER)!.getChildren('status').map((s) => s.attrs.code);
  assert.ok(codes.includes('321'), `status ${codes.join(',')}`);
  const members = await alice.iq(xml('iq', { type: 'get', to: room }, xml('query', { xmlns: 'http://jabber.org/protocol/muc#admin' }, xml('item', { affiliation: 'member' }))));
  assert.ok(!members.toString().includes('carol@localhost'), 'no longer a member');
  await carol.stop();
});
