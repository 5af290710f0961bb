import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFrame } from '../../src/xml/frame-parser.ts';
import { StreamError } from '../../src/xml/errors.ts';

const LIMITS = { maxStanzaBytes: 256 * 1024, maxDepth: 64 };

function conditionOf(text: string, limits = LIMITS): string | undefined {
  try {
    parseFrame(text, limits);
    return undefined;
  } catch (err) {
    assert.ok(err instanceof StreamError, String(err));
    return err.condition;
  }
}

test('parses one element with surrounding whitespace', () => {
  const el = parseFrame(`\n <open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="example.com" version="1.0"/> \r\n`, LIMITS);
  assert.equal(el.name, 'open');
  assert.equal(el.attrs.to, 'example.com');
  assert.equal(el.parent, null);
  const msg = parseFrame(`<message xmlns='jabber:client' to='a@b'><body>héllo 😀 &lt;&#233;<![CDATA[<x>]]></body></message>`, LIMITS);
  assert.equal(msg.getChildText('body'), 'héllo 😀 <é<x>');
  assert.equal(msg.toString(), '<message xmlns="jabber:client" to="a@b"><body>héllo 😀 &lt;é&lt;x&gt;</body></message>');
});

test('exactly one element per frame', () => {
  assert.equal(conditionOf(''), 'not-well-formed');
  assert.equal(conditionOf('   '), 'not-well-formed');
  assert.equal(conditionOf('<a/><b/>'), 'not-well-formed');
  assert.equal(conditionOf('<a/> <b>'), 'not-well-formed');
  assert.equal(conditionOf('<a/>x'), 'not-well-formed');
  assert.equal(conditionOf('x<a/>'), 'not-well-formed');
  assert.equal(conditionOf('<a/>&amp;'), 'not-well-formed');
  assert.equal(conditionOf('<a>'), 'not-well-formed');
  assert.equal(conditionOf('<a x="1"'), 'not-well-formed');
  assert.equal(conditionOf('<a/><![CD'), 'not-well-formed');
  assert.equal(conditionOf('</a>'), 'not-well-formed');
  assert.equal(conditionOf('<a></b>'), 'not-well-formed');
});

test('restricted XML', () => {
  assert.equal(conditionOf('<!DOCTYPE a [<!ENTITY x "xxxxxxxx">]><a>&x;</a>'), 'restricted-xml');
  assert.equal(conditionOf('<a><!-- c --></a>'), 'restricted-xml');
  assert.equal(conditionOf('<a/><!-- c -->'), 'restricted-xml');
  assert.equal(conditionOf('<?pi?><a/>'), 'restricted-xml');
  assert.equal(conditionOf("<?xml version='1.0'?><a/>"), 'restricted-xml');
});

test('entities and characters', () => {
  assert.equal(conditionOf('<a>&foo;</a>'), 'not-well-formed');
  assert.equal(conditionOf('<a>&#1;</a>'), 'not-well-formed');
  assert.equal(conditionOf('<a>\u0001</a>'), 'not-well-formed');
  assert.equal(conditionOf('<a b="\uFFFF"/>'), 'not-well-formed');
  assert.equal(conditionOf('<a>\uD800</a>'), 'not-well-formed');
  assert.equal(conditionOf('<a/>\uD800'), 'not-well-formed');
});

test('size and depth limits', () => {
  const limits = { maxStanzaBytes: 100, maxDepth: 64 };
  assert.equal(conditionOf(`<a>${'x'.repeat(93)}</a>`, limits), undefined);
  assert.equal(conditionOf(`<a>${'x'.repeat(94)}</a>`, limits), 'policy-violation');
  assert.equal(conditionOf(`${' '.repeat(98)}<a/>`, limits), 'policy-violation');
  assert.equal(conditionOf('<a>'.repeat(2000) + '</a>'.repeat(2000)), 'policy-violation');
  assert.equal(conditionOf('<a>'.repeat(64) + '</a>'.repeat(64), { maxStanzaBytes: 1e6, maxDepth: 64 }), undefined);
  assert.equal(conditionOf('<a>'.repeat(65) + '</a>'.repeat(65), { maxStanzaBytes: 1e6, maxDepth: 64 }), 'policy-violation');
  const t0 = performance.now();
  assert.equal(conditionOf(`<a b='${'x'.repeat(1024 * 1024)}`), 'policy-violation');
  assert.ok(performance.now() - t0 < 100);
});

// Issue 12 item 5: a frame has no stream header, so every prefix must be bound inside it.
test('namespace prefixes must be bound inside the frame', () => {
  assert.equal(conditionOf(`<message xmlns='jabber:client'><evil:thing/></message>`), 'bad-namespace-prefix');
  assert.equal(conditionOf(`<message xmlns='jabber:client' evil:a='1'/>`), 'bad-namespace-prefix');
  assert.equal(conditionOf(`<stream:features/>`), 'bad-namespace-prefix');
  const el = parseFrame(`<message xmlns='jabber:client' xml:lang='en'><e:x xmlns:e='urn:e' e:a='1'/></message>`, LIMITS);
  assert.equal(el.toString(), '<message xmlns="jabber:client" xml:lang="en"><e:x xmlns:e="urn:e" e:a="1"/></message>');
});
