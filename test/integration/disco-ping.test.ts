import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startWithUsers, xml, type TestServer } from '../helpers/server.ts';
import { errorConditionOf, isIq, NS, RawTcp, waitHook } from '../helpers/raw.ts';
import type { Element } from '../../src/xml/element.ts';

const ping = (id: string, to?: string) => `<iq type='get' id='${id}'${to ? ` to='${to}'` : ''}><ping xmlns='${NS.PING}'/></iq>`;
const discoInfo = (id: string, to?: string) => `<iq type='get' id='${id}'${to ? ` to='${to}'` : ''}><query xmlns='${NS.DISCO_INFO}'/></iq>`;

describe('disco and ping answered by the server', () => {
  let t: TestServer;
  let a: RawTcp & { jid: string };
  before(async () => {
    t = await startWithUsers(['alice', 'bob']);
    a = await RawTcp.login(t.server.ports.c2s, 'alice', 'secret', 'desk');
  });
  after(async () => {
    a.destroy();
    await t.stop();
  });

  test('ping to the server, to my bare JID and to another account', async () => {
    for (const [id, to, from] of [
      ['p1', 'localhost', 'localhost'],
      ['p2', 'alice@localhost', 'alice@localhost'],
      ['p3', 'bob@localhost', 'bob@localhost'],
    ] as const) {
      const reply = await a.iq(ping(id, to), id);
      assert.equal(reply.attrs.type, 'result', `${to}: ${reply.toString()}`);
      assert.equal(reply.attrs.from, from);
      assert.equal(reply.attrs.to, a.jid);
    }
    // With no 'to' the account answers.
    assert.equal((await a.iq(ping('p4'), 'p4')).attrs.type, 'result');
  });

  test('ping over @xmpp/client', async () => {
    const c = await t.login('bob');
    const reply = await c.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: NS.PING })));
    assert.equal(reply.attrs.type, 'result');
    await c.stop();
  });

  test('server disco#info: server/im identity and its features', async () => {
    const reply = await a.iq(discoInfo('d1', 'localhost'), 'd1');
    assert.equal(reply.attrs.type, 'result');
    assert.equal(reply.attrs.from, 'localhost');
    const q = reply.getChild('query', NS.DISCO_INFO)!;
    const identities = q.getChildren('identity').map((i) => `${i.attrs.category}/${i.attrs.type}`);
    assert.ok(identities.includes('server/im'), identities.join());
    const features = q.getChildren('feature').map((f) => f.attrs.var as string);
    for (const f of [NS.DISCO_INFO, NS.DISCO_ITEMS, NS.PING, NS.REGISTER, 'vcard-temp']) assert.ok(features.includes(f), `feature ${f}`);
    assert.equal(new Set(features).size, features.length, 'no duplicate features');
    // An unknown node is not the server's info.
    const node = await a.iq(`<iq type='get' id='d2' to='localhost'><query xmlns='${NS.DISCO_INFO}' node='urn:nothing'/></iq>`, 'd2');
    assert.equal(node.attrs.type, 'error');
    assert.equal(errorConditionOf(node), 'item-not-found');
  });

  test('server disco#items lists the hosted services', async () => {
    const reply = await a.iq(`<iq type='get' id='i1' to='localhost'><query xmlns='${NS.DISCO_ITEMS}'/></iq>`, 'i1');
    assert.equal(reply.attrs.type, 'result');
    const items = reply.getChild('query', NS.DISCO_ITEMS)!.getChildren('item').map((i) => i.attrs.jid);
    if (t.config.muc.domain) assert.ok(items.includes(t.config.muc.domain), items.join());
    const node = await a.iq(`<iq type='get' id='i2' to='localhost'><query xmlns='${NS.DISCO_ITEMS}' node='urn:nothing'/></iq>`, 'i2');
    assert.equal(errorConditionOf(node), 'item-not-found', 'an unknown node has no items');
  });

  test('disco#info on a bare JID is answered by the server for the account', async () => {
    for (const [id, to] of [['b1', 'bob@localhost'], ['b2', 'alice@localhost']] as const) {
      const reply = await a.iq(discoInfo(id, to), id);
      assert.equal(reply.attrs.type, 'result', reply.toString());
      assert.equal(reply.attrs.from, to);
      const q = reply.getChild('query', NS.DISCO_INFO)!;
      const identities = q.getChildren('identity').map((i) => `${i.attrs.category}/${i.attrs.type}`);
      assert.deepEqual(identities, ['account/registered']);
    }
    // No account: nothing is revealed beyond service-unavailable.
    const none = await a.iq(discoInfo('b3', 'nobody@localhost'), 'b3');
    assert.equal(none.attrs.type, 'error');
    assert.equal(errorConditionOf(none), 'service-unavailable');
  });

  test('an unknown IQ gets service-unavailable, wherever it is addressed', async () => {
    for (const [id, to] of [['u1', 'localhost'], ['u2', 'alice@localhost'], ['u3', undefined]] as const) {
      const reply = await a.iq(`<iq type='get' id='${id}'${to ? ` to='${to}'` : ''}><query xmlns='urn:example:unknown'/></iq>`, id);
      assert.equal(reply.attrs.type, 'error', `${to}`);
      assert.equal(errorConditionOf(reply), 'service-unavailable');
      assert.equal(reply.getChild('error')!.attrs.type, 'cancel');
    }
    // A set too, and an IQ with no payload is a bad request.
    const set = await a.iq(`<iq type='set' id='u4' to='localhost'><x xmlns='urn:example:unknown'/></iq>`, 'u4');
    assert.equal(errorConditionOf(set), 'service-unavailable');
    const empty = await a.iq(`<iq type='get' id='u5' to='localhost'/>`, 'u5');
    assert.equal(errorConditionOf(empty), 'bad-request');
  });

  test('a storage failure while checking the addressed account gets internal-server-error', async () => {
    const accounts = t.server.ctx.accounts;
    const exists = accounts.exists;
    accounts.exists = async () => {
      throw new Error('storage is down');
    };
    try {
      const reply = await a.iq(ping('sf1', 'bob@localhost'), 'sf1');
      assert.equal(reply.attrs.type, 'error');
      assert.equal(errorConditionOf(reply), 'internal-server-error');
    } finally {
      accounts.exists = exists;
    }
  });

  test('an IQ for a remote domain gets remote-server-not-found', async () => {
    const reply = await a.iq(discoInfo('r1', 'remote.example'), 'r1');
    assert.equal(reply.attrs.type, 'error');
    assert.equal(reply.attrs.from, 'remote.example');
    assert.equal(errorConditionOf(reply), 'remote-server-not-found');
    const msg = `<message type='chat' id='r2' to='someone@remote.example'><body>hi</body></message>`;
    a.send(msg);
    const bounce = await a.next((el) => el.name === 'message' && el.attrs.id === 'r2');
    assert.equal(bounce.attrs.type, 'error');
    assert.equal(errorConditionOf(bounce), 'remote-server-not-found');
  });

  test('a spoofed from is replaced by the sender\'s full JID', async () => {
    const b = await RawTcp.login(t.server.ports.c2s, 'bob', 'secret', 'b');
    a.send(`<message type='chat' id='s1' to='${b.jid}' from='mallory@localhost/evil'><body>trust me</body></message>`);
    const got = await b.next((el) => el.name === 'message' && el.attrs.id === 's1');
    assert.equal(got.attrs.from, a.jid);
    // An IQ's answer goes back to the real sender, not to the forged address.
    const reply = await a.iq(`<iq type='get' id='s2' to='localhost' from='bob@localhost/b'><ping xmlns='${NS.PING}'/></iq>`, 's2');
    assert.equal(reply.attrs.to, a.jid);
    assert.ok(await b.nothing(isIq('s2'), 200), 'bob gets nothing');
    // A malformed 'to' is answered with jid-malformed.
    const bad = await a.iq(`<iq type='get' id='s3' to='a@b@c'><ping xmlns='${NS.PING}'/></iq>`, 's3');
    assert.equal(errorConditionOf(bad), 'jid-malformed');
    b.destroy();
  });
});

