import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startWithUsers, type TestServer } from '../helpers/server.ts';
import { is, NS, RawTcp, streamErrorCondition } from '../helpers/raw.ts';
import { MUC, MUC_DOMAIN } from '../helpers/muc.ts';
import { prng } from '../helpers/names.ts';

/**
 * Issue 12: random and mutated input into the real server over TCP. The server answers with
 * stream or stanza errors, its output stays well-formed (every answer goes through the strict
 * parser of the raw client), it never crashes, and a well-behaved client is served throughout.
 * Bounded in cases and time; the seed (FUZZ_SEED to replay) is in every failure message.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 0x6d756370);
const BATCHES = 25;
const PER_BATCH = 16;
const DEADLINE_MS = 60_000;
/** How long one case may run before its connection is dropped. */
const CASE_MS = 150;

const ROOM = `fuzz@${MUC_DOMAIN}`;

// RFC 6120 4.9.3: the defined stream error conditions.
const STREAM_CONDITIONS = new Set([
  'bad-format', 'bad-namespace-prefix', 'conflict', 'connection-timeout', 'host-gone', 'host-unknown', 'improper-addressing',
  'internal-server-error', 'invalid-from', 'invalid-namespace', 'invalid-xml', 'not-authorized', 'not-well-formed',
  'policy-violation', 'remote-connection-failed', 'reset', 'resource-constraint', 'restricted-xml', 'see-other-host',
  'system-shutdown', 'undefined-condition', 'unsupported-encoding', 'unsupported-feature', 'unsupported-stanza-type',
  'unsupported-version',
]);


const HEADER = `<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='${NS.STREAM}'>`;

/** Well-formed input a client could send after binding, as seeds for mutation. */
const BOUND_CORPUS = [
  `<message to='watcher@localhost' type='chat' id='m1'><body>hello &amp; &lt;world&gt; &#x1F600;</body></message>`,
  `<presence to='${ROOM}/fz'><x xmlns='${MUC}'/></presence><message to='${ROOM}' type='groupchat' id='g1'><body>to the room</body></message>`,
  `<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`,
  `<iq type='get' id='d1' to='${MUC_DOMAIN}'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`,
  `<iq type='set' id='r1'><query xmlns='jabber:iq:roster'><item jid='watcher@localhost' name='w'/></query></iq>`,
  `<presence><show>away</show><status>fuzzing</status></presence>`,
  `<message to='watcher@localhost' id='x1'><body>x</body><x xmlns='urn:example' a='1'><y b="2">t<![CDATA[<raw>]]></y></x></message>`,
  `<enable xmlns='urn:xmpp:sm:3' resume='true'/><r xmlns='urn:xmpp:sm:3'/><a xmlns='urn:xmpp:sm:3' h='0'/>`,
  `<iq type='get' id='v1' to='watcher@localhost'><vCard xmlns='vcard-temp'/></iq>`,
  `<message to='${ROOM}' type='groupchat' id='g2'><subject>s</subject></message>`,
];

/** Input before authentication: stream headers, STARTTLS, SASL, registration. */
const OPEN_CORPUS = [
  HEADER,
  `${HEADER}<auth xmlns='${NS.SASL}' mechanism='PLAIN'>${Buffer.from('\0watcher\0wrong').toString('base64')}</auth>`,
  `${HEADER}<auth xmlns='${NS.SASL}' mechanism='SCRAM-SHA-256'>${Buffer.from('n,,n=watcher,r=abcdefgh').toString('base64')}</auth>`,
  `${HEADER}<iq type='get' id='reg'><query xmlns='jabber:iq:register'/></iq>`,
  `${HEADER}<starttls xmlns='${NS.TLS}'/>`,
  `${HEADER}</stream:stream>`,
];

