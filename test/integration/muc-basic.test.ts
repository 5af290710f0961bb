import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWithUsers, xml, type TestServer } from '../helpers/server.ts';
import { joinInstant, join, statusCodes } from '../helpers/muc.ts';

let t: TestServer;
before(async () => {
  t = await startWithUsers(['alice', 'bob']);
});
after(() => t.stop());

test('create, join, and groupchat with stanza-id and occupant-id', async () => {
  const a = await t.login('alice');
  const b = await t.login('bob', { transport: 'ws' });
  const self = await joinInstant(a, 'room1@conference.localhost/Alice');
  assert.deepEqual(statusCodes(self).sort(), [110, 170, 201]);
  const bobSelf = await join(b, 'room1@conference.localhost/Bob');
  assert.ok(statusCodes(bobSelf).includes(110));
  const got = b.next((el) => el.is('message') && el.getChildText('body') === 'hi all');
  const echo = a.next((el) => el.is('message') && el.getChildText('body') === 'hi all');
  await a.send(xml('message', { to: 'room1@conference.localhost', type: 'groupchat', id: 'x1' }, xml('body', {}, 'hi all')));
  const [m, e] = await Promise.all([got, echo]);
  assert.equal(m.attrs.from, 'room1@conference.localhost/Alice');
  const sid = m.getChild('stanza-id', 'urn:xmpp:sid:0');
  assert.equal(sid?.attrs.by, 'room1@conference.localhost');
  assert.equal(e.getChild('stanza-id', 'urn:xmpp:sid:0')?.attrs.id, sid?.attrs.id);
  assert.ok(m.getChild('occupant-id', 'urn:xmpp:occupant-id:0'));
});
