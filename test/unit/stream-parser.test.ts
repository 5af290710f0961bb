import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamParser } from '../../src/xml/stream-parser.ts';
import { isXmlChars, isXmlName } from '../../src/xml/chars.ts';

const LIMITS = { maxStanzaBytes: 256 * 1024, maxDepth: 64 };
const HEADER = `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>`;

/** Feeds `chunks` and returns the events as strings, so runs can be compared. */
function run(chunks: string[], limits = LIMITS): { events: string[]; parser: StreamParser } {
  const parser = new StreamParser(limits);
  const events: string[] = [];
  parser.on('streamStart', (el) => events.push(`start ${el.name} ${JSON.stringify(el.attrs)} ${el.children.length}`));
  parser.on('stanza', (el) => {
    assert.equal(el.parent, null);
    events.push(`stanza ${el.toString()}`);
  });
  parser.on('streamEnd', () => events.push('end'));
  parser.on('error', (err) => events.push(`error ${err.condition}`));
  for (const c of chunks) parser.write(c);
  return { events, parser };
}

/** The error condition for input written in one chunk (asserts that the error came once, last). */
function errorOf(input: string | string[], limits = LIMITS): string | undefined {
  const { events } = run(typeof input === 'string' ? [input] : input, limits);
  const errors = events.filter((e) => e.startsWith('error '));
  assert.ok(errors.length <= 1, `several errors: ${errors}`);
  if (errors.length) assert.equal(events.at(-1), errors[0]);
  return errors[0]?.slice(6);
}

const SAMPLE =
  `<?xml version='1.0' encoding='UTF-8'?>\n${HEADER}\n` +
  `<message to='room@muc.example.com' type='groupchat' id="a&amp;b"><body>héllo 😀 日本 &lt;tag&gt; &#x1F600;&#233;</body></message>` +
  ` \n\t ` +
  `<iq type='get' id='1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>` +
  `<presence><x xmlns='http://jabber.org/protocol/muc'><![CDATA[a<b]]]]><![CDATA[>c]]></x></presence>` +
  ' ' +
  `<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>` +
  `</stream:stream>`;

test('parses a stream into header, detached stanzas and end', () => {
  const { events } = run([SAMPLE]);
  assert.deepEqual(events, [
    `start stream:stream {"xmlns":"jabber:client","xmlns:stream":"http://etherx.jabber.org/streams","to":"example.com","version":"1.0"} 0`,
    `stanza <message to="room@muc.example.com" type="groupchat" id="a&amp;b"><body>héllo 😀 日本 &lt;tag&gt; 😀é</body></message>`,
    `stanza <iq type="get" id="1"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`,
    `stanza <presence><x xmlns="http://jabber.org/protocol/muc">a&lt;b]]&gt;c</x></presence>`,
    `stanza <stream:error xmlns:stream="http://etherx.jabber.org/streams"><conflict xmlns="urn:ietf:params:xml:ns:xmpp-streams"/></stream:error>`,
    'end',
  ]);
});

test('gives the same events however the input is split', () => {
  const expected = run([SAMPLE]).events;
  for (let i = 0; i <= SAMPLE.length; i++) {
    assert.deepEqual(run([SAMPLE.slice(0, i), SAMPLE.slice(i)]).events, expected, `split at ${i}`);
  }
  assert.deepEqual(run([...SAMPLE.split('')]).events, expected, 'one code unit per write');
  for (let i = 0; i < SAMPLE.length; i += 7) {
    assert.deepEqual(run([SAMPLE.slice(0, i), '', SAMPLE.slice(i, i + 3), SAMPLE.slice(i + 3)]).events, expected, `three-way split at ${i}`);
  }
});

test('splits a UTF-8 byte stream at every byte with a streaming decoder', () => {
  const bytes = Buffer.from(SAMPLE, 'utf8');
  const expected = run([SAMPLE]).events;
  for (let i = 0; i <= bytes.length; i++) {
    const dec = new TextDecoder('utf-8', { fatal: true });
    const chunks = [dec.decode(bytes.subarray(0, i), { stream: true }), dec.decode(bytes.subarray(i), { stream: true })];
    assert.deepEqual(run(chunks).events, expected, `byte ${i}`);
  }
});

