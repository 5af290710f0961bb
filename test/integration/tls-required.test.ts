import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import xml from '@xmpp/xml';
import { startWithUsers, type TestServer } from '../helpers/server.ts';
import { parseFrame } from '../../src/xml/frame-parser.ts';
import type { Connection, ConnectionHandler } from '../../src/transport/connection.ts';

/**
 * A client on another host, without opening a socket to one: the stream layer sees a plain
 * (unencrypted, non-loopback) connection and must insist on STARTTLS.
 */
class RemotePlainConnection implements Connection {
  readonly kind = 'tcp' as const;
  readonly id = 999_999;
  readonly remoteAddress = '203.0.113.5';
  readonly secure = false;
  readonly encrypted = false;
  readonly canStartTls = true;
  readonly pendingBytes = 0;
  handler!: ConnectionHandler;
  out: string[] = [];
  closed = false;
  setHandler(h: ConnectionHandler) {
    this.handler = h;
  }
  openStream() {
    this.out.push('<header/>');
  }
  write(s: string) {
    this.out.push(s);
  }
  restartStream() {}
  allowBacklog() {}
  async startTls() {}
  closeStream() {
    this.closed = true;
  }
  destroy() {
    this.closed = true;
  }
  /** The last written element of that name, parsed. */
  last(name: string) {
    const s = [...this.out].reverse().find((o) => o.startsWith(`<${name}`));
    return s ? parseFrame(s, { maxStanzaBytes: 1 << 20, maxDepth: 32 }) : undefined;
  }
}

let t: TestServer;
before(async () => {
  t = await startWithUsers(['carol'], { c2s: { requireTls: true } });
});
after(() => t.stop());

function open(): RemotePlainConnection {
  const c = new RemotePlainConnection();
  t.server.accept(c);
  c.handler.streamStart(xml('stream:stream', { xmlns: 'jabber:client', 'xmlns:stream': 'http://etherx.jabber.org/streams', to: 'localhost', version: '1.0' }));
  return c;
}

test('a plain non-loopback connection is offered only STARTTLS (required)', () => {
  const c = open();
  const features = c.last('stream:features')!;
  assert.ok(features.getChild('starttls', 'urn:ietf:params:xml:ns:xmpp-tls')?.getChild('required'));
  assert.equal(features.getChild('mechanisms', 'urn:ietf:params:xml:ns:xmpp-sasl'), undefined);
  assert.equal(features.getChild('register', 'http://jabber.org/features/iq-register'), undefined);
});

test('SASL before STARTTLS is a policy-violation stream error, and nothing authenticates', async () => {
  const c = open();
  c.handler.stanza(xml('auth', { xmlns: 'urn:ietf:params:xml:ns:xmpp-sasl', mechanism: 'PLAIN' }, Buffer.from('\0carol\0secret').toString('base64')));
  await new Promise((r) => setImmediate(r));
  const err = c.last('stream:error')!;
  assert.ok(err.getChild('policy-violation'), err.toString());
  assert.ok(c.closed);
  assert.equal(c.out.some((o) => o.startsWith('<success')), false);
});

test('in-band registration before STARTTLS is refused and creates nothing', async () => {
  const c = open();
  c.handler.stanza(xml('iq', { type: 'set', id: 'r1' }, xml('query', { xmlns: 'jabber:iq:register' }, xml('username', {}, 'mallory'), xml('password', {}, 'x'))));
  await new Promise((r) => setImmediate(r));
  assert.ok(c.last('stream:error')?.getChild('policy-violation'));
  assert.equal(await t.server.ctx.accounts.exists('mallory'), false);
});

test('after STARTTLS the mechanisms are offered', async () => {
  const c = open();
  (c as { encrypted: boolean }).encrypted = true;
  (c as { secure: boolean }).secure = true;
  (c as { canStartTls: boolean }).canStartTls = false;
  c.handler.streamStart(xml('stream:stream', { xmlns: 'jabber:client', 'xmlns:stream': 'http://etherx.jabber.org/streams', to: 'localhost', version: '1.0' }));
  assert.ok(c.last('stream:features')!.getChild('mechanisms', 'urn:ietf:params:xml:ns:xmpp-sasl'));
});
