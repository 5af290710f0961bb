import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import { sleep, startWithUsers, xml, type TestClient, type TestServer } from '../helpers/server.ts';
import { configure, groupchat, join, joinAsMember, leave, MUC_DOMAIN, registerNick } from '../helpers/muc.ts';
import { actAsAppServer, createRoom, enableIq, httpNotifications, mentionRef, PUBSUB, PUSH, REFERENCE, summaryOf, waitHttpNotifications } from '../helpers/push.ts';
import { killSocket, nextHibernation, smReady } from '../helpers/session.ts';
import { DATA, discoInfo, featuresOf, STANZAS } from '../helpers/stanza.ts';

let t: TestServer;
before(async () => {
  t = await startWithUsers(['alice', 'bob', 'carol', 'dave', 'erin', 'app'], { push: { withBody: true }, streamManagement: { resumeTimeoutSeconds: 30 } });
});
after(() => t.stop());

async function features(c: TestClient, to: string): Promise<{ features: string[]; identities: Element[] }> {
  const q = await discoInfo(c, to);
  return { features: featuresOf(q), identities: q.getChildren('identity') };
}

test('the MUC service, rooms, accounts and the built-in app server advertise push', async () => {
  const alice = await t.login('alice');
  await createRoom(alice, `disco@${MUC_DOMAIN}/Alice`);
  assert.ok((await features(alice, MUC_DOMAIN)).features.includes(PUSH), 'MUC service');
  assert.ok((await features(alice, `disco@${MUC_DOMAIN}`)).features.includes(PUSH), 'room');
  assert.ok((await features(alice, 'alice@localhost')).features.includes(PUSH), 'own account');
  assert.ok((await features(alice, 'bob@localhost')).features.includes(PUSH), 'another account');
  const app = await features(alice, 'push.localhost');
  assert.ok(app.features.includes(PUSH));
  assert.ok(app.identities.some((i) => i.attrs.category === 'pubsub' && i.attrs.type === 'push'));
  const items = await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' })));
  assert.ok(items.getChild('query')!.getChildren('item').some((i) => i.attrs.jid === 'push.localhost'));
  await alice.stop();
});

test('a mention of an absent member reaches a client app server and the built-in one; message-count counts unread', async () => {
  const room = `mention@${MUC_DOMAIN}`;
  const alice = await t.login('alice');
  const bob = await t.login('bob');
  const appClient = await t.login('app', { resource: 'appserver' });
  const app = actAsAppServer(appClient);
  await createRoom(alice, `${room}/Alice`);
  await registerNick(alice, room, 'Alice');
  // What Converse sends: <enable/> to the MUC domain, one per app server.
  await alice.iq(enableIq(MUC_DOMAIN, appClient.jid, 'alice-phone'));
  await alice.iq(enableIq(MUC_DOMAIN, 'push.localhost', 'alice-builtin', 's3cret'));
  await join(bob, `${room}/Bob`);
  await leave(alice, `${room}/Alice`);

  await bob.send(groupchat(room, 'just chatting'));
  const first = app.next();
  await bob.send(groupchat(room, 'hey alice, look at this'));
  const iq = await first;
  assert.equal(iq.attrs.from, MUC_DOMAIN);
  assert.equal(iq.attrs.type, 'set');
  const s = summaryOf(iq);
  assert.equal(s.node, 'alice-phone');
  assert.equal(s.count, 2, 'two messages unread since she left');
  assert.equal(s.sender, `${room}/Bob`);
  assert.equal(s.body, 'hey alice, look at this');
  assert.equal(app.notifications.length, 1, 'the message without a mention did not push');

  const [n] = await waitHttpNotifications(t, 'alice-builtin', 1);
  assert.equal(n!.node, 'alice-builtin');
  assert.equal(n!.from, MUC_DOMAIN);
  assert.equal(n!['message-count'], 2);
  assert.equal(n!['last-message-sender'], `${room}/Bob`);
  assert.equal(n!['last-message-body'], 'hey alice, look at this');
  assert.ok(!Number.isNaN(Date.parse(n!.time)));

  // XEP-0372 references: by URI (occupant JID, or real JID), and by a begin/end range in code points.
  const byUri = app.next();
  await bob.send(groupchat(room, 'ping', [mentionRef(`xmpp:${room}/Alice`)]));
  assert.equal(summaryOf(await byUri).count, 3);
  const byJid = app.next();
  await bob.send(groupchat(room, 'ping again', [mentionRef('xmpp:alice@localhost')]));
  assert.equal(summaryOf(await byJid).body, 'ping again');
  const byRange = app.next();
  const body = '🎉🎉 @Alice: party';
  await bob.send(groupchat(room, body, [xml('reference', { xmlns: REFERENCE, type: 'mention', begin: '3', end: '9' })]));
  assert.equal(summaryOf(await byRange).body, body);
  // A word merely containing the nick is no mention.
  await bob.send(groupchat(room, 'Alicette is someone else'));
  const last = app.next();
  await bob.send(groupchat(room, 'ALICE!'));
  assert.equal(summaryOf(await last).count, 7);
  assert.equal(app.notifications.length, 5);

  // Back in the room: nothing unread, nothing pushed.
  await join(alice, `${room}/Alice`);
  await bob.send(groupchat(room, 'welcome back Alice'));
  await sleep(200);
  assert.equal(app.notifications.length, 5, 'a present member gets no push');
  await leave(alice, `${room}/Alice`);
  const again = app.next();
  await bob.send(groupchat(room, 'Alice, one more'));
  assert.equal(summaryOf(await again).count, 1, 'the count starts over after she left again');
  assert.equal((await httpNotifications(t, 'alice-builtin')).length, 6);
  for (const c of [alice, bob, appClient]) await c.stop();
});