test('keepalive whitespace between stanzas and after the header', () => {
  const { events } = run([HEADER, ' ', '\n', '<presence/>', ' \r\n\t ', ' ']);
  assert.deepEqual(events.slice(1), ['stanza <presence/>']);
});

test('xml declaration only at the very start', () => {
  assert.equal(errorOf(`<?xml version="1.0"?>${HEADER}<a/>`), undefined);
  assert.equal(errorOf(`\uFEFF<?xml version='1.0' encoding='utf-8' standalone='yes'?>${HEADER}`), undefined);
  assert.equal(errorOf(` <?xml version='1.0'?>${HEADER}`), 'restricted-xml');
  assert.equal(errorOf(`${HEADER}<?xml version='1.0'?>`), 'restricted-xml');
  assert.equal(errorOf(`<?xml version='1.0' encoding='ISO-8859-1'?>${HEADER}`), 'unsupported-encoding');
  assert.equal(errorOf(`<?xml verzion='1.0'?>${HEADER}`), 'not-well-formed');
  assert.equal(errorOf(`<?xml-stylesheet href='a'?>${HEADER}`), 'restricted-xml');
});

test('restricted XML: DOCTYPE, entity declarations, comments, PIs', () => {
  assert.equal(errorOf(`<!DOCTYPE stream [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>${HEADER}<m>&b;</m>`), 'restricted-xml');
  assert.equal(errorOf(`${HEADER}<!DOCTYPE x>`), 'restricted-xml');
  assert.equal(errorOf(`${HEADER}<message><!ENTITY x "y"></message>`), 'restricted-xml');
  assert.equal(errorOf(`${HEADER}<!-- hi -->`), 'restricted-xml');
  assert.equal(errorOf(`${HEADER}<message><body><!-- hi --></body></message>`), 'restricted-xml');
  assert.equal(errorOf(`${HEADER}<message><?pi x?></message>`), 'restricted-xml');
  assert.equal(errorOf([HEADER, '<message><', '!', '-', '-']), 'restricted-xml');
});

test('entities: predefined and character references only', () => {
  assert.equal(errorOf(`${HEADER}<m>&foo;</m>`), 'not-well-formed');
  assert.equal(errorOf(`${HEADER}<m a='&foo;'/>`), 'not-well-formed');
  assert.equal(errorOf(`${HEADER}<m>a & b</m>`), 'not-well-formed');
  assert.equal(errorOf(`${HEADER}<m>&amp</m>`), 'not-well-formed');
  assert.equal(errorOf(`${HEADER}<m>&#1;</m>`), 'not-well-formed');
  assert.equal(errorOf(`${HEADER}<m a='&#x1;'/>`), 'not-well-formed');
  assert.equal(errorOf(`${HEADER}<m>&#xD800;</m>`), 'not-well-formed');
  assert.equal(errorOf(`${HEADER}<m>&#xFFFE;</m>`), 'not-well-formed');
  assert.equal(errorOf(`${HEADER}<m>&#99999999999999999999;</m>`), 'not-well-formed');
  assert.deepEqual(run([`${HEADER}<m a='&quot;&apos;&#9;'>&#10;&#x10FFFF;</m>`]).events.slice(1), ['stanza <m a="&quot;&apos;\t">\n\u{10FFFF}</m>']);
});

test('invalid characters are not well-formed, also when split', () => {
  for (const bad of ['\u0000', '\u0001', '\u0008', '\u000B', '\u000C', '\u001F', '\uFFFE', '\uFFFF', '\uD800', '\uDC00', '\uD83Dx']) {
    assert.equal(errorOf(`${HEADER}<m>a${bad}b</m>`), 'not-well-formed', JSON.stringify(bad));
    assert.equal(errorOf(`${HEADER}<m a='${bad}'/>`), 'not-well-formed', JSON.stringify(bad));
    assert.equal(errorOf(`${HEADER}<m><![CDATA[${bad}]]></m>`), 'not-well-formed', JSON.stringify(bad));
    assert.equal(errorOf(`${HEADER}<m${bad}/>`), 'not-well-formed', JSON.stringify(bad));
    assert.equal(errorOf([`${HEADER}<m>`, bad, '</m>']), 'not-well-formed', JSON.stringify(bad));
  }
  assert.equal(errorOf([`${HEADER}<m>\uD83D`, '\uDE00</m>']), undefined);
});

