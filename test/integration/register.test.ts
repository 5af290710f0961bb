import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, xml, type TestServer } from '../helpers/server.ts';
import { errorConditionOf, is, NS, RawTcp } from '../helpers/raw.ts';

/** A raw pre-auth stream with the features already read. */
async function preAuth(server: TestServer): Promise<{ c: RawTcp; features: Awaited<ReturnType<RawTcp['openAndFeatures']>> }> {
  const c = await RawTcp.connect(server.server.ports.c2s);
  const features = await c.openAndFeatures();
  return { c, features };
}

/** Whether SCRAM-SHA-1 (what @xmpp/client uses) accepts these credentials on a fresh connection. */
async function canLogin(server: TestServer, username: string, password: string): Promise<boolean> {
  const { c } = await preAuth(server);
  try {
    const r = await c.scram('SCRAM-SHA-1', username, password);
    return r.outcome.name === 'success' && r.serverSignatureOk;
  } finally {
    c.destroy();
  }
}

const registerIq = (id: string, username: string | null, password: string | null) =>
  `<iq type='set' id='${id}'><query xmlns='${NS.REGISTER}'>` +
  (username === null ? '' : `<username>${username}</username>`) +
  (password === null ? '' : `<password>${password}</password>`) +
  `</query></iq>`;

