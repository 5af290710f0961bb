import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Element } from '@xmpp/xml';
import { startWithUsers, xml, type TestClient, type TestServer } from '../helpers/server.ts';
import { join, joinInstant, MUC_DOMAIN } from '../helpers/muc.ts';

// Issue 10 item 11: XEP-0153 avatar hashes in presence, added by the server (as Prosody's mod_vcard_legacy).

const UPDATE = 'vcard-temp:x:update';
const ROOM = `avatars@${MUC_DOMAIN}`;
const IMAGE = Buffer.from('not really a PNG, but bytes all the same');
const HASH = createHash('sha1').update(IMAGE).digest('hex');

let t: TestServer;
before(async () => {
  t = await startWithUsers(['alice', 'bob', 'carol']);
});
after(() => t.stop());

/** The photo hashes of the vcard-temp:x:update elements of a presence ('' for an empty photo). */
const photos = (el: Element) => el.getChildren('x', UPDATE).map((x) => x.getChildText('photo'));
const presenceFrom = (from: string) => (el: Element) => el.is('presence') && el.attrs.from === from && el.attrs.type === undefined;

function setVcard(c: TestClient, photo?: Buffer): Promise<Element> {
  const card = xml('vCard', { xmlns: 'vcard-temp' }, xml('FN', {}, 'Someone'));
  // Base64 wrapped over lines, as clients send it.
  if (photo) card.append(xml('PHOTO', {}, xml('TYPE', {}, 'image/png'), xml('BINVAL', {}, photo.toString('base64').replace(/(.{8})/g, '$1\n'))));
  return c.iq(xml('iq', { type: 'set' }, card));
}

test('presence carries the server’s avatar hash: empty without a photo, the SHA-1 of the image after a vCard with one', async () => {
  const one = await t.login('alice', { resource: 'one' });
  const two = await t.login('alice', { resource: 'two' });
  const bob = await t.login('bob');
  await two.send(xml('presence'));
  await joinInstant(bob, `${ROOM}/Bob`);

  // The client's own (wrong) update element is replaced; a room gets the hash with the directed presence.
  const atTwo = two.next(presenceFrom(one.jid));
  await one.send(xml('presence', {}, xml('x', { xmlns: UPDATE }, xml('photo', {}, 'f'.repeat(40)))));
  assert.deepEqual(photos(await atTwo), ['']);
  const inRoom = bob.next(presenceFrom(`${ROOM}/Alice`));
  await join(one, `${ROOM}/Alice`);
  assert.deepEqual(photos(await inRoom), ['']);

  // Alice changes nick: the room must get the new hash under the new nick only (a presence to
  // the old one would rename her back).
  const renamed = bob.next(presenceFrom(`${ROOM}/Alicia`));
  await one.send(xml('presence', { to: `${ROOM}/Alicia` }));
  await renamed;

  // A new vCard with a photo: a fresh presence with its hash, to the other resources and to the room.
  const fresh = two.next((el) => presenceFrom(one.jid)(el) && photos(el)[0] === HASH);
  const freshInRoom = bob.next((el) => presenceFrom(`${ROOM}/Alicia`)(el) && photos(el)[0] === HASH);
  const sinceUpdate = bob.received.length;
  await setVcard(one, IMAGE);
  assert.deepEqual(photos(await fresh), [HASH]);
  assert.deepEqual(photos(await freshInRoom), [HASH]);
  // Bob's own next stanza from the room comes after anything the update made the room send.
  await bob.iq(xml('iq', { type: 'get', to: ROOM }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.ok(!bob.received.slice(sinceUpdate).some((el) => el.is('presence') && el.attrs.from === `${ROOM}/Alice`), 'no presence under the old nick');

  // Later presence carries it too, whatever the client puts in.
  const later = two.next(presenceFrom(one.jid));
  await one.send(xml('presence', {}, xml('show', {}, 'away'), xml('x', { xmlns: UPDATE })));
  assert.deepEqual(photos(await later), [HASH]);

  // Removing the photo sends the empty hash.
  const removed = two.next((el) => presenceFrom(one.jid)(el) && photos(el)[0] === '');
  await setVcard(one, undefined);
  await removed;
  await Promise.all([one.stop(), two.stop(), bob.stop()]);
});

test('hashes survive a restart, and vCards stored before the hashes were kept are hashed at start', async () => {
  const carol = await t.login('carol');
  await setVcard(carol, IMAGE);
  await carol.stop();
  // A vCard from before the feature: stored without a hash, and the start-up pass not yet run.
  const store = t.server.ctx.store;
  await store.sub<string>('vcards').put(`bob@${t.domain}`, `<vCard xmlns="vcard-temp"><PHOTO><BINVAL>${IMAGE.toString('base64')}</BINVAL></PHOTO></vCard>`);
  await store.sub<string>('avatar-hashes').del('!computed');
  await t.restart();

  for (const user of ['carol', 'bob']) {
    const one = await t.login(user, { resource: 'one' });
    const two = await t.login(user, { resource: 'two' });
    await two.send(xml('presence'));
    const seen = two.next(presenceFrom(one.jid));
    await one.send(xml('presence'));
    assert.deepEqual(photos(await seen), [HASH], user);
    await Promise.all([one.stop(), two.stop()]);
  }
});
