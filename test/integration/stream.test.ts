import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { startWithUsers, type TestServer } from '../helpers/server.ts';
import { errorConditionOf, is, isIq, NS, RawTcp, RawWs, streamErrorCondition } from '../helpers/raw.ts';
import { selfSignedPaths } from '../../src/transport/tls.ts';

const LIMITS = { maxStanzaBytes: 4096, maxDepth: 8, rateBytesPerSecond: 4096, rateBurstBytes: 16384 };

let t: TestServer;
before(async () => {
  t = await startWithUsers(['alice', 'bob'], { limits: LIMITS });
});
after(() => t.stop());

/** The server still serves a real client after whatever the previous test did to it. */
async function assertServes(server: TestServer = t): Promise<void> {
  const c = await server.login('bob');
  assert.match(c.jid, /^bob@localhost\//);
  await c.stop();
}

/** Opens a raw stream, sends `after` (if any) and resolves with the stream error condition. */
async function streamErrorFor(opts: { header?: Record<string, string | undefined>; raw?: string; after?: string }): Promise<string | undefined> {
  const c = await RawTcp.connect(t.server.ports.c2s);
  try {
    if (opts.raw !== undefined) c.send(opts.raw);
    else {
      await c.openAndFeatures(opts.header);
      if (opts.after !== undefined) c.send(opts.after);
    }
    const condition = await c.streamError();
    assert.equal(c.parseError, null, 'the server output is well-formed XML');
    assert.ok(c.ended, 'the server closed its stream with </stream:stream>');
    return condition;
  } finally {
    c.destroy();
  }
}

describe('stream errors over raw TCP', () => {
  test('wrong "to" gets host-unknown, after a server header', async () => {
    const c = await RawTcp.connect(t.server.ports.c2s);
    c.open({ to: 'elsewhere.example' });
    const header = await c.next(is('stream:stream'));
    assert.equal(header.attrs.from, 'localhost');
    assert.equal(await c.streamError(), 'host-unknown');
    assert.equal(c.all.filter(is('stream:features')).length, 0, 'no features after a refused header');
    await assertServes();
  });

  test('wrong default namespace or stream namespace gets invalid-namespace', async () => {
    assert.equal(await streamErrorFor({ raw: `<stream:stream to='localhost' version='1.0' xmlns='jabber:server' xmlns:stream='${NS.STREAM}'>` }), 'invalid-namespace');
    assert.equal(await streamErrorFor({ raw: `<stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='urn:wrong'>` }), 'invalid-namespace');
    assert.equal(await streamErrorFor({ raw: `<stream to='localhost' version='1.0' xmlns='jabber:client'>` }), 'invalid-namespace');
    await assertServes();
  });

  test('missing or unsupported version gets unsupported-version; 1.x is accepted', async () => {
    assert.equal(await streamErrorFor({ raw: `<stream:stream to='localhost' xmlns='jabber:client' xmlns:stream='${NS.STREAM}'>` }), 'unsupported-version');
    assert.equal(await streamErrorFor({ raw: `<stream:stream to='localhost' version='2.0' xmlns='jabber:client' xmlns:stream='${NS.STREAM}'>` }), 'unsupported-version');
    // RFC 6120 4.7.5: a higher minor version is answered with the lower one, not refused.
    const c = await RawTcp.connect(t.server.ports.c2s);
    const features = await c.openAndFeatures({ version: '1.1' });
    assert.ok(features.getChild('mechanisms', NS.SASL));
    assert.equal(c.all[0]!.attrs.version, '1.0');
    c.destroy();
    await assertServes();
  });

  test('malformed XML gets not-well-formed', async () => {
    assert.equal(await streamErrorFor({ after: `<message to='bob@localhost'><body>hi</message>` }), 'not-well-formed');
    assert.equal(await streamErrorFor({ after: `<message to='a' to='b'/>` }), 'not-well-formed');
    assert.equal(await streamErrorFor({ after: `<message><body>&nosuch;</body></message>` }), 'not-well-formed');
    await assertServes();
  });

  test('DOCTYPE, comments and processing instructions get restricted-xml', async () => {
    const header = `<stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='${NS.STREAM}'>`;
    assert.equal(await streamErrorFor({ raw: `<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]>${header}` }), 'restricted-xml');
    assert.equal(await streamErrorFor({ after: '<!-- a comment -->' }), 'restricted-xml');
    assert.equal(await streamErrorFor({ after: `<?xml-stylesheet href='x'?>` }), 'restricted-xml');
    assert.equal(await streamErrorFor({ after: `<message><body><!-- inside --></body></message>` }), 'restricted-xml');
    await assertServes();
  });

  test('a stanza larger than limits.maxStanzaBytes gets policy-violation', async () => {
    // Just under the limit is fine (answered as a pre-auth IQ), just over is not.
    const c = await RawTcp.connect(t.server.ports.c2s);
    await c.openAndFeatures();
    const filler = (n: number) => 'x'.repeat(n);
    const base = `<iq type='get' id='q1'><query xmlns='urn:x'></query></iq>`;
    c.send(base.replace('></query>', `>${filler(LIMITS.maxStanzaBytes - base.length - 1)}</query>`));
    const ok = await c.next(isIq('q1'));
    assert.equal(errorConditionOf(ok), 'not-authorized');
    c.destroy();
    assert.equal(await streamErrorFor({ after: `<message><body>${filler(LIMITS.maxStanzaBytes)}</body></message>` }), 'policy-violation');
    await assertServes();
  });

  test('nesting deeper than limits.maxDepth gets policy-violation', async () => {
    const nest = (depth: number) => '<a>'.repeat(depth - 1) + '</a>'.repeat(depth - 1);
    // depth 1 is the stanza itself.
    const c = await RawTcp.connect(t.server.ports.c2s);
    await c.openAndFeatures();
    c.send(`<iq type='get' id='d1'>${nest(LIMITS.maxDepth)}</iq>`);
    assert.equal(errorConditionOf(await c.next(isIq('d1'))), 'not-authorized');
    c.destroy();
    assert.equal(await streamErrorFor({ after: `<iq type='get' id='d2'>${nest(LIMITS.maxDepth + 1)}</iq>` }), 'policy-violation');
    await assertServes();
  });

  test('exceeding the input rate gets policy-violation', async () => {
    // Whitespace keepalives are legal anywhere between stanzas: only the rate limit can object.
    assert.equal(await streamErrorFor({ after: ' '.repeat(LIMITS.rateBurstBytes + 1024) }), 'policy-violation');
    await assertServes();
  });

  test('a stanza before authentication gets not-authorized', async () => {
    assert.equal(await streamErrorFor({ after: `<message to='bob@localhost'><body>hi</body></message>` }), 'not-authorized');
    // An IQ before authentication is answered with an error instead, and the stream goes on.
    const c = await RawTcp.connect(t.server.ports.c2s);
    await c.openAndFeatures();
    const reply = await c.iq(`<iq type='get' id='p1' to='localhost'><ping xmlns='${NS.PING}'/></iq>`, 'p1');
    assert.equal(reply.attrs.type, 'error');
    assert.equal(errorConditionOf(reply), 'not-authorized');
    assert.equal((await c.plain('alice', 'secret')).name, 'success');
    c.destroy();
    await assertServes();
  });
});

describe('stream errors after a stream restart', () => {
  test('malformed input instead of the restarted stream header gets a fresh header before the error', async () => {
    const c = await RawTcp.connect(t.server.ports.c2s);
    await c.openAndFeatures();
    assert.equal((await c.plain('alice', 'secret')).name, 'success');
    const before = c.all.filter(is('stream:stream')).length;
    c.send('this is not XML');
    assert.equal(await c.streamError(), 'not-well-formed');
    assert.equal(c.all.filter(is('stream:stream')).length, before + 1, 'the restarted stream has its own header');
    assert.equal(c.parseError, null, 'the server output is well-formed XML');
    assert.ok(c.ended);
    c.destroy();
  });
});

describe('authentication timeout', () => {
  let slow: TestServer;
  before(async () => {
    slow = await startWithUsers(['bob'], { limits: { authTimeoutSeconds: 1 } });
  });
  after(() => slow.stop());

  test('a client that does not authenticate in time gets connection-timeout', async () => {
    const c = await RawTcp.connect(slow.server.ports.c2s);
    const started = Date.now();
    await c.openAndFeatures();
    assert.equal(await c.streamError(3000), 'connection-timeout');
    assert.ok(Date.now() - started >= 900, 'not before the configured timeout');
    // An authenticated session is not subject to it.
    const ok = await RawTcp.login(slow.server.ports.c2s, 'bob', 'secret', 'stays');
    assert.ok(await ok.nothing(() => true, 1300), 'a bound session is not timed out');
    assert.ok(!ok.isClosed);
    ok.destroy();
  });

  test('a client that authenticates but never binds is timed out too', async () => {
    const c = await RawTcp.connect(slow.server.ports.c2s);
    await c.authenticate('bob', 'secret');
    assert.equal(await c.streamError(3000), 'connection-timeout');
  });
});

describe('TLS and SASL', () => {
  test('an <abort/> while a SASL step runs wins: no <success/> follows the <failure/>', async () => {
    const c = await RawTcp.connect(t.server.ports.c2s);
    await c.openAndFeatures();
    const creds = Buffer.from('\0alice\0secret').toString('base64');
    // Both in one write: the abort arrives while the password check is still running.
    c.send(`<auth xmlns='${NS.SASL}' mechanism='PLAIN'>${creds}</auth><abort xmlns='${NS.SASL}'/>`);
    const failure = await c.next(is('failure', NS.SASL));
    assert.ok(failure.getChild('aborted'), failure.toString());
    assert.ok(await c.nothing(is('success', NS.SASL), 500), 'the aborted exchange does not succeed afterwards');
    c.destroy();
  });

  test('STARTTLS with the generated certificate, verified against <dataDir>/tls/', async () => {
    const ca = await readFile(selfSignedPaths(t.dataDir).cert, 'utf8');
    const c = await RawTcp.connect(t.server.ports.c2s);
    const features = await c.openAndFeatures();
    const starttls = features.getChild('starttls', NS.TLS);
    assert.ok(starttls, 'STARTTLS is offered');
    assert.equal(starttls.getChild('required'), undefined, 'not required on loopback');
    const secure = await c.startTls({ ca, servername: 'localhost' });
    assert.equal(secure.authorized, true, `certificate verified (${secure.authorizationError ?? ''})`);
    assert.match(secure.getPeerCertificate().subjectaltname ?? '', /DNS:localhost/);
    const after = await c.openAndFeatures();
    assert.equal(after.getChild('starttls', NS.TLS), undefined, 'no STARTTLS once encrypted');
    const scram = await c.scram('SCRAM-SHA-256', 'alice', 'secret');
    assert.ok(scram.serverSignatureOk, scram.additionalData);
    await c.openAndFeatures();
    assert.match(await c.bind('tls'), /^alice@localhost\/tls$/);
    c.destroy();
  });

  test('on loopback without TLS the mechanisms are offered and PLAIN works', async () => {
    const c = await RawTcp.connect(t.server.ports.c2s);
    const features = await c.openAndFeatures();
    const mechs = features.getChild('mechanisms', NS.SASL)!.getChildren('mechanism').map((m) => m.text());
    assert.deepEqual(mechs, ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
    const failure = await c.plain('alice', 'wrong');
    assert.equal(failure.name, 'failure');
    assert.equal(errorConditionOf(failure), 'not-authorized');
    assert.equal((await c.plain('alice', 'secret')).name, 'success');
    const bound = await c.openAndFeatures();
    assert.ok(bound.getChild('bind', NS.BIND));
    assert.ok(bound.getChild('sm', NS.SM));
    assert.match(await c.bind('plain'), /^alice@localhost\/plain$/);
    c.destroy();
  });

  test('SCRAM-SHA-256 and SCRAM-SHA-1 by hand: <success/> carries the right v= signature', async () => {
    for (const hash of ['SCRAM-SHA-256', 'SCRAM-SHA-1'] as const) {
      const c = await RawTcp.connect(t.server.ports.c2s);
      await c.openAndFeatures();
      const r = await c.scram(hash, 'alice', 'secret');
      assert.equal(r.outcome.name, 'success', r.outcome.toString());
      assert.match(r.additionalData, /^v=/);
      assert.ok(r.serverSignatureOk, `${hash} server signature ${r.additionalData}`);
      c.destroy();
      const bad = await RawTcp.connect(t.server.ports.c2s);
      await bad.openAndFeatures();
      const wrong = await bad.scram(hash, 'alice', 'not-the-password');
      assert.equal(wrong.outcome.name, 'failure');
      assert.equal(errorConditionOf(wrong.outcome), 'not-authorized');
      bad.destroy();
    }
  });
});

describe('TLS required, authentication throttled', () => {
  let strict: TestServer;
  before(async () => {
    strict = await startWithUsers(['carol'], {
      c2s: { requireTls: true },
      http: { trustedProxies: ['192.0.2.0/24', '127.0.0.1'] },
      limits: { authFailuresPerMinute: 3 },
    });
  });
  after(() => strict.stop());

  test('behind a trusted proxy, failed logins are counted per X-Forwarded-For client', async () => {
    const url = `ws://127.0.0.1:${strict.server.ports.http}/xmpp-websocket`;
    const via = async (client: string) => {
      const c = await RawWs.connect(url, ['xmpp'], { 'X-Forwarded-For': `198.51.100.99, ${client}` });
      c.open();
      await c.next(is('stream:features'));
      return c;
    };
    // Two failures on one stream, one on another (a stream is closed at its third failure).
    const a = await via('203.0.113.7');
    for (let i = 0; i < 2; i++) assert.equal(errorConditionOf(await a.plain('carol', `wrong-${i}`)), 'not-authorized');
    a.close();
    const a2 = await via('203.0.113.7');
    assert.equal(errorConditionOf(await a2.plain('carol', 'wrong-2')), 'not-authorized');
    a2.close();
    const a3 = await via('203.0.113.7');
    assert.equal(errorConditionOf(await a3.plain('carol', 'secret')), 'temporary-auth-failure');
    a3.close();
    const b = await via('203.0.113.8');
    assert.equal((await b.plain('carol', 'secret')).name, 'success', 'another client behind the same proxy is not locked out');
    b.close();
  });

  test('after authFailuresPerMinute failures the right password gets temporary-auth-failure', async () => {
    for (let i = 0; i < 3; i++) {
      const c = await RawTcp.connect(strict.server.ports.c2s);
      await c.openAndFeatures();
      const f = await c.plain('carol', `wrong-${i}`);
      assert.equal(errorConditionOf(f), 'not-authorized', `attempt ${i + 1}`);
      c.destroy();
    }
    const c = await RawTcp.connect(strict.server.ports.c2s);
    await c.openAndFeatures();
    const blocked = await c.plain('carol', 'secret');
    assert.equal(blocked.name, 'failure');
    assert.equal(errorConditionOf(blocked), 'temporary-auth-failure');
    c.destroy();
    // A new connection from the same address is throttled too, whatever the mechanism.
    const d = await RawTcp.connect(strict.server.ports.c2s);
    await d.openAndFeatures();
    const scram = await d.scram('SCRAM-SHA-256', 'carol', 'secret');
    assert.equal(errorConditionOf(scram.outcome), 'temporary-auth-failure');
    d.destroy();
    await assert.rejects(strict.login('carol'));
  });
});

describe('WebSocket (RFC 7395)', () => {
  const url = () => `ws://127.0.0.1:${t.server.ports.http}/xmpp-websocket`;

  test('the xmpp subprotocol is echoed, and required', async () => {
    const c = await RawWs.connect(url(), ['xmpp']);
    assert.equal(c.ws.protocol, 'xmpp');
    c.ws.terminate();
    await assert.rejects(RawWs.connect(url(), []), /HTTP 400/);
    await assert.rejects(RawWs.connect(url(), ['chat']), /HTTP 400/);
    const both = await RawWs.connect(url(), ['chat', 'xmpp']);
    assert.equal(both.ws.protocol, 'xmpp');
    both.ws.terminate();
  });

  test('a client resetting the connection during a refused upgrade does not crash the server', async () => {
    for (let i = 0; i < 100; i++) {
      await new Promise<void>((resolve) => {
        const s = net.connect(t.server.ports.http, '127.0.0.1', () => {
          s.write(
            'GET /xmpp-websocket HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
              'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n',
          );
          s.resetAndDestroy();
          resolve();
        });
        s.on('error', () => {});
      });
    }
    await new Promise((r) => setTimeout(r, 300));
    await assertServes();
  });

  test('<open/> answer and a features frame that stands alone', async () => {
    const c = await RawWs.connect(url());
    c.open();
    const open = await c.next(is('open'));
    assert.equal(open.attrs.xmlns, NS.FRAMING);
    assert.equal(open.attrs.version, '1.0');
    assert.equal(open.attrs.from, 'localhost');
    assert.ok(open.attrs.id);
    const features = await c.next(is('stream:features'));
    assert.equal(features.attrs['xmlns:stream'], NS.STREAM);
    assert.equal(features.getChild('mechanisms')?.attrs.xmlns, NS.SASL);
    assert.equal(features.getChild('starttls'), undefined, 'no STARTTLS over WebSocket');
    assert.deepEqual(c.badFrames, []);
    c.close();
  });

  test('two elements in one frame: not-well-formed, then <close/>', async () => {
    const c = await RawWs.connect(url());
    c.open();
    await c.next(is('stream:features'));
    c.send(`<iq xmlns='jabber:client' type='get' id='a'/><iq xmlns='jabber:client' type='get' id='b'/>`);
    assert.equal(await c.streamError(), 'not-well-formed');
    const close = await c.next(is('close'));
    assert.equal(close.attrs.xmlns, NS.FRAMING);
    const names = c.all.map((e) => e.name);
    assert.ok(names.indexOf('stream:error') < names.indexOf('close'));
    await c.waitClosed();
    await assertServes();
  });

  test('a binary frame is refused with a stream error and <close/>', async () => {
    const c = await RawWs.connect(url());
    c.open();
    await c.next(is('stream:features'));
    c.send(Buffer.from(`<iq xmlns='jabber:client' type='get' id='a'><ping xmlns='${NS.PING}'/></iq>`), true);
    assert.ok(await c.streamError());
    assert.equal((await c.next(is('close'))).attrs.xmlns, NS.FRAMING);
    await c.waitClosed();
    assert.equal(c.all.filter(isIq('a')).length, 0);
  });

  test('a client <close/> is answered with <close/>', async () => {
    const c = await RawWs.connect(url());
    c.open();
    await c.next(is('stream:features'));
    c.send(`<close xmlns='${NS.FRAMING}'/>`);
    const close = await c.next(is('close'));
    assert.equal(close.attrs.xmlns, NS.FRAMING);
    await c.waitClosed();
    assert.equal(c.closeCode, 1000);
  });

  test('a second <open/> after binding is refused and leaves no session behind', async () => {
    const c = await RawWs.connect(url());
    c.open();
    await c.next(is('stream:features'));
    assert.equal((await c.plain('alice', 'secret')).name, 'success');
    c.open();
    await c.next(is('stream:features'));
    c.send(`<iq xmlns='jabber:client' type='set' id='b1'><bind xmlns='${NS.BIND}'><resource>ws-reopen-1</resource></bind></iq>`);
    assert.equal((await c.next(isIq('b1'))).attrs.type, 'result');
    c.open();
    c.send(`<iq xmlns='jabber:client' type='set' id='b2'><bind xmlns='${NS.BIND}'><resource>ws-reopen-2</resource></bind></iq>`);
    assert.ok(await c.streamError());
    await c.waitClosed();
    assert.equal(c.all.filter(isIq('b2')).length, 0, 'no second resource is bound on the same stream');
    assert.equal(t.server.ctx.sessions.get('alice@localhost/ws-reopen-1'), undefined);
    assert.equal(t.server.ctx.sessions.get('alice@localhost/ws-reopen-2'), undefined);
  });

  test('stanzas before authentication and stream errors work over WebSocket too', async () => {
    const c = await RawWs.connect(url());
    c.open({ to: 'elsewhere.example' });
    assert.equal(await c.streamError(), 'host-unknown');
    await c.next(is('close'));
    await c.waitClosed();
  });
});

describe('resource binding', () => {
  test('the server generates a resource when none is requested', async () => {
    const a = await RawTcp.login(t.server.ports.c2s, 'alice');
    const b = await RawTcp.login(t.server.ports.c2s, 'alice');
    const resource = (jid: string) => jid.slice(jid.indexOf('/') + 1);
    assert.match(a.jid, /^alice@localhost\/.+/);
    assert.ok(resource(a.jid).length >= 8);
    assert.notEqual(a.jid, b.jid);
    assert.ok(t.server.ctx.sessions.get(a.jid));
    a.destroy();
    b.destroy();
  });

  test('binding a resource in use replaces the old session, which gets conflict', async () => {
    const old = await RawTcp.login(t.server.ports.c2s, 'alice', 'secret', 'dup');
    const first = t.server.ctx.sessions.get('alice@localhost/dup');
    const fresh = await RawTcp.login(t.server.ports.c2s, 'alice', 'secret', 'dup');
    assert.equal(fresh.jid, 'alice@localhost/dup');
    assert.equal(await old.streamError(), 'conflict');
    const now = t.server.ctx.sessions.get('alice@localhost/dup');
    assert.ok(now && now !== first, 'the new connection holds the resource');
    assert.equal(first?.state, 'closed');
    // The new session works.
    const pong = await fresh.iq(`<iq type='get' id='p' to='localhost'><ping xmlns='${NS.PING}'/></iq>`, 'p');
    assert.equal(pong.attrs.type, 'result');
    fresh.destroy();
  });

  test('a requested resource is bound in its normalized (NFC) form, so stanzas to it arrive', async () => {
    const decomposed = 'cafe\u0301';
    const a = await RawTcp.login(t.server.ports.c2s, 'alice', 'secret', decomposed);
    assert.equal(a.jid, 'alice@localhost/caf\u00e9');
    const b = await RawTcp.login(t.server.ports.c2s, 'bob', 'secret', 'nfc-peer');
    const pinged = a.next(isIq('nfc1'));
    b.send(`<iq type='get' id='nfc1' to='alice@localhost/${decomposed}'><ping xmlns='${NS.PING}'/></iq>`);
    assert.equal((await pinged).attrs.type, 'get');
    a.destroy();
    b.destroy();
  });

  test('the legacy <session/> IQ is answered with a result', async () => {
    const c = await RawTcp.connect(t.server.ports.c2s);
    const features = await c.authenticate('alice', 'secret');
    assert.ok(features.getChild('session', NS.SESSION)?.getChild('optional'), 'session is advertised as optional');
    await c.bind();
    const reply = await c.iq(`<iq type='set' id='s1'><session xmlns='${NS.SESSION}'/></iq>`, 's1');
    assert.equal(reply.attrs.type, 'result');
    c.destroy();
  });

  test('a stanza after authentication but before binding is refused', async () => {
    const c = await RawTcp.connect(t.server.ports.c2s);
    await c.authenticate('alice', 'secret');
    const reply = await c.iq(`<iq type='get' id='x' to='localhost'><ping xmlns='${NS.PING}'/></iq>`, 'x');
    assert.equal(errorConditionOf(reply), 'not-authorized');
    c.send(`<message to='bob@localhost'><body>x</body></message>`);
    assert.equal(streamErrorCondition(await c.next(is('stream:error'))), 'not-authorized');
    c.destroy();
  });
});
