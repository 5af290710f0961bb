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