const TOKENS = [
  '<', '>', '/>', '</', '&', '&amp;', '&#0;', '&#x1;', '&bogus;', ']]>', '<![CDATA[', '<!--', '-->', '<?xml?>', '<!DOCTYPE x>',
  "'", '"', '=', ' ', 'xmlns=', "xmlns:e='urn:e'", 'evil:', 'xml:lang', ':', '\u0000', '\u000b', '\ufffe', '\ud800',
  '</stream:stream>', '<stream:stream>', HEADER, '<a><b><c><d>', '</message>', '<message>', '</iq>', "<iq type='set'>",
  '\u00e9', '\u{1F600}', 'x'.repeat(300),
];
/** Byte sequences that are not UTF-8. */
const BAD_BYTES = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80]];

function mutate(input: Buffer, rnd: () => number): Buffer {
  const int = (n: number) => Math.floor(rnd() * n);
  let b = input;
  const n = 1 + int(3);
  for (let k = 0; k < n; k++) {
    const at = int(b.length + 1);
    switch (int(8)) {
      case 0: // flip one byte
        if (b.length) (b = Buffer.from(b))[Math.min(at, b.length - 1)] = int(256);
        break;
      case 1: // insert random bytes
        b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + int(4) }, () => int(256))), b.subarray(at)]);
        break;
      case 2: // delete a range
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + int(20))]);
        break;
      case 3: // duplicate a range
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + 1 + int(40)), b.subarray(at)]);
        break;
      case 4: // truncate
        b = b.subarray(0, at);
        break;
      case 5: // insert a markup token
      case 6:
        b = Buffer.concat([b.subarray(0, at), Buffer.from(TOKENS[int(TOKENS.length)]!), b.subarray(at)]);
        break;
      default: // insert bytes that are not UTF-8
        b = Buffer.concat([b.subarray(0, at), Buffer.from(BAD_BYTES[int(BAD_BYTES.length)]!), b.subarray(at)]);
    }
  }
  return b;
}

/** A random element tree: names, prefixes, attributes, text and references from small alphabets. */
function randomTree(rnd: () => number, depth = 0): string {
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: T[]) => xs[int(xs.length)]!;
  const name = pick(['message', 'iq', 'presence', 'body', 'x', 'e:x', 'query', 'a', 'stream:error', 'item']);
  const attrs = Array.from({ length: int(4) }, () => ` ${pick(['to', 'id', 'type', 'xmlns', 'xmlns:e', 'e:a', 'xml:lang', 'from'])}='${pick(['watcher@localhost', ROOM, 'chat', 'get', 'urn:e', 'jabber:client', '', '&amp;', 'a&lt;b'])}'`).join('');
  const kids = depth > 6 ? '' : Array.from({ length: int(3) }, () => (rnd() < 0.5 ? pick(['text', '&#233;', '&gt;', ' ', '\u{1F600}']) : randomTree(rnd, depth + 1))).join('');
  return kids || rnd() < 0.3 ? `<${name}${attrs}>${kids}</${name}>` : `<${name}${attrs}/>`;
}

/** `data` cut into 1 to 4 pieces, to be written one by one. */
function pieces(data: Buffer, rnd: () => number): Buffer[] {
  const cuts = Array.from({ length: Math.floor(rnd() * 4) }, () => Math.floor(rnd() * (data.length + 1))).sort((x, y) => x - y);
  const out: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts, data.length]) {
    if (cut > from) out.push(data.subarray(from, cut));
    from = cut;
  }
  return out;
}

