/** XEP-0115 section 6.3: the server's caps in its stream features match its own disco#info. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWithUsers, type TestServer } from '../helpers/server.ts';
import { NS, RawTcp } from '../helpers/raw.ts';
import { CAPS_NODE, capsVer, NS_CAPS } from '../../src/host/caps.ts';

let t: TestServer;
before(async () => {
  t = await startWithUsers(['alice'], { contactAddresses: { admin: ['xmpp:admin@localhost'] } });
});
after(() => t.stop());

test('caps are announced before and after authentication, and verify against disco#info', async () => {
  const c = await RawTcp.connect(t.server.ports.c2s);
  try {
    const before = (await c.openAndFeatures()).getChild('c', NS_CAPS);
    const plain = await c.plain('alice', 'secret');
    assert.equal(plain.name, 'success');
    const after = (await c.openAndFeatures()).getChild('c', NS_CAPS);
    for (const caps of [before, after]) {
      assert.ok(caps, 'stream features carry <c/>');
      assert.equal(caps.attrs.hash, 'sha-1');
      assert.equal(caps.attrs.node, CAPS_NODE);
    }
    await c.bind('desk');
    // A client resolves node#ver with disco#info and checks the hash: it must match what the server says.
    const info = await c.iq(`<iq type='get' id='i1' to='localhost'><query xmlns='${NS.DISCO_INFO}'/></iq>`, 'i1');
    assert.equal(capsVer(info.getChild('query')!), after!.attrs.ver);
    // The form of XEP-0157 is part of the hash: a server without it announces another ver.
    assert.ok(info.getChild('query')!.getChild('x', 'jabber:x:data'));
  } finally {
    c.destroy();
  }
});
