import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startWithUsers, type TestClient, type TestServer } from '../helpers/server.ts';
import { is, isIq, NS, RawTcp, RawWs } from '../helpers/raw.ts';
import { join, MUC, MUC_DOMAIN } from '../helpers/muc.ts';

const ROOM = `prefixes@${MUC_DOMAIN}`;

const joinRaw = async (c: RawTcp | RawWs, nick: string, ns = '') => {
  c.send(`<presence${ns} to='${ROOM}/${nick}'><x xmlns='${MUC}'/></presence>`);
  await c.next((el) => el.name === 'presence' && el.attrs.from === `${ROOM}/${nick}`);
};

// Issue 12 item 5: a stanza with an unbound prefix is refused at parse time, never relayed.
describe('unbound namespace prefixes', () => {
  let t: TestServer;
  let bob: TestClient;
  before(async () => {
    t = await startWithUsers(['alice', 'bob', 'carol'], { muc: { unlockedByDefault: true } });
    bob = await t.login('bob');
    await join(bob, `${ROOM}/bob`);
  });
  after(() => t.stop());

  const cases: [string, string][] = [
    ['an unbound element prefix', '<evil:thing/>'],
    ['an unbound attribute prefix', "<x xmlns='urn:x' evil:a='1'/>"],
  ];
  for (const [what, child] of cases) {
    test(`TCP: ${what} in a room message closes the stream with bad-namespace-prefix; the occupant never gets it`, async () => {
      const alice = await RawTcp.login(t.server.ports.c2s, 'alice');
      await joinRaw(alice, 'alice');
      const id = `tcp-${what.replace(/ /g, '-')}`;
      alice.send(`<message to='${ROOM}' type='groupchat' id='${id}'><body>hi</body>${child}</message>`);
      assert.equal(await alice.streamError(), 'bad-namespace-prefix');
      assert.ok(await bob.next((el) => el.attrs.id === id, 500).then(() => false, () => true), 'bob never gets the message');
    });

    test(`WebSocket: ${what} in a room message closes the stream with bad-namespace-prefix; the occupant never gets it`, async () => {
      const carol = await RawWs.login(`ws://127.0.0.1:${t.server.ports.http}/xmpp-websocket`, 'carol');
      await joinRaw(carol, 'carol', " xmlns='jabber:client'");
      const id = `ws-${what.replace(/ /g, '-')}`;
      carol.send(`<message xmlns='jabber:client' to='${ROOM}' type='groupchat' id='${id}'><body>hi</body>${child}</message>`);
      assert.equal(await carol.streamError(), 'bad-namespace-prefix');
      assert.ok(await bob.next((el) => el.attrs.id === id, 500).then(() => false, () => true), 'bob never gets the message');
    });
  }

  test('a prefix bound on the stream header reaches occupants bound on the stanza', async () => {
    const alice = await RawTcp.connect(t.server.ports.c2s);
    await alice.openAndFeatures();
    assert.equal((await alice.plain('alice', 'secret')).name, 'success');
    await alice.openAndFeatures({ 'xmlns:h': 'urn:example:header' });
    await alice.bind();
    await joinRaw(alice, 'alice2');
    const got = bob.next((el) => el.attrs.id === 'header-bound');
    alice.send(`<message to='${ROOM}' type='groupchat' id='header-bound'><body>ok</body><h:note>n</h:note></message>`);
    const m = await got;
    const note = m.getChild('note', 'urn:example:header') ?? m.children.find((c) => typeof c !== 'string' && c.name === 'h:note');
    assert.ok(note, m.toString());
    assert.ok(m.toString().includes('xmlns:h="urn:example:header"'), m.toString());
    alice.destroy();
  });
});
