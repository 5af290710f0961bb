import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startWithUsers, type TestServer } from '../helpers/server.ts';
import { errorConditionOf, is, isIq, NS, RawTcp, waitHook } from '../helpers/raw.ts';

type Raw = RawTcp & { jid: string };

/** Logs in over raw TCP and enables stream management with resumption. */
async function smLogin(server: TestServer, user: string, resource: string): Promise<{ c: Raw; id: string }> {
  const c = await RawTcp.login(server.server.ports.c2s, user, 'secret', resource);
  c.send(`<enable xmlns='${NS.SM}' resume='true'/>`);
  const enabled = await c.next(is('enabled', NS.SM));
  return { c, id: enabled.attrs.id as string };
}

const isAck = is('a', NS.SM);
const isReq = is('r', NS.SM);
const chat = (to: string, id: string, body: string, type = 'chat') => `<message type='${type}' to='${to}' id='${id}'><body>${body}</body></message>`;

describe('stream management (XEP-0198)', () => {
  let t: TestServer;
  before(async () => {
    t = await startWithUsers(['alice', 'bob'], { streamManagement: { resumeTimeoutSeconds: 30 } });
  });
  after(() => t.stop());

  test('enable with resume; <r/> answered with <a h/>; the server requests acks', async () => {
    const c = await RawTcp.login(t.server.ports.c2s, 'alice', 'secret', 'counter');
    c.send(`<enable xmlns='${NS.SM}' resume='true'/>`);
    const enabled = await c.next(is('enabled', NS.SM));
    assert.ok(enabled.attrs.id, 'a resumption id');
    assert.ok(enabled.attrs.resume === 'true' || enabled.attrs.resume === '1');
    assert.equal(enabled.attrs.max, '30');
    c.send(`<r xmlns='${NS.SM}'/>`);
    assert.equal((await c.next(isAck)).attrs.h, '0');
    // Two stanzas handled: h counts them, not the nonzas.
    await c.iq(`<iq type='get' id='p1' to='localhost'><ping xmlns='${NS.PING}'/></iq>`, 'p1');
    await c.iq(`<iq type='get' id='p2' to='localhost'><ping xmlns='${NS.PING}'/></iq>`, 'p2');
    c.send(`<r xmlns='${NS.SM}'/>`);
    assert.equal((await c.next(isAck)).attrs.h, '2');
    // The server asked for an ack after sending the results, and keeps them until acked.
    await c.next(isReq);
    const session = t.server.ctx.sessions.get(c.jid)!;
    assert.equal(session.sm!.unacked.length, 2);
    c.send(`<a xmlns='${NS.SM}' h='2'/>`);
    // The next exchange shows the ack was processed first.
    await c.iq(`<iq type='get' id='p3' to='localhost'><ping xmlns='${NS.PING}'/></iq>`, 'p3');
    assert.equal(session.sm!.unacked.length, 1);
    await c.next(isReq);
    // Enabling twice is refused.
    c.send(`<enable xmlns='${NS.SM}' resume='true'/>`);
    assert.equal(errorConditionOf(await c.next(is('failed', NS.SM))), 'unexpected-request');
    // Acknowledging more than was sent is a stream error.
    c.send(`<a xmlns='${NS.SM}' h='50'/>`);
    assert.equal(await c.streamError(), 'undefined-condition');
  });

  test('enable before binding is refused', async () => {
    const c = await RawTcp.connect(t.server.ports.c2s);
    const features = await c.authenticate('alice', 'secret');
    assert.ok(features.getChild('sm', NS.SM), 'sm is advertised after authentication');
    c.send(`<enable xmlns='${NS.SM}'/>`);
    assert.equal(errorConditionOf(await c.next(is('failed', NS.SM))), 'unexpected-request');
    await c.bind();
    c.destroy();
  });

  test('a dropped connection hibernates; a message sent meanwhile is delivered on resume', async () => {
    const { c: a, id } = await smLogin(t, 'alice', 'hib');
    const b = await RawTcp.login(t.server.ports.c2s, 'bob', 'secret', 'b');
    // One stanza from alice before the drop: it is counted in <resumed h/>.
    await a.iq(`<iq type='get' id='p1' to='localhost'><ping xmlns='${NS.PING}'/></iq>`, 'p1');
    const hibernated = waitHook(t.server.ctx.hooks, 'session:hibernated', ({ session }) => session.jid.full === a.jid);
    a.destroy();
    const { session } = await hibernated;
    assert.equal(session.state, 'hibernated');
    assert.equal(t.server.ctx.sessions.get(a.jid), session, 'still registered while hibernated');

    const queued = waitHook(t.server.ctx.hooks, 'session:queued', (p) => p.session === session);
    b.send(chat(a.jid, 'm1', 'while you were away'));
    assert.equal((await queued).stanza.attrs.id, 'm1');

    const resumedEvent = waitHook(t.server.ctx.hooks, 'session:resumed', (p) => p.session === session);
    const a2 = await RawTcp.connect(t.server.ports.c2s);
    await a2.authenticate('alice', 'secret');
    // h=0: alice never received (so never acked) the ping result, which is resent too.
    a2.send(`<resume xmlns='${NS.SM}' previd='${id}' h='0'/>`);
    const resumed = await a2.next(is('resumed', NS.SM));
    assert.equal(resumed.attrs.previd, id);
    assert.equal(resumed.attrs.h, '1', 'the server handled one stanza from alice');
    await resumedEvent;
    assert.equal((await a2.next(isIq('p1'))).attrs.type, 'result');
    const msg = await a2.next(is('message'));
    assert.equal(msg.attrs.from, b.jid);
    assert.equal(msg.getChildText('body'), 'while you were away');
    assert.equal(session.state, 'active');
    assert.equal(session.sm!.unacked.length, 2);
    a2.send(`<a xmlns='${NS.SM}' h='2'/>`);
    // The resumed session works both ways.
    const back = b.next(is('message'));
    a2.send(chat(b.jid, 'm2', 'back again'));
    assert.equal((await back).attrs.from, a.jid);
    assert.equal(session.sm!.unacked.length, 0);
    a2.destroy();
    b.destroy();
  });

  test('resuming with an unknown previd, or as another user, fails with item-not-found', async () => {
    const { c: a, id } = await smLogin(t, 'alice', 'mine');
    const hibernated = waitHook(t.server.ctx.hooks, 'session:hibernated', ({ session }) => session.jid.full === a.jid);
    a.destroy();
    await hibernated;
    const c = await RawTcp.connect(t.server.ports.c2s);
    await c.authenticate('alice', 'secret');
    c.send(`<resume xmlns='${NS.SM}' previd='no-such-session' h='0'/>`);
    const failed = await c.next(is('failed', NS.SM));
    assert.equal(errorConditionOf(failed), 'item-not-found');
    assert.equal(failed.getChild('item-not-found')?.attrs.xmlns, NS.STANZAS_ERR);
    // The client can still bind a fresh session.
    assert.match(await c.bind(), /^alice@localhost\//);
    c.destroy();

    const mallory = await RawTcp.connect(t.server.ports.c2s);
    await mallory.authenticate('bob', 'secret');
    mallory.send(`<resume xmlns='${NS.SM}' previd='${id}' h='0'/>`);
    assert.equal(errorConditionOf(await mallory.next(is('failed', NS.SM))), 'item-not-found');
    mallory.destroy();
    assert.equal(t.server.ctx.sessions.get(a.jid)?.state, 'hibernated', 'the session is still waiting for alice');
  });

  test('replies the stream layer writes itself (jid-malformed, session, a second bind) are counted and acknowledgeable', async () => {
    const { c } = await smLogin(t, 'alice', 'counted');
    c.send(`<message xmlns='jabber:client' to='@@bad' id='jm' type='chat'><body>x</body></message>`);
    assert.equal(errorConditionOf(await c.next((el) => el.name === 'message' && el.attrs.id === 'jm')), 'jid-malformed');
    assert.equal((await c.iq(`<iq type='set' id='s1'><session xmlns='${NS.SESSION}'/></iq>`, 's1')).attrs.type, 'result');
    assert.equal(errorConditionOf(await c.iq(`<iq type='set' id='b2'><bind xmlns='${NS.BIND}'/></iq>`, 'b2')), 'not-allowed');
    const session = t.server.ctx.sessions.get(c.jid)!;
    assert.equal(session.sm!.unacked.length, 3, 'all three replies are kept until acknowledged');
    // The client received three stanzas: acknowledging them is not an impossible count.
    c.send(`<a xmlns='${NS.SM}' h='3'/>`);
    await c.iq(`<iq type='get' id='p' to='localhost'><ping xmlns='${NS.PING}'/></iq>`, 'p');
    assert.equal(session.state, 'active');
    assert.equal(session.sm!.unacked.length, 1);
    c.destroy();
  });

  test('resuming with an impossible h fails with undefined-condition before <resumed/>', async () => {
    const { c: gone, id } = await smLogin(t, 'alice', 'imp');
    const hibernated = waitHook(t.server.ctx.hooks, 'session:hibernated', ({ session }) => session.jid.full === gone.jid);
    gone.destroy();
    await hibernated;
    const again = await RawTcp.connect(t.server.ports.c2s);
    await again.authenticate('alice', 'secret');
    again.send(`<resume xmlns='${NS.SM}' previd='${id}' h='5'/>`);
    assert.equal(await again.streamError(), 'undefined-condition');
    assert.equal(again.all.filter(is('resumed', NS.SM)).length, 0, 'nothing was resumed');
    again.destroy();
  });

  test('<resume/> on a bound stream is unexpected', async () => {
    const c = await RawTcp.login(t.server.ports.c2s, 'alice', 'secret', 'bound');
    c.send(`<resume xmlns='${NS.SM}' previd='x' h='0'/>`);
    assert.equal(errorConditionOf(await c.next(is('failed', NS.SM))), 'unexpected-request');
    c.destroy();
  });

  test('a clean close ends the session instead of hibernating it', async () => {
    const { c } = await smLogin(t, 'alice', 'clean');
    const closed = waitHook(t.server.ctx.hooks, 'session:closed', ({ session }) => session.jid.full === c.jid);
    c.close();
    await closed;
    assert.equal(t.server.ctx.sessions.get(c.jid), undefined);
  });
});

describe('hibernation timeout', () => {
  let t: TestServer;
  before(async () => {
    t = await startWithUsers(['alice', 'bob', 'carol'], { streamManagement: { resumeTimeoutSeconds: 1 } });
  });
  after(() => t.stop());

  test('closes the session; unacked chat goes to another resource, unacked groupchat bounces', async () => {
    const other = await RawTcp.login(t.server.ports.c2s, 'alice', 'secret', 'other');
    const available = waitHook(t.server.ctx.hooks, 'session:available', ({ session }) => session.jid.full === other.jid);
    other.send('<presence/>');
    await available;
    const { c: gone, id } = await smLogin(t, 'alice', 'gone');
    const bob = await RawTcp.login(t.server.ports.c2s, 'bob', 'secret', 'b');

    // Received on the socket but never acknowledged.
    bob.send(chat(gone.jid, 'c1', 'unacked chat'));
    await gone.next((el) => el.attrs.id === 'c1');
    const hibernated = waitHook(t.server.ctx.hooks, 'session:hibernated', ({ session }) => session.jid.full === gone.jid);
    gone.destroy();
    await hibernated;
    // Queued while hibernated.
    bob.send(chat(gone.jid, 'g1', 'room message', 'groupchat'));
    bob.send(`<iq type='get' id='q1' to='${gone.jid}'><query xmlns='jabber:iq:version'/></iq>`);
    bob.send(`<iq type='result' id='r1' to='${gone.jid}'/>`);
    const closed = await waitHook(t.server.ctx.hooks, 'session:closed', ({ session }) => session.jid.full === gone.jid, 4000);
    assert.match(closed.reason, /hibernation/);
    assert.equal(t.server.ctx.sessions.get(gone.jid), undefined);

    const redelivered = await other.next((el) => el.name === 'message' && el.attrs.id === 'c1');
    assert.equal(redelivered.attrs.from, bob.jid);
    assert.equal(redelivered.getChildText('body'), 'unacked chat');

    const bounce = await bob.next((el) => el.name === 'message' && el.attrs.id === 'g1');
    assert.equal(bounce.attrs.type, 'error');
    assert.equal(bounce.attrs.from, gone.jid);
    assert.equal(errorConditionOf(bounce), 'recipient-unavailable');
    // A request gets an error; an IQ result (an answer) is never answered with one.
    const iqError = await bob.next(isIq('q1'));
    assert.equal(iqError.attrs.type, 'error');
    assert.equal(errorConditionOf(iqError), 'recipient-unavailable');
    assert.ok(await bob.nothing((el) => el.attrs.id === 'c1' || el.attrs.id === 'r1', 200), 'neither the chat message nor the IQ result is bounced');

    // The session cannot be resumed any more.
    const late = await RawTcp.connect(t.server.ports.c2s);
    await late.authenticate('alice', 'secret');
    late.send(`<resume xmlns='${NS.SM}' previd='${id}' h='0'/>`);
    assert.equal(errorConditionOf(await late.next(is('failed', NS.SM))), 'item-not-found');
    for (const c of [other, bob, late]) c.destroy();
  });

  test('unacked chat to the bare JID is not delivered twice to a resource that already got it', async () => {
    const other = await RawTcp.login(t.server.ports.c2s, 'alice', 'secret', 'desk');
    const otherUp = waitHook(t.server.ctx.hooks, 'session:available', ({ session }) => session.jid.full === other.jid);
    other.send('<presence/>');
    await otherUp;
    const { c: gone } = await smLogin(t, 'alice', 'mobile');
    const goneUp = waitHook(t.server.ctx.hooks, 'session:available', ({ session }) => session.jid.full === gone.jid);
    gone.send('<presence/>');
    await goneUp;
    const bob = await RawTcp.login(t.server.ports.c2s, 'bob', 'secret', 'b3');
    bob.send(chat('alice@localhost', 'd1', 'to both resources'));
    await gone.next((el) => el.name === 'message' && el.attrs.id === 'd1');
    await other.next((el) => el.name === 'message' && el.attrs.id === 'd1');
    const closed = waitHook(t.server.ctx.hooks, 'session:closed', ({ session }) => session.jid.full === gone.jid, 4000);
    gone.destroy();
    await closed;
    assert.ok(await other.nothing((el) => el.name === 'message' && el.attrs.id === 'd1', 300), 'the desk resource already has it');
    for (const c of [other, bob]) c.destroy();
  });

  test('unacked chat to the bare JID still reaches a resource that came online after it was sent', async () => {
    const { c: gone } = await smLogin(t, 'alice', 'mobile2');
    const goneUp = waitHook(t.server.ctx.hooks, 'session:available', ({ session }) => session.jid.full === gone.jid);
    gone.send('<presence/>');
    await goneUp;
    const bob = await RawTcp.login(t.server.ports.c2s, 'bob', 'secret', 'b4');
    bob.send(chat('alice@localhost', 'd2', 'only the phone had it'));
    await gone.next((el) => el.name === 'message' && el.attrs.id === 'd2');
    const late = await RawTcp.login(t.server.ports.c2s, 'alice', 'secret', 'desk2');
    const lateUp = waitHook(t.server.ctx.hooks, 'session:available', ({ session }) => session.jid.full === late.jid);
    late.send('<presence/>');
    await lateUp;
    gone.destroy();
    const msg = await late.next((el) => el.name === 'message' && el.attrs.id === 'd2', 4000);
    assert.equal(msg.getChildText('body'), 'only the phone had it');
    for (const c of [late, bob]) c.destroy();
  });

  test('with no other resource, unacked chat is stored offline and delivered at the next login', async () => {
    const { c: gone } = await smLogin(t, 'carol', 'phone');
    const bob = await RawTcp.login(t.server.ports.c2s, 'bob', 'secret', 'b2');
    bob.send(chat(gone.jid, 'o1', 'keep this'));
    await gone.next((el) => el.attrs.id === 'o1');
    const stored = waitHook(t.server.ctx.hooks, 'account:offline-message', ({ user }) => user.bare === 'carol@localhost', 4000);
    gone.destroy();
    const { stanza } = await stored;
    assert.equal(stanza.attrs.id, 'o1');
    assert.ok(await bob.nothing((el) => el.attrs.id === 'o1', 200), 'no bounce to the sender');

    const back = await RawTcp.login(t.server.ports.c2s, 'carol', 'secret', 'laptop');
    back.send('<presence/>');
    const msg = await back.next((el) => el.name === 'message' && el.attrs.id === 'o1');
    assert.equal(msg.getChildText('body'), 'keep this');
    assert.equal(msg.attrs.from, bob.jid);
    back.destroy();
    bob.destroy();
  });

  test('a session without resumption is closed at once when its connection drops', async () => {
    const c = await RawTcp.login(t.server.ports.c2s, 'alice', 'secret', 'nores');
    c.send(`<enable xmlns='${NS.SM}'/>`);
    const enabled = await c.next(is('enabled', NS.SM));
    assert.equal(enabled.attrs.id, undefined);
    const closed = waitHook(t.server.ctx.hooks, 'session:closed', ({ session }) => session.jid.full === c.jid);
    c.destroy();
    assert.match((await closed).reason, /connection lost/);
  });
});

describe('unacknowledged queue limit', () => {
  let t: TestServer;
  before(async () => {
    t = await startWithUsers(['dave', 'erin'], { streamManagement: { resumeTimeoutSeconds: 30, maxQueue: 3 } });
  });
  after(() => t.stop());

  test('a hibernated session whose queue overflows is closed and its messages go offline', async () => {
    const { c: gone } = await smLogin(t, 'dave', 'phone');
    const erin = await RawTcp.login(t.server.ports.c2s, 'erin', 'secret', 'e');
    const hibernated = waitHook(t.server.ctx.hooks, 'session:hibernated', ({ session }) => session.jid.full === gone.jid);
    gone.destroy();
    await hibernated;
    const closed = waitHook(t.server.ctx.hooks, 'session:closed', ({ session }) => session.jid.full === gone.jid, 4000);
    const stored: string[] = [];
    t.server.ctx.hooks.on('account:offline-message', ({ stanza }) => void stored.push(stanza.attrs.id as string));
    for (let i = 1; i <= 4; i++) erin.send(chat(gone.jid, `q${i}`, `queued ${i}`));
    const { reason } = await closed;
    assert.match(reason, /unacknowledged/);
    assert.equal(t.server.ctx.sessions.get(gone.jid), undefined);
    for (let i = 0; i < 50 && stored.length < 4; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(stored.sort(), ['q1', 'q2', 'q3', 'q4']);
    erin.destroy();
  });
});