test('malformed markup is not well-formed', () => {
  const cases = [
    '<a></b>',
    '<a x=1/>',
    '<a x/>',
    "<a x='1'y='2'/>",
    "<a x='1' x='2'/>",
    "<a x='<'/>",
    '< a/>',
    '<1a/>',
    '<a:b:c/>',
    '<:a/>',
    '<a/ >',
    '<a></a x>',
    '<a><![CDAT[x]]></a>',
    '<a>]]></a>',
    '</a>',
  ];
  for (const c of cases) assert.equal(errorOf(HEADER + c), 'not-well-formed', c);
  assert.equal(errorOf('<a><b></a>'), 'not-well-formed');
  assert.equal(errorOf('hello<stream:stream>'), 'not-well-formed');
});

test('text between stanzas is bad-format', () => {
  assert.equal(errorOf(`${HEADER}hello`), 'bad-format');
  assert.equal(errorOf(`${HEADER}<a/>&#32;`), 'bad-format');
  assert.equal(errorOf(`${HEADER}<![CDATA[ ]]>`), 'bad-format');
});

test('normalizes line ends and attribute whitespace', () => {
  const { events } = run([`${HEADER}<m a='x\r\ny\tz'>1\r\n2\r3</m>`]);
  assert.deepEqual(events.slice(1), ['stanza <m a="x y z">1\n2\n3</m>']);
});

test('reports only the first error and ignores later input', () => {
  const { events, parser } = run([`${HEADER}<a>&foo;</a>`, '<b/>', '&bar;']);
  parser.write('<c/>');
  assert.deepEqual(events.slice(1), ['error not-well-formed']);
});

test('ignores input after the end of the stream', () => {
  const { events } = run([`${HEADER}<a/></stream:stream><b/>junk&foo;`]);
  assert.deepEqual(events.slice(1), ['stanza <a/>', 'end']);
});

test('stop() drops the rest of the chunk (stream restart)', () => {
  const parser = new StreamParser(LIMITS);
  const seen: string[] = [];
  parser.on('stanza', (el) => {
    seen.push(el.name);
    if (el.name === 'starttls') parser.stop();
  });
  parser.write(`${HEADER}<starttls/><iq type='set'/>`);
  assert.deepEqual(seen, ['starttls']);
});

test('a throwing listener does not leave the parser half-way', () => {
  const parser = new StreamParser(LIMITS);
  parser.on('stanza', () => {
    throw new Error('boom');
  });
  assert.throws(() => parser.write(`${HEADER}<a/><b/>`), /boom/);
  parser.write('<c/>'); // ignored, no second throw
});

test('stanza size limit, counted from the stanza start', () => {
  const limits = { maxStanzaBytes: 150, maxDepth: 64 };
  const body = (n: number) => `<m>${'x'.repeat(n - 7)}</m>`;
  assert.equal(errorOf([HEADER, body(150), ' '.repeat(500), body(150), '</stream:stream>'], limits), undefined);
  assert.equal(errorOf([HEADER, body(151)], limits), 'policy-violation');
  assert.equal(errorOf([HEADER, ...body(151).split('')], limits), 'policy-violation');
  assert.equal(errorOf([HEADER, `<m a='${'x'.repeat(200)}`], limits), 'policy-violation');
  assert.equal(errorOf([HEADER, `<m><![CDATA[${'x'.repeat(200)}`], limits), 'policy-violation');
  assert.equal(errorOf([HEADER, `<${'m'.repeat(200)}`], limits), 'policy-violation');
  // The header is capped too (declaration included).
  assert.equal(errorOf([`<?xml version='1.0'?><stream:stream a='${'x'.repeat(150)}'>`], limits), 'policy-violation');
  assert.equal(errorOf([' '.repeat(151)], limits), 'policy-violation');
});