describe('in-band registration enabled', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ registration: { enabled: true } });
    await t.addUser('taken');
  });
  after(() => t.stop());

  test('the feature is advertised and the form can be fetched before authentication', async () => {
    const { c, features } = await preAuth(t);
    assert.ok(features.getChild('register', NS.REGISTER_FEATURE), 'register stream feature');
    const reply = await c.iq(`<iq type='get' id='f1'><query xmlns='${NS.REGISTER}'/></iq>`, 'f1');
    assert.equal(reply.attrs.type, 'result');
    const q = reply.getChild('query', NS.REGISTER)!;
    assert.ok(q.getChild('username'));
    assert.ok(q.getChild('password'));
    assert.ok(q.getChild('instructions'));
    assert.equal(q.getChild('registered'), undefined);
    c.destroy();
  });

  test('register, then log in with the new account; a second registration of the name is a conflict', async () => {
    const { c } = await preAuth(t);
    const ok = await c.iq(registerIq('r1', 'newbie', 'pass word'), 'r1');
    assert.equal(ok.attrs.type, 'result', ok.toString());
    assert.ok(await t.server.ctx.accounts.exists('newbie'));
    // The same stream can go on to authenticate as the new account.
    assert.equal((await c.plain('newbie', 'pass word')).name, 'success');
    c.destroy();
    assert.ok(await canLogin(t, 'newbie', 'pass word'));

    const { c: d } = await preAuth(t);
    const dup = await d.iq(registerIq('r2', 'newbie', 'other'), 'r2');
    assert.equal(dup.attrs.type, 'error');
    assert.equal(errorConditionOf(dup), 'conflict');
    // Case is folded: NEWBIE is the same account.
    assert.equal(errorConditionOf(await d.iq(registerIq('r3', 'NewBie', 'other'), 'r3')), 'conflict');
    assert.equal(errorConditionOf(await d.iq(registerIq('r4', 'taken', 'other'), 'r4')), 'conflict');
    d.destroy();
    // The password was not changed by the refused attempts.
    assert.ok(await canLogin(t, 'newbie', 'pass word'));
  });

  test('an empty or missing password is not-acceptable', async () => {
    const { c } = await preAuth(t);
    for (const [id, pw] of [['e1', ''], ['e2', null]] as const) {
      const reply = await c.iq(registerIq(id, 'nopass', pw), id);
      assert.equal(reply.attrs.type, 'error');
      assert.equal(errorConditionOf(reply), 'not-acceptable', `password ${JSON.stringify(pw)}`);
    }
    c.destroy();
    assert.equal(await t.server.ctx.accounts.exists('nopass'), false);
  });

  test('a username a JID cannot hold is not-acceptable', async () => {
    const { c } = await preAuth(t);
    const bad = ['', 'has space', 'a@b', 'with/slash', 'quote&apos;s', 'colon:x', '&lt;tag&gt;'];
    for (const [i, u] of bad.entries()) {
      const reply = await c.iq(registerIq(`u${i}`, u, 'secret'), `u${i}`);
      assert.equal(reply.attrs.type, 'error', `username ${u}`);
      assert.equal(errorConditionOf(reply), 'not-acceptable', `username ${u}`);
    }
    c.destroy();
    assert.equal(await t.server.ctx.accounts.count(), 2, 'only taken and newbie exist');
  });

  test('removing an account needs authentication first', async () => {
    const { c } = await preAuth(t);
    const reply = await c.iq(`<iq type='set' id='rm'><query xmlns='${NS.REGISTER}'><remove/></query></iq>`, 'rm');
    assert.equal(errorConditionOf(reply), 'not-authorized');
    c.destroy();
  });

  test('a logged-in user changes the password (to the server or to no one), then logs in with it', async () => {
    await t.addUser('changer', 'old');
    const a = await t.login('changer', { password: 'old' });
    const info = await a.iq(xml('iq', { type: 'get', id: 'g' }, xml('query', { xmlns: NS.REGISTER })));
    assert.ok(info.getChild('query', NS.REGISTER)?.getChild('registered'), 'the account shows as registered');
    assert.equal(info.getChild('query', NS.REGISTER)?.getChildText('username'), 'changer');
    await a.iq(xml('iq', { type: 'set', id: 'c1' }, xml('query', { xmlns: NS.REGISTER }, xml('username', {}, 'changer'), xml('password', {}, 'newer'))));
    await a.stop();
    assert.equal(await canLogin(t, 'changer', 'old'), false);
    assert.ok(await canLogin(t, 'changer', 'newer'));
    const b = await RawTcp.login(t.server.ports.c2s, 'changer', 'newer');
    const change = (id: string, user: string, pw: string, to = '') =>
      b.iq(`<iq type='set' id='${id}'${to ? ` to='${to}'` : ''}><query xmlns='${NS.REGISTER}'><username>${user}</username><password>${pw}</password></query></iq>`, id);
    // XEP-0077 example: the change is addressed to the server.
    const reply = await change('c2', 'changer', 'newest', 'localhost');
    assert.equal(reply.attrs.type, 'result', reply.toString());
    // Someone else's name is refused.
    assert.equal(errorConditionOf(await change('c3', 'taken', 'x')), 'bad-request');
    assert.equal(errorConditionOf(await change('c3b', 'taken', 'x', 'localhost')), 'bad-request');
    // An empty password is not accepted here either.
    assert.equal(errorConditionOf(await change('c4', 'changer', '')), 'not-acceptable');
    b.destroy();
    assert.ok(await canLogin(t, 'changer', 'newest'));
  });

  test('another user cannot change my password through my bare JID', async () => {
    await t.addUser('victim', 'vpass');
    const m = await t.login('taken');
    await assert.rejects(
      m.iq(xml('iq', { type: 'set', id: 'v1', to: 'victim@localhost' }, xml('query', { xmlns: NS.REGISTER }, xml('username', {}, 'victim'), xml('password', {}, 'owned')))),
      (err: { condition?: string }) => err.condition === 'forbidden',
    );
    await m.stop();
    assert.ok(await canLogin(t, 'victim', 'vpass'));
  });

  test('<remove/> deletes the account and ends its sessions', async () => {
    await t.addUser('leaver');
    const other = await RawTcp.login(t.server.ports.c2s, 'leaver', 'secret', 'other');
    const c = await RawTcp.login(t.server.ports.c2s, 'leaver', 'secret', 'main');
    const reply = await c.iq(`<iq type='set' id='rm1'><query xmlns='${NS.REGISTER}'><remove/></query></iq>`, 'rm1');
    assert.equal(reply.attrs.type, 'result', reply.toString());
    assert.equal(await other.streamError(), 'not-authorized');
    const ended = await c.next(is('stream:error'));
    assert.ok(c.all.indexOf(reply) < c.all.indexOf(ended), 'the removal is acknowledged before the stream ends');
    await c.waitClosed();
    assert.equal(await t.server.ctx.accounts.exists('leaver'), false);
    assert.equal(t.server.ctx.sessions.of('leaver@localhost').length, 0);
    assert.equal(await canLogin(t, 'leaver', 'secret'), false);
    // The name is free again.
    const { c: d } = await preAuth(t);
    assert.equal((await d.iq(registerIq('again', 'leaver', 'fresh'), 'again')).attrs.type, 'result');
    d.destroy();
  });
});

