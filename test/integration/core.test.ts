import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWithUsers, xml, type TestServer } from '../helpers/server.ts';

let t: TestServer;
before(async () => {
  t = await startWithUsers(['alice', 'bob']);
});
after(() => t.stop());

test('SCRAM login over TCP with STARTTLS binds a resource', async () => {
  const a = await t.login('alice', { resource: 'phone' });
  assert.equal(a.jid, 'alice@localhost/phone');
  await a.stop();
});

test('login over WebSocket and chat between two users', async () => {
  const a = await t.login('alice', { transport: 'ws' });
  const b = await t.login('bob');
  await a.send(xml('presence'));
  await b.send(xml('presence'));
  const got = b.next((el) => el.is('message') && el.getChildText('body') === 'hello bob');
  await a.send(xml('message', { to: b.jid, type: 'chat', id: 'm1' }, xml('body', {}, 'hello bob')));
  const msg = await got;
  assert.equal(msg.attrs.from, a.jid);
  await a.stop();
  await b.stop();
});

test('wrong password is refused', async () => {
  await assert.rejects(t.login('alice', { password: 'nope' }));
});
