import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, startWithUsers, xml, type TestServer } from '../helpers/server.ts';
import { groupchat, join } from '../helpers/muc.ts';
import { actAsAppServer, createRoom, enableIq, summaryOf, waitHttpNotifications, httpNotifications } from '../helpers/push.ts';
import { killSocket, nextHibernation, nextResume, smReady } from '../helpers/session.ts';

let t: TestServer;
before(async () => {
  t = await startWithUsers(['alice', 'bob', 'carol', 'erin', 'app'], { push: { withBody: false, importantBody: 'You have a message' }, streamManagement: { resumeTimeoutSeconds: 30 } });
});
after(() => t.stop());

const chat = (to: string, body: string) => xml('message', { to, type: 'chat' }, xml('body', {}, body));

test('a hibernated session pushes once per hibernation for what is worth it; resuming stops it', async () => {
  const alice = await t.login('alice');
  const bob = await t.login('bob');
  const appClient = await t.login('app', { resource: 'acct' });
  const app = actAsAppServer(appClient);
  await smReady(t, alice);
  // Available (a client with no presence gets messages to its bare JID through offline storage).
  const self = alice.next((el) => el.is('presence') && el.attrs.from === alice.jid);
  await alice.send(xml('presence'));
  await self;
  // No 'to': the account itself (Converse's login-time enable).
  await alice.iq(enableIq(undefined, appClient.jid, 'alice-acct', 'acct-secret'));
  alice.xmpp.reconnect.delay = 2500;
  const hibernated = nextHibernation(t, 'alice@localhost');
  const resumed = nextResume(t, 'alice@localhost');
  killSocket(alice);
  await hibernated;

  // Not worth a push: a chat state without a body.
  await bob.send(xml('message', { to: 'alice@localhost', type: 'chat' }, xml('composing', { xmlns: 'http://jabber.org/protocol/chatstates' })));
  const first = app.next();
  await bob.send(chat('alice@localhost', 'are you awake?'));
  const iq = await first;
  assert.equal(iq.attrs.from, 'localhost', 'account pushes come from the user domain');
  const s = summaryOf(iq);
  assert.equal(s.node, 'alice-acct');
  assert.equal(s.count, 1);
  assert.equal(s.sender, 'bob@localhost');
  assert.equal(s.body, 'You have a message', 'bodies are off: the important-message text');
  assert.equal(s.secret, 'acct-secret');
  await bob.send(chat('alice@localhost', 'hello?'));
  await sleep(300);
  assert.equal(app.notifications.length, 1, 'one push per hibernation');

  // The client resumes by itself (reconnect): the queued messages arrive, and live ones push nothing.
  await resumed;
  const live = alice.next((el) => el.is('message') && el.getChildText('body') === 'now you are here');
  await bob.send(chat('alice@localhost', 'now you are here'));
  await live;
  await sleep(200);
  assert.equal(app.notifications.length, 1, 'no push while the session is active');

  // A new hibernation pushes again.
  alice.xmpp.reconnect.stop();
  const again = nextHibernation(t, 'alice@localhost');
  killSocket(alice);
  await again;
  const second = app.next();
  await bob.send(chat('alice@localhost', 'gone again?'));
  assert.equal(summaryOf(await second).count, 1);
  for (const c of [bob, appClient]) await c.stop();
});

test('a groupchat message queued for a hibernated session pushes the account only when it mentions the user', async () => {
  const room = 'acctroom@conference.localhost';
  const carol = await t.login('carol');
  const bob = await t.login('bob');
  await smReady(t, carol);
  await carol.iq(enableIq(undefined, 'push.localhost', 'carol-acct'));
  await createRoom(bob, `${room}/Bob`);
  await join(carol, `${room}/Carol`);
  carol.xmpp.reconnect.stop();
  const hibernated = nextHibernation(t, 'carol@localhost');
  killSocket(carol);
  await hibernated;
  await bob.send(groupchat(room, 'just talking'));
  await sleep(200);
  assert.equal((await httpNotifications(t, 'carol-acct')).length, 0);
  await bob.send(groupchat(room, 'Carol, wake up'));
  const [n] = await waitHttpNotifications(t, 'carol-acct', 1);
  assert.equal(n!.from, 'localhost');
  assert.equal(n!['last-message-sender'], `${room}/Bob`);
  await bob.stop();
});

test('messages stored offline push the account, folded to at most one push a second', async () => {
  const erin = await t.login('erin', { resource: 'desk' });
  await erin.iq(enableIq(undefined, 'push.localhost', 'erin-offline'));
  await erin.stop();
  for (let i = 0; i < 50 && t.server.ctx.sessions.of('erin@localhost').length > 0; i++) await sleep(20);
  const bob = await t.login('bob');
  await bob.send(chat('erin@localhost', 'first offline'));
  await bob.send(chat('erin@localhost', 'second offline'));
  await bob.send(chat('erin@localhost', 'third offline'));
  const first = await waitHttpNotifications(t, 'erin-offline', 1);
  assert.equal(first[0]!['message-count'], 1);
  assert.equal(first[0]!.from, 'localhost');
  assert.equal(first[0]!['last-message-sender'], 'bob@localhost');
  const both = await waitHttpNotifications(t, 'erin-offline', 2, 3000);
  assert.equal(both[1]!['message-count'], 3, 'the later ones fold into one push with the count');
  await sleep(1200);
  assert.equal((await httpNotifications(t, 'erin-offline')).length, 2);

  // Back online: the count starts over.
  const erin2 = await t.login('erin');
  await erin2.send(xml('presence'));
  await erin2.next((el) => el.is('message') && el.getChildText('body') === 'third offline');
  await erin2.stop();
  for (let i = 0; i < 50 && t.server.ctx.sessions.of('erin@localhost').length > 0; i++) await sleep(20);
  await sleep(1000);
  await bob.send(chat('erin@localhost', 'fourth offline'));
  const three = await waitHttpNotifications(t, 'erin-offline', 3);
  assert.equal(three[2]!['message-count'], 1);
  await bob.stop();
});
