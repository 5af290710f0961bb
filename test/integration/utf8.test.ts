import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startWithUsers, sleep, type TestServer } from '../helpers/server.ts';
import { is, RawTcp } from '../helpers/raw.ts';

const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

/** Writes each piece as its own socket write, waiting for it to leave before the next. */
async function writeApart(c: RawTcp, pieces: Buffer[]): Promise<void> {
  for (const p of pieces) {
    await new Promise<void>((resolve, reject) => c.socket.write(p, (err) => (err ? reject(err) : resolve())));
    await sleep(20); // separate TCP segments, so the server reads them apart
  }
}

const INVALID: [string, number[]][] = [
  ['a lone 0xFF', [0xff]],
  ['an overlong slash (C0 AF)', [0xc0, 0xaf]],
  ['an encoded surrogate (ED A0 80)', [0xed, 0xa0, 0x80]],
  ['a truncated euro sign (E2 82)', [0xe2, 0x82]],
];

// Issue 12 item 14: invalid UTF-8 closes the stream (RFC 6120 4.9.3.22) instead of being
// replaced with U+FFFD and delivered.
describe('UTF-8 on the TCP stream', () => {
  let t: TestServer;
  let bob: RawTcp & { jid: string };
  before(async () => {
    t = await startWithUsers(['alice', 'bob']);
    bob = await RawTcp.login(t.server.ports.c2s, 'bob');
    bob.send('<presence/>');
  });
  after(async () => {
    bob.destroy();
    await t.stop();
  });

  test('a character split across reads arrives whole', async () => {
    const alice = await RawTcp.login(t.server.ports.c2s, 'alice');
    // "€" is E2 82 AC and "𝄞" is F0 9D 84 9E: each split between writes.
    await writeApart(alice, [
      bytes("<message to='bob@localhost' id='split' type='chat'><body>a", [0xe2]),
      bytes([0x82]),
      bytes([0xac, 0xf0, 0x9d]),
      bytes([0x84, 0x9e], ' b</body></message>'),
    ]);
    const m = await bob.next((el) => el.name === 'message' && el.attrs.id === 'split');
    assert.equal(m.getChildText('body'), 'a€𝄞 b');
    alice.destroy();
  });

  for (const [what, bad] of INVALID) {
    test(`${what} in a message body: unsupported-encoding, nothing delivered`, async () => {
      const alice = await RawTcp.login(t.server.ports.c2s, 'alice');
      const id = `bad-${bad.join('-')}`;
      // The truncated sequence is followed by ASCII, which makes it invalid (not merely unfinished).
      alice.socket.write(bytes(`<message to='bob@localhost' id='${id}' type='chat'><body>x`, bad, 'y</body></message>'));
      assert.equal(await alice.streamError(), 'unsupported-encoding');
      assert.ok(await bob.nothing((el) => el.attrs.id === id), 'bob never gets the message');
    });

    test(`${what} in the stream header: unsupported-encoding`, async () => {
      const c = await RawTcp.connect(t.server.ports.c2s);
      c.socket.write(bytes("<?xml version='1.0'?><stream:stream to='localhost' xml:lang='e", bad, "n' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"));
      assert.equal(await c.streamError(), 'unsupported-encoding');
      assert.ok(c.all.some(is('stream:stream')), 'the server sent its header before the error');
    });
  }

  test('after STARTTLS the TLS stream is checked as well', async () => {
    const c = await RawTcp.connect(t.server.ports.c2s);
    await c.openAndFeatures();
    const secure = await c.startTls();
    secure.write(bytes("<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><x", [0xff], '/>'));
    assert.equal(await c.streamError(), 'unsupported-encoding');
  });
});