describe('fuzzing the parser and the stream layer over TCP', () => {
  let t: TestServer;
  let watcher: RawTcp & { jid: string };
  let peer: RawTcp & { jid: string };
  before(async () => {
    const users = ['watcher', 'peer', ...Array.from({ length: PER_BATCH }, (_, i) => `fz${i}`)];
    t = await startWithUsers(users, {
      muc: { unlockedByDefault: true },
      // Fuzzed SASL attempts must not lock the well-behaved clients out.
      limits: { authFailuresPerMinute: 100_000 },
    });
    watcher = await RawTcp.login(t.server.ports.c2s, 'watcher', 'secret', 'w');
    watcher.send(`<presence/><presence to='${ROOM}/watcher'><x xmlns='${MUC}'/></presence>`);
    await watcher.next((el) => el.name === 'presence' && el.attrs.from === `${ROOM}/watcher`);
    peer = await RawTcp.login(t.server.ports.c2s, 'peer', 'secret', 'p');
  });
  after(async () => {
    watcher.destroy();
    peer.destroy();
    await t.stop();
  });

  test(`random and mutated input (seed ${SEED})`, { timeout: DEADLINE_MS + 60_000 }, async (ctx) => {
    const rnd = prng(SEED);
    const deadline = Date.now() + DEADLINE_MS;
    let cases = 0;
    let streamErrors = 0;
    for (let batch = 0; batch < BATCHES && Date.now() < deadline; batch++) {
      const runs = Array.from({ length: PER_BATCH }, async (_, i) => {
        const where = `seed ${SEED}, batch ${batch}, case ${i}`;
        // Everything random is drawn before the first await, so a seed replays the same input.
        const kind = rnd();
        const preAuth = kind < 0.3;
        let input: Buffer;
        if (preAuth) {
          // Before authentication: mutated headers and negotiation, or pure noise.
          input = rnd() < 0.15 ? Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256))) : mutate(Buffer.from(OPEN_CORPUS[Math.floor(rnd() * OPEN_CORPUS.length)]!), rnd);
        } else {
          input = kind < 0.45 ? Buffer.from(randomTree(rnd)) : mutate(Buffer.from(BOUND_CORPUS[Math.floor(rnd() * BOUND_CORPUS.length)]!), rnd);
        }
        const writes = pieces(input, rnd);
        const c = preAuth ? await RawTcp.connect(t.server.ports.c2s) : await RawTcp.login(t.server.ports.c2s, `fz${i}`, 'secret', `r${batch}`);
        const hex = input.toString('hex').slice(0, 400);
        try {
          for (const w of writes) c.socket.write(w);
          await c.waitClosed(CASE_MS).catch(() => {});
          assert.equal(c.parseError, null, `${where}: the server's answer is not well-formed XML (${c.parseError}); input ${hex}`);
          const errors = c.all.filter(is('stream:error'));
          for (const e of errors) {
            const condition = streamErrorCondition(e);
            assert.ok(condition && STREAM_CONDITIONS.has(condition), `${where}: undefined stream error ${e.toString()}; input ${hex}`);
          }
          if (errors.length) {
            streamErrors++;
            await c.waitClosed(5000).catch(() => assert.fail(`${where}: the stream stayed open after a stream error; input ${hex}`));
          }
        } finally {
          c.destroy();
        }
      });
      await Promise.all(runs);
      cases += PER_BATCH;
      // The well-behaved clients are served after every batch: a ping and a message round trip.
      const pid = `ping-${batch}`;
      const pong = await watcher.iq(`<iq type='get' id='${pid}' to='localhost'><ping xmlns='${NS.PING}'/></iq>`, pid);
      assert.equal(pong.attrs.type, 'result', `seed ${SEED}: ping after batch ${batch}`);
      const mid = `rt-${batch}`;
      peer.send(`<message to='${watcher.jid}' id='${mid}' type='chat'><body>still here ${batch}</body></message>`);
      const m = await watcher.next((el) => el.name === 'message' && el.attrs.id === mid);
      assert.equal(m.getChildText('body'), `still here ${batch}`);
      assert.equal(watcher.parseError, null, `seed ${SEED}: the watcher received malformed XML after batch ${batch}`);
      assert.equal(watcher.isClosed || peer.isClosed, false, `seed ${SEED}: a well-behaved client was dropped`);
    }
    ctx.diagnostic(`seed ${SEED}: ${cases} cases, ${streamErrors} ended with a stream error`);
    assert.ok(cases >= PER_BATCH * 5, `seed ${SEED}: only ${cases} cases ran before the deadline`);
    // The server still accepts new clients.
    const late = await RawTcp.login(t.server.ports.c2s, 'peer', 'secret', 'late');
    assert.equal((await late.iq(`<iq type='get' id='late' to='localhost'><ping xmlns='${NS.PING}'/></iq>`, 'late')).attrs.type, 'result');
    late.destroy();
  });
});
