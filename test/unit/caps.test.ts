/** XEP-0115's verification string, against the XEP's own worked examples (sections 5.2 and 5.3). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Parser } from '@xmpp/xml';
import type { Element } from '../../src/xml/element.ts';
import { capsVer } from '../../src/host/caps.ts';

function parse(text: string): Element {
  const p = new Parser();
  let out: Element | undefined;
  p.on('element', (el: Element) => (out = el));
  // The parser reports each child of the root element: here, the query.
  p.write(`<root>${text}</root>`);
  assert.ok(out, 'parsed');
  return out;
}

test('simple example (5.2): identity and four features', () => {
  const info = parse(`<query xmlns='http://jabber.org/protocol/disco#info'>
    <identity category='client' name='Exodus 0.9.1' type='pc'/>
    <feature var='http://jabber.org/protocol/caps'/>
    <feature var='http://jabber.org/protocol/disco#info'/>
    <feature var='http://jabber.org/protocol/disco#items'/>
    <feature var='http://jabber.org/protocol/muc'/></query>`);
  assert.equal(capsVer(info), 'QgayPKawpkPSDYmwT/WM94uAlu0=');
});

test('complex example (5.3): languages and an extended form', () => {
  const info = parse(`<query xmlns='http://jabber.org/protocol/disco#info'>
    <identity xml:lang='en' category='client' name='Psi 0.11' type='pc'/>
    <identity xml:lang='el' category='client' name='Ψ 0.11' type='pc'/>
    <feature var='http://jabber.org/protocol/caps'/>
    <feature var='http://jabber.org/protocol/disco#info'/>
    <feature var='http://jabber.org/protocol/disco#items'/>
    <feature var='http://jabber.org/protocol/muc'/>
    <x xmlns='jabber:x:data' type='result'>
      <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:dataforms:softwareinfo</value></field>
      <field var='ip_version'><value>ipv4</value><value>ipv6</value></field>
      <field var='os'><value>Mac</value></field>
      <field var='os_version'><value>10.5.1</value></field>
      <field var='software'><value>Psi</value></field>
      <field var='software_version'><value>0.11</value></field>
    </x></query>`);
  assert.equal(capsVer(info), 'q07IKJEyjvHSyhy//CH0CxmKi8w=');
});
