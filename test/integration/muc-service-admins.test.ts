import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWithUsers, xml, type TestServer } from '../helpers/server.ts';
import { join, joinInstant, MUC, MUC_ADMIN, MUC_DOMAIN, MUC_USER, statusCodes } from '../helpers/muc.ts';
import { errorOf } from '../helpers/stanza.ts';

let t: TestServer;
before(async () => {
  t = await startWithUsers(['boss', 'alice', 'bob'], { admins: ['boss@localhost'], muc: { createRooms: 'admins' } });
});
after(() => t.stop());

test('with createRooms=admins only a service admin may create rooms', async () => {
  const a = await t.login('alice');
  const refused = a.next((el) => el.is('presence') && el.attrs.type === 'error');
  await a.send(xml('presence', { to: `new1@${MUC_DOMAIN}/alice` }, xml('x', { xmlns: MUC })));
  assert.deepEqual(errorOf(await refused), { type: 'cancel', condition: 'not-allowed' });
  assert.equal(t.server.muc!.rooms.has(`new1@${MUC_DOMAIN}`), false, 'no room is left behind');

  const boss = await t.login('boss');
  const self = await joinInstant(boss, `new1@${MUC_DOMAIN}/boss`);
  assert.ok(statusCodes(self).includes(201));
});

test('a service admin is an owner in rooms it did not create', async () => {
  const boss = await t.login('boss');
  await joinInstant(boss, `owned@${MUC_DOMAIN}/boss`);
  // The room now belongs to boss; alice joins, then boss's status shows in a room it owns.
  const a = await t.login('alice');
  const seen = a.next((el) => el.is('presence') && el.attrs.from === `owned@${MUC_DOMAIN}/boss`);
  await a.send(xml('presence', { to: `owned@${MUC_DOMAIN}/alice` }, xml('x', { xmlns: MUC })));
  const item = (await seen).getChild('x', 'http://jabber.org/protocol/muc#user')!.getChild('item')!;
  assert.equal(item.attrs.affiliation, 'owner');
  // Take the record's ownership away from boss: the service-admin rule still makes it owner.
  t.server.muc!.rooms.get(`owned@${MUC_DOMAIN}`)!.record.affiliations = { 'alice@localhost': 'owner' };
  const form = await boss.iq(xml('iq', { type: 'get', to: `owned@${MUC_DOMAIN}` }, xml('query', { xmlns: 'http://jabber.org/protocol/muc#owner' })));
  assert.ok(form.getChild('query')?.getChild('x', 'jabber:x:data'), 'the configuration form is served to the admin');
});

test('a ban of its whole domain does not keep a service admin out', async () => {
  const boss = await t.login('boss');
  const room = `domainban@${MUC_DOMAIN}`;
  await joinInstant(boss, `${room}/boss`);
  const a = await t.login('alice');
  await join(a, `${room}/alice`);
  const gone = a.next((el) => el.is('presence') && el.attrs.from === `${room}/alice` && el.attrs.type === 'unavailable');
  const res = await boss.iq(xml('iq', { type: 'set', to: room }, xml('query', { xmlns: MUC_ADMIN }, xml('item', { affiliation: 'outcast', jid: 'localhost' }))));
  assert.equal(res.attrs.type, 'result');
  assert.ok(statusCodes(await gone).includes(301), 'the unaffiliated user of the domain is removed');
  const refused = a.next((el) => el.is('presence') && el.attrs.type === 'error');
  await a.send(xml('presence', { to: `${room}/alice` }, xml('x', { xmlns: MUC })));
  assert.equal(errorOf(await refused).condition, 'forbidden');

  // Take the record's ownership away from boss: another session of boss still enters as owner.
  t.server.muc!.rooms.get(room)!.record.affiliations = { 'alice@localhost': 'owner', localhost: 'outcast' };
  const boss2 = await t.login('boss');
  const item = (await join(boss2, `${room}/boss2`)).getChild('x', MUC_USER)!.getChild('item')!;
  assert.equal(item.attrs.affiliation, 'owner');
  assert.equal(item.attrs.role, 'moderator');
  // Alice's own owner entry comes before the domain's ban too.
  const aliceItem = (await join(a, `${room}/alice`)).getChild('x', MUC_USER)!.getChild('item')!;
  assert.equal(aliceItem.attrs.affiliation, 'owner');
});
