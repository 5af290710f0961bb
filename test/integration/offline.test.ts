import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import { sleep, startWithUsers, xml, type TestServer } from '../helpers/server.ts';

let t: TestServer;
before(async () => {
  t = await startWithUsers(['alice', 'bob', 'carol', 'dave']);
});
after(() => t.stop());

const withBody = (body: string) => (el: Element) => el.is('message') && el.getChildText('body') === body;

test('a message to an offline user is stored and delivered with a delay stamp at the next login', async () => {
  const stored: string[] = [];
  const off = t.server.ctx.hooks.on('account:offline-message', ({ user }) => void stored.push(user.bare));
  const a = await t.login('alice');
  await a.send(xml('message', { to: 'bob@localhost', type: 'chat', id: 'o1' }, xml('body', {}, 'while you were out')));
  await a.send(xml('message', { to: 'bob@localhost/gone', id: 'o2' }, xml('body', {}, 'second')));
  // Not worth keeping: a chat state, and a message that asks not to be stored.
  await a.send(xml('message', { to: 'bob@localhost', type: 'chat' }, xml('active', { xmlns: 'http://jabber.org/protocol/chatstates' })));
  await a.send(xml('message', { to: 'bob@localhost', type: 'chat' }, xml('body', {}, 'ephemeral'), xml('no-store', { xmlns: 'urn:xmpp:hints' })));
  await sleep(200);
  assert.deepEqual(stored, ['bob@localhost', 'bob@localhost']);
  off();

  const b = await t.login('bob');
  await sleep(100);
  assert.equal(b.received.filter((el) => el.is('message')).length, 0, 'nothing before initial presence');
  const first = b.next(withBody('while you were out'));
  const second = b.next(withBody('second'));
  await b.send(xml('presence'));
  const m = await first;
  assert.equal(m.attrs.from, a.jid);
  const delay = m.getChild('delay', 'urn:xmpp:delay');
  assert.ok(delay);
  assert.equal(delay.attrs.from, 'localhost');
  assert.ok(!Number.isNaN(Date.parse(delay.attrs.stamp as string)));
  await second;
  await sleep(100);
  const bodies = b.received.filter((el) => el.is('message')).map((el) => el.getChildText('body'));
  assert.deepEqual(bodies, ['while you were out', 'second'], 'in order, and nothing unworthy stored');
  await b.stop();

  // Delivered means deleted.
  const again = await t.login('bob');
  await again.send(xml('presence'));
  await sleep(200);
  assert.equal(again.received.filter((el) => el.is('message')).length, 0);
  await again.stop();
  await a.stop();
});

test('a session with negative priority does not take offline messages', async () => {
  const a = await t.login('alice');
  await a.send(xml('message', { to: 'carol@localhost', type: 'chat' }, xml('body', {}, 'for later')));
  await sleep(100);
  const shy = await t.login('carol', { resource: 'shy' });
  await shy.send(xml('presence', {}, xml('priority', {}, '-1')));
  await sleep(200);
  assert.equal(shy.received.filter((el) => el.is('message')).length, 0);
  const main = await t.login('carol', { resource: 'main' });
  const got = main.next(withBody('for later'));
  await main.send(xml('presence'));
  await got;
  await Promise.all([a.stop(), shy.stop(), main.stop()]);
});

test('offline messages survive a restart', async () => {
  const a = await t.login('alice');
  await a.send(xml('message', { to: 'dave@localhost', type: 'normal' }, xml('body', {}, 'durable')));
  await sleep(100);
  await t.restart();
  const d = await t.login('dave');
  const got = d.next(withBody('durable'));
  await d.send(xml('presence'));
  assert.ok((await got).getChild('delay', 'urn:xmpp:delay'));
  await d.stop();
});

test('a message to an unknown user bounces with service-unavailable', async () => {
  const a = await t.login('alice');
  const bounce = a.next((el) => el.is('message') && el.attrs.type === 'error' && el.attrs.id === 'nx');
  await a.send(xml('message', { to: 'nobody@localhost', type: 'chat', id: 'nx' }, xml('body', {}, 'hello?')));
  const err = await bounce;
  assert.equal(err.attrs.from, 'nobody@localhost');
  assert.ok(err.getChild('error')?.getChild('service-unavailable', 'urn:ietf:params:xml:ns:xmpp-stanzas'));
  await a.stop();
});
