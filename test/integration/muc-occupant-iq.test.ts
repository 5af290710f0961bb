import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import { xml, type TestClient, type TestServer } from '../helpers/server.ts';
import { aliceAndBobIn, groupchat, MUC_DOMAIN } from '../helpers/muc.ts';
import { DISCO_INFO, errorOf, rawIq, STANZAS } from '../helpers/stanza.ts';

// Issue 10 item 14: IQs to an occupant JID are passed on to that occupant (XEP-0045 6.6, 7.x).

const ROOM = `iqs@${MUC_DOMAIN}`;
const CAPS_NODE = 'https://example.org/client#abc=';

let t: TestServer;
let alice: TestClient;
let bob: TestClient;
/** IQs bob's client received from the room, as it received them. */
const seenByBob: Element[] = [];

before(async () => {
  ({ t, alice, bob } = await aliceAndBobIn(ROOM));
  // Bob's client answers disco#info (with its caps node) itself, as real clients do.
  bob.xmpp.iqCallee.get(DISCO_INFO, 'query', (ctx) => {
    const { stanza, element } = ctx as { stanza: Element; element: Element };
    seenByBob.push(stanza);
    return xml('query', { xmlns: DISCO_INFO, node: element.attrs.node }, xml('identity', { category: 'client', type: 'pc', name: 'Bob client' }), xml('feature', { var: 'urn:example:bob' }));
  });
  bob.xmpp.iqCallee.set('urn:example:refuse', 'query', () => xml('error', { type: 'auth' }, xml('forbidden', { xmlns: STANZAS })));
});
after(() => t.stop());

test('a disco#info (caps) query to an occupant reaches its client from the asker’s occupant JID, and the answer comes back', async () => {
  const reply = await rawIq(alice, xml('iq', { type: 'get', to: `${ROOM}/Bob` }, xml('query', { xmlns: DISCO_INFO, node: CAPS_NODE })));
  assert.equal(reply.attrs.type, 'result');
  assert.equal(reply.attrs.from, `${ROOM}/Bob`, 'the answer comes from the JID asked');
  const query = reply.getChild('query', DISCO_INFO)!;
  assert.equal(query.attrs.node, CAPS_NODE);
  assert.deepEqual(query.getChildren('feature').map((f) => f.attrs.var), ['urn:example:bob']);

  const seen = seenByBob.at(-1)!;
  assert.equal(seen.attrs.from, `${ROOM}/Alice`, 'bob sees the occupant JID, not alice’s real JID');
  assert.notEqual(seen.attrs.id, reply.attrs.id, 'the id was rewritten on the way');
  assert.ok(!String(seen.attrs.id).includes('alice') && !Buffer.from(String(seen.attrs.id).split('.')[0]!, 'base64url').toString().includes('alice'), 'the rewritten id does not reveal alice');

  // Responses that no relayed request of alice's asked for (a guessed id, a foreign one) reach nobody.
  const isStray = (el: Element) => el.is('iq') && el.attrs.type === 'result' && el.attrs.from === `${ROOM}/Bob`;
  const strays = alice.received.filter(isStray).length;
  const guessed = `${Buffer.from(JSON.stringify(['x', bob.jid, 'Bob'])).toString('base64url')}.AAAAAAAAAAAAAAAA`;
  await bob.send(xml('iq', { type: 'result', to: `${ROOM}/Alice`, id: guessed }));
  await bob.send(xml('iq', { type: 'result', to: `${ROOM}/Alice`, id: 'forged' }));
  // Bob's next stanza is handled after those; once alice has it, a relayed result would have arrived too.
  const marker = alice.next((el) => el.is('message') && el.getChildText('body') === 'after the forgeries');
  await bob.send(groupchat(ROOM, 'after the forgeries'));
  await marker;
  assert.equal(alice.received.filter(isStray).length, strays);
});

test('a vCard request to an occupant is answered by the occupant’s server from its bare JID', async () => {
  await bob.iq(xml('iq', { type: 'set' }, xml('vCard', { xmlns: 'vcard-temp' }, xml('FN', {}, 'Bob Builder'))));
  const reply = await rawIq(alice, xml('iq', { type: 'get', to: `${ROOM}/Bob` }, xml('vCard', { xmlns: 'vcard-temp' })));
  assert.equal(reply.attrs.type, 'result');
  assert.equal(reply.attrs.from, `${ROOM}/Bob`);
  assert.equal(reply.getChild('vCard', 'vcard-temp')?.getChildText('FN'), 'Bob Builder');
});

test('an error from the occupant goes back to the asker', async () => {
  const reply = await rawIq(alice, xml('iq', { type: 'set', to: `${ROOM}/Bob` }, xml('query', { xmlns: 'urn:example:refuse' })));
  assert.equal(reply.attrs.type, 'error');
  assert.equal(reply.attrs.from, `${ROOM}/Bob`);
  assert.equal(errorOf(reply).condition, 'forbidden', 'the condition bob’s client chose');
});

test('an IQ to a nick nobody has gets item-not-found by the room; a non-occupant’s disco gets bad-request', async () => {
  const missing = await rawIq(alice, xml('iq', { type: 'get', to: `${ROOM}/Nobody` }, xml('query', { xmlns: DISCO_INFO })));
  assert.equal(errorOf(missing).condition, 'item-not-found');
  assert.equal(missing.getChild('error')!.attrs.by, ROOM);
  const carol = await t.login('carol');
  const before = seenByBob.length;
  const outsider = await rawIq(carol, xml('iq', { type: 'get', to: `${ROOM}/Bob` }, xml('query', { xmlns: DISCO_INFO })));
  assert.equal(errorOf(outsider).condition, 'bad-request', 'XEP-0045 6.6');
  assert.equal(seenByBob.length, before, 'nothing reached bob');
  await carol.stop();
});