test('a 1 MiB unterminated attribute fails fast', () => {
  const attack = `<message to='${'a'.repeat(1024 * 1024)}`;
  for (const chunks of [[attack], attack.match(/[^]{1,4096}/g)!]) {
    const t0 = performance.now();
    assert.equal(errorOf([HEADER, ...chunks]), 'policy-violation');
    const ms = performance.now() - t0;
    assert.ok(ms < 100, `took ${ms} ms`);
  }
});

test('linear time with one code unit per write', () => {
  const limits = { maxStanzaBytes: 300 * 1024, maxDepth: 64 };
  const parser = new StreamParser(limits);
  let size = 0;
  parser.on('stanza', (el) => (size = el.getChildText('body')!.length + el.attrs.a.length));
  parser.on('error', (e) => assert.fail(e.message));
  parser.write(HEADER);
  const n = 5 * 25 * 1024;
  const t0 = performance.now();
  parser.write("<message a='");
  for (let i = 0; i < n; i++) parser.write('v');
  parser.write("'><body>");
  for (let i = 0; i < n; i++) parser.write('&amp;'[i % 5]!);
  parser.write('</body></message>');
  const ms = performance.now() - t0;
  assert.equal(size, n + n / 5);
  assert.ok(ms < 1000, `took ${ms} ms`);
});

test('deep nesting is rejected without stack overflow', () => {
  const deep = '<a>'.repeat(2000) + '</a>'.repeat(2000);
  assert.equal(errorOf([HEADER, deep]), 'policy-violation');
  const limits = { maxStanzaBytes: 1024 * 1024, maxDepth: 64 };
  assert.equal(errorOf([HEADER + '<a>'.repeat(64) + '</a>'.repeat(64)], limits), undefined);
  assert.equal(errorOf([HEADER + '<a>'.repeat(65)], limits), 'policy-violation');
});

test('chars helpers', () => {
  assert.ok(isXmlChars('héllo 😀\t\r\n'));
  assert.ok(!isXmlChars('a\u0000'));
  assert.ok(!isXmlChars('\uDC00a'));
  assert.ok(isXmlName('stream:stream') && isXmlName('é-1.x') && !isXmlName('1a') && !isXmlName(''));
});

// Issue 12 item 5: a prefix nobody binds is never handed on.
test('namespace prefixes: unbound ones are bad-namespace-prefix, header-bound ones are declared again where used', () => {
  const unbound = [
    `<message><evil:thing/></message>`,
    `<evil:message/>`,
    `<message><x xmlns:evil='urn:e'/><evil:thing/></message>`, // a sibling's binding is out of scope
    `<message evil:a='1'/>`,
    `<message><body evil:lang='x'>hi</body></message>`,
    `<message><x xmlns:p=''/></message>`,
    `<message xmlns:xml='urn:not-xml'/>`,
    `<message xmlns:xmlns='urn:x'/>`,
    `<message xmlns:p='http://www.w3.org/2000/xmlns/'/>`,
    `<xmlns:message/>`,
  ];
  for (const c of unbound) assert.equal(errorOf(HEADER + c), 'bad-namespace-prefix', c);
  assert.equal(errorOf(`<stream:stream xmlns='jabber:client' to='example.com' version='1.0'>`), 'bad-namespace-prefix');

  const ok = run([
    `${HEADER.slice(0, -1)} xmlns:h='urn:header'>`,
    `<message xml:lang='en'><p:x xmlns:p='urn:p' p:a='1'><p:y/></p:x><h:z><h:n/></h:z><q:w xmlns:q='urn:q'/></message>`,
    `<message><h:z xmlns:h='urn:own'/></message>`,
  ]).events;
  assert.deepEqual(ok.slice(1), [
    `stanza <message xml:lang="en"><p:x xmlns:p="urn:p" p:a="1"><p:y/></p:x><h:z xmlns:h="urn:header"><h:n/></h:z><q:w xmlns:q="urn:q"/></message>`,
    `stanza <message><h:z xmlns:h="urn:own"/></message>`,
  ]);
});