test('policy: mentions by default, all when the room says so; never the sender, never present members', async () => {
  const room = `policy@${MUC_DOMAIN}`;
  const carol = await t.login('carol');
  const dave = await t.login('dave');
  const erin = await t.login('erin');
  await createRoom(carol, `${room}/Carol`, { 'mucpush#push_policy': 'all' });
  for (const [c, nick] of [[carol, 'Carol'], [dave, 'Dave'], [erin, 'Erin']] as const) {
    if (c !== carol) await join(c, `${room}/${nick}`);
    await registerNick(c, room, nick);
    await c.iq(enableIq(MUC_DOMAIN, 'push.localhost', `policy-${nick}`));
  }
  await leave(erin, `${room}/Erin`);
  await carol.send(groupchat(room, 'no mention at all'));
  const [n] = await waitHttpNotifications(t, 'policy-Erin', 1);
  assert.equal(n!['last-message-body'], 'no mention at all');
  await dave.send(groupchat(room, 'Carol and Dave, you are here'));
  await sleep(200);
  assert.equal((await httpNotifications(t, 'policy-Carol')).length, 0, 'present members get nothing');
  assert.equal((await httpNotifications(t, 'policy-Dave')).length, 0, 'the sender gets nothing');
  assert.equal((await waitHttpNotifications(t, 'policy-Erin', 2)).length, 2);

  // Back to the server default (mentions).
  await configure(carol, room, { 'mucpush#push_policy': 'default' });
  await carol.send(groupchat(room, 'still no mention'));
  await carol.send(groupchat(room, 'but now: Erin'));
  const list = await waitHttpNotifications(t, 'policy-Erin', 3);
  await sleep(100);
  assert.equal(list.length, 3);
  assert.equal(list[2]!['last-message-body'], 'but now: Erin');
  assert.equal(list[2]!['message-count'], 4);
  for (const c of [carol, dave, erin]) await c.stop();
});

test('the same device registered on the service and on the room is pushed once per message', async () => {
  const room = `twice@${MUC_DOMAIN}`;
  const alice = await t.login('alice');
  const bob = await t.login('bob');
  await createRoom(bob, `${room}/Bob`);
  await joinAsMember(alice, room, 'Alice');
  await alice.iq(enableIq(MUC_DOMAIN, 'push.localhost', 'twice-alice'));
  await alice.iq(enableIq(room, 'push.localhost', 'twice-alice'));
  await leave(alice, `${room}/Alice`);
  await bob.send(groupchat(room, 'Alice?'));
  await waitHttpNotifications(t, 'twice-alice', 1);
  await sleep(200);
  assert.equal((await httpNotifications(t, 'twice-alice')).length, 1);
  for (const c of [alice, bob]) await c.stop();
});

