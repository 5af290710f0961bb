import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client, xml } from '@xmpp/client';
import { startServer } from 'mucpush';

process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; // the server's certificate is self-signed

test('a message to an offline user is pushed', async () => {
  const server = await startServer({ users: { alice: 'secret', bob: 'secret' } });
  const login = async (username: string) => {
    const c = client({ service: server.urls.xmpp, domain: server.domain, username, password: 'secret' });
    await c.start();
    return c;
  };
  const alice = await login('alice');
  await alice.iqCaller.request(xml('iq', { type: 'set' }, xml('enable', { xmlns: 'urn:xmpp:push:0', jid: server.pushDomain!, node: 'phone' })));
  await alice.stop();
  const bob = await login('bob');
  await bob.send(xml('message', { to: `alice@${server.domain}`, type: 'chat' }, xml('body', {}, 'hi')));
  const n = await server.push.next({ account: `alice@${server.domain}` });
  assert.equal(n.node, 'phone');
  await bob.stop();
  await server.stop();
});