describe('account removal', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    for (const u of ['gone', 'friend']) await t.addUser(u);
  });
  after(() => t.stop());

  test('<remove/> also deletes the roster, offline messages and push registrations', async () => {
    const c = await RawTcp.login(t.server.ports.c2s, 'gone', 'secret', 'main');
    const set = await c.iq(`<iq type='set' id='r1'><query xmlns='jabber:iq:roster'><item jid='friend@localhost'/></query></iq>`, 'r1');
    assert.equal(set.attrs.type, 'result');
    const enable = await c.iq(`<iq type='set' id='p1'><enable xmlns='urn:xmpp:push:0' jid='push.localhost' node='n1'/></iq>`, 'p1');
    assert.equal(enable.attrs.type, 'result');
    assert.equal(t.server.push.registrations.of('gone@localhost').length, 1);
    // An offline message: 'gone' has no available resource (no presence sent).
    const friend = await RawTcp.login(t.server.ports.c2s, 'friend', 'secret', 'f');
    const stored = new Promise<void>((resolve) => t.server.ctx.hooks.on('account:offline-message', () => resolve()));
    friend.send(`<message to='gone@localhost' type='chat' id='o1'><body>hello</body></message>`);
    await stored;

    const reply = await c.iq(`<iq type='set' id='rm'><query xmlns='${NS.REGISTER}'><remove/></query></iq>`, 'rm');
    assert.equal(reply.attrs.type, 'result');
    assert.equal(t.server.push.registrations.of('gone@localhost').length, 0, 'live registrations dropped');
    const { RosterStore } = await import('../../src/store/rosters.ts');
    const { OfflineStore } = await import('../../src/store/offline.ts');
    const { PushStore } = await import('../../src/store/push.ts');
    assert.equal((await new RosterStore(t.server.ctx.store).load('gone')).items.size, 0);
    assert.equal((await new OfflineStore(t.server.ctx.store).list('gone')).length, 0);
    assert.equal((await new PushStore(t.server.ctx.store).all()).filter((r) => r.user === 'gone@localhost').length, 0);
    friend.destroy();
    c.destroy();
  });
});

describe('in-band registration disabled', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ registration: { enabled: false } });
    await t.addUser('alice');
  });
  after(() => t.stop());

  test('the feature is not advertised and registration IQs are refused', async () => {
    const { c, features } = await preAuth(t);
    assert.equal(features.getChild('register', NS.REGISTER_FEATURE), undefined);
    assert.ok(features.getChild('mechanisms', NS.SASL), 'authentication is still offered');
    const form = await c.iq(`<iq type='get' id='f'><query xmlns='${NS.REGISTER}'/></iq>`, 'f');
    assert.equal(form.attrs.type, 'error');
    assert.equal(errorConditionOf(form), 'service-unavailable');
    const set = await c.iq(registerIq('s', 'intruder', 'secret'), 's');
    assert.equal(set.attrs.type, 'error');
    assert.equal(errorConditionOf(set), 'service-unavailable');
    assert.equal(await t.server.ctx.accounts.exists('intruder'), false);
    // The stream is still usable.
    assert.equal((await c.plain('alice', 'secret')).name, 'success');
    c.destroy();
  });

  test('existing users can still change their password', async () => {
    const a = await t.login('alice');
    await a.iq(xml('iq', { type: 'set', id: 'c1' }, xml('query', { xmlns: NS.REGISTER }, xml('username', {}, 'alice'), xml('password', {}, 'changed'))));
    await a.stop();
    assert.ok(await canLogin(t, 'alice', 'changed'));
  });
});