test('a ghost (an occupant bouncing the message back) gets the undelivered message pushed', async () => {
  const room = `ghost@${MUC_DOMAIN}`;
  const bob = await t.login('bob');
  const carol = await t.login('carol');
  await createRoom(bob, `${room}/Bob`);
  await joinAsMember(carol, room, 'Carol');
  await carol.iq(enableIq(MUC_DOMAIN, 'push.localhost', 'ghost-carol'));
  // Carol's client bounces the groupchat message, as a server that lost her session would.
  const got = carol.next((el) => el.is('message') && el.getChildText('body') === 'nothing personal');
  await bob.send(groupchat(room, 'nothing personal'));
  const m = await got;
  assert.equal((await httpNotifications(t, 'ghost-carol')).length, 0, 'she was present: no push');
  const bounce = xml('message', { type: 'error', to: m.attrs.from as string, id: m.attrs.id as string | undefined });
  for (const c of m.children) if (typeof c !== 'string') bounce.append(c);
  bounce.append(xml('error', { type: 'cancel' }, xml('recipient-unavailable', { xmlns: STANZAS })));
  await carol.send(bounce);
  const [n] = await waitHttpNotifications(t, 'ghost-carol', 1);
  assert.equal(n!['last-message-body'], 'nothing personal');
  assert.equal(n!['last-message-sender'], `${room}/Bob`);
  assert.equal(n!['message-count'], 1);
  assert.ok(!t.server.muc!.rooms.get(room)!.occupants.has('Carol'), 'the ghost was removed');
  for (const c of [bob, carol]) await c.stop();
});

test('a member whose only session is hibernated (closed tab with stream management) is absent and pushed', async () => {
  const room = `sleepy@${MUC_DOMAIN}`;
  const bob = await t.login('bob');
  const dave = await t.login('dave');
  await smReady(t, dave);
  await createRoom(bob, `${room}/Bob`);
  await joinAsMember(dave, room, 'Dave');
  await dave.iq(enableIq(MUC_DOMAIN, 'push.localhost', 'sleepy-dave'));
  const hibernated = nextHibernation(t, 'dave@localhost');
  dave.xmpp.reconnect.stop();
  killSocket(dave);
  await hibernated;
  assert.ok(t.server.muc!.rooms.get(room)!.occupants.has('Dave'), 'still an occupant');
  await bob.send(groupchat(room, 'Dave: are you there?'));
  const [n] = await waitHttpNotifications(t, 'sleepy-dave', 1);
  assert.equal(n!['last-message-body'], 'Dave: are you there?');
  assert.equal(n!.from, MUC_DOMAIN);
  await bob.stop();
});

test('the app server client sees a well-formed XEP-0357 publish with the stored publish-options', async () => {
  const room = `format@${MUC_DOMAIN}`;
  const alice = await t.login('alice');
  const bob = await t.login('bob');
  const appClient = await t.login('app', { resource: 'format' });
  const app = actAsAppServer(appClient);
  await createRoom(bob, `${room}/Bob`);
  await joinAsMember(alice, room, 'Alice');
  await alice.iq(enableIq(room, appClient.jid, 'fmt', 'the-secret'));
  await leave(alice, `${room}/Alice`);
  const next = app.next();
  await bob.send(groupchat(room, 'Alice'));
  const iq = await next;
  const pubsub = iq.getChild('pubsub', PUBSUB)!;
  const form = pubsub.getChild('publish')!.getChild('item')!.getChild('notification', PUSH)!.getChild('x', DATA)!;
  const formType = form.getChildren('field').find((f) => f.attrs.var === 'FORM_TYPE')!.getChildText('value');
  assert.equal(formType, 'urn:xmpp:push:summary');
  const opts = pubsub.getChild('publish-options')!.getChild('x', DATA)!;
  assert.equal(opts.attrs.type, 'submit');
  assert.equal(summaryOf(iq).secret, 'the-secret');
  for (const c of [alice, bob, appClient]) await c.stop();
});