describe('the server pings idle clients', () => {
  let t: TestServer;
  before(async () => {
    t = await startWithUsers(['alice'], { ping: { idleSeconds: 1, timeoutSeconds: 1 } });
  });
  after(() => t.stop());

  const serverPing = (el: Element) =>
    el.name === 'iq' && el.attrs.type === 'get' && el.getChild('ping', NS.PING) !== undefined;

  test('an idle client is pinged; answering keeps it connected', async () => {
    const c = await RawTcp.login(t.server.ports.c2s, 'alice', 'secret', 'awake');
    const first = await c.next(serverPing, 4000);
    assert.equal(first.attrs.from, 'localhost');
    assert.equal(first.attrs.to, c.jid);
    c.send(`<iq type='result' id='${first.attrs.id}' to='localhost'/>`);
    // Still served after more than the ping timeout: pinged again once idle again.
    const second = await c.next(serverPing, 4000);
    assert.notEqual(second.attrs.id, first.attrs.id);
    assert.equal(c.isClosed, false);
    c.send(`<iq type='result' id='${second.attrs.id}' to='localhost'/>`);
    assert.equal((await c.iq(`<iq type='get' id='x' to='localhost'><ping xmlns='${NS.PING}'/></iq>`, 'x')).attrs.type, 'result');
    c.destroy();
  });

  test('a client that does not answer is disconnected', async () => {
    const c = await RawTcp.login(t.server.ports.c2s, 'alice', 'secret', 'asleep');
    const closed = waitHook(t.server.ctx.hooks, 'session:closed', ({ session }) => session.jid.full === c.jid, 6000);
    const started = Date.now();
    await c.next(serverPing, 4000);
    await c.waitClosed(4000);
    assert.ok(Date.now() - started >= 900, 'not before the ping timeout');
    await closed;
    assert.equal(t.server.ctx.sessions.get(c.jid), undefined);
  });

  test('@xmpp/client answers the server\'s pings and stays online', async () => {
    const c = await t.login('alice', { resource: 'lib' });
    const isPing = (el: { is(name: string): boolean; attrs: Record<string, unknown>; getChild(n: string, ns: string): unknown }) =>
      el.is('iq') && el.attrs.type === 'get' && el.getChild('ping', NS.PING) !== undefined;
    const first = await c.next(isPing, 4000);
    const session = t.server.ctx.sessions.get(c.jid)!;
    // Pinged again once idle again, past the timeout: the session survived.
    const second = await c.next((el) => isPing(el) && el.attrs.id !== first.attrs.id, 4000);
    assert.ok(second);
    assert.equal(session.state, 'active');
    assert.equal(t.server.ctx.sessions.get(c.jid), session);
    await c.stop();
  });
});
