import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Element } from '../../src/xml/element.ts';
import { startWithUsers, type TestServer } from '../helpers/server.ts';
import { RawTcp } from '../helpers/raw.ts';
import { MUC, MUC_DOMAIN, MUC_USER } from '../helpers/muc.ts';

// Issue 10, "one stanza at a time per room": conflicting stanzas written in one TCP write are
// applied one after the other, and the room ends in the state their order gives.

let t: TestServer;
before(async () => {
  t = await startWithUsers(['alice', 'bob'], { muc: { unlockedByDefault: true } });
});
after(() => t.stop());

let n = 0;
const freshRoom = () => `serial${++n}@${MUC_DOMAIN}`;
const join = (room: string, nick: string) => `<presence to='${room}/${nick}'><x xmlns='${MUC}'/></presence>`;
const leave = (room: string, nick: string) => `<presence to='${room}/${nick}' type='unavailable'/>`;
const codes = (el: Element) => (el.getChild('x', MUC_USER)?.getChildren('status') ?? []).map((s) => Number(s.attrs.code));

/** The nicks present in `room`, as a newcomer's join shows them. */
async function occupantsSeenBy(room: string, user: string): Promise<string[]> {
  const c = await RawTcp.login(t.server.ports.c2s, user);
  c.send(join(room, `${user}-probe`));
  await c.next((el) => el.name === 'presence' && el.attrs.from === `${room}/${user}-probe` && codes(el).includes(110), 5000, 'the self-presence');
  const nicks = c.all
    .filter((el) => el.name === 'presence' && String(el.attrs.from).startsWith(`${room}/`) && el.attrs.type !== 'unavailable')
    .map((el) => String(el.attrs.from).slice(room.length + 1))
    .filter((nick) => nick !== `${user}-probe`);
  c.send(leave(room, `${user}-probe`));
  c.destroy();
  return nicks;
}

test('two joins with different nicks in one write: the second is a nick change, one occupant remains', async () => {
  const room = freshRoom();
  const alice = await RawTcp.login(t.server.ports.c2s, 'alice');
  alice.send(join(room, 'A') + join(room, 'B'));
  const changed = await alice.next((el) => el.name === 'presence' && el.attrs.from === `${room}/A` && codes(el).includes(303));
  assert.equal(changed.getChild('x', MUC_USER)!.getChild('item')!.attrs.nick, 'B');
  await alice.next((el) => el.name === 'presence' && el.attrs.from === `${room}/B` && codes(el).includes(110));
  assert.deepEqual(await occupantsSeenBy(room, 'bob'), ['B']);
  alice.destroy();
});

test('join and leave in one write: the occupant is gone afterwards', async () => {
  const room = freshRoom();
  const bob = await RawTcp.login(t.server.ports.c2s, 'bob', 'secret', 'watch');
  bob.send(join(room, 'Bob'));
  await bob.next((el) => el.name === 'presence' && el.attrs.from === `${room}/Bob` && codes(el).includes(110));
  const alice = await RawTcp.login(t.server.ports.c2s, 'alice');
  alice.send(join(room, 'A') + leave(room, 'A'));
  await alice.next((el) => el.name === 'presence' && el.attrs.from === `${room}/A` && el.attrs.type === 'unavailable' && codes(el).includes(110));
  assert.deepEqual(await occupantsSeenBy(room, 'bob'), ['Bob']);
  // Bob saw A come, then go: in that order.
  const seen = bob.all.filter((el) => el.name === 'presence' && el.attrs.from === `${room}/A`).map((el) => el.attrs.type ?? 'available');
  assert.deepEqual(seen, ['available', 'unavailable']);
  alice.destroy();
  bob.destroy();
});

test('a nick change and a leave in one write: the occupant is gone, under no nick', async () => {
  const room = freshRoom();
  const alice = await RawTcp.login(t.server.ports.c2s, 'alice');
  alice.send(join(room, 'A'));
  await alice.next((el) => el.name === 'presence' && el.attrs.from === `${room}/A` && codes(el).includes(110));
  alice.send(join(room, 'B') + leave(room, 'B'));
  await alice.next((el) => el.name === 'presence' && el.attrs.from === `${room}/B` && el.attrs.type === 'unavailable' && codes(el).includes(110));
  assert.deepEqual(await occupantsSeenBy(room, 'bob'), []);
  alice.destroy();
});

test('a join and a message in one write: the message is accepted and echoed after the join', async () => {
  const room = freshRoom();
  const alice = await RawTcp.login(t.server.ports.c2s, 'alice');
  alice.send(join(room, 'A') + `<message to='${room}' type='groupchat' id='m1'><body>right away</body></message>`);
  const echo = await alice.next((el) => el.name === 'message' && el.attrs.id === 'm1');
  assert.equal(echo.attrs.type, 'groupchat', echo.toString());
  const self = alice.all.findIndex((el) => el.name === 'presence' && el.attrs.from === `${room}/A` && codes(el).includes(110));
  assert.ok(self >= 0 && self < alice.all.indexOf(echo), 'the self-presence comes before the echo');
  alice.destroy();
});

test('a message and a leave in one write: occupants get the message before the leave', async () => {
  const room = freshRoom();
  const bob = await RawTcp.login(t.server.ports.c2s, 'bob', 'secret', 'watch2');
  bob.send(join(room, 'Bob'));
  await bob.next((el) => el.name === 'presence' && el.attrs.from === `${room}/Bob` && codes(el).includes(110));
  const alice = await RawTcp.login(t.server.ports.c2s, 'alice');
  alice.send(join(room, 'A'));
  await alice.next((el) => el.name === 'presence' && el.attrs.from === `${room}/A` && codes(el).includes(110));
  alice.send(`<message to='${room}' type='groupchat' id='bye'><body>bye</body></message>` + leave(room, 'A'));
  await bob.next((el) => el.name === 'presence' && el.attrs.from === `${room}/A` && el.attrs.type === 'unavailable');
  const order = bob.all.filter((el) => el.attrs.from === `${room}/A`).map((el) => `${el.name}:${el.attrs.type ?? ''}`);
  assert.deepEqual(order.slice(-2), ['message:groupchat', 'presence:unavailable']);
  alice.destroy();
  bob.destroy();
});

test('two owners editing affiliations at once: the room ends as one order of the two edits says', async () => {
  const room = freshRoom();
  const ADMIN = 'http://jabber.org/protocol/muc#admin';
  const alice = await RawTcp.login(t.server.ports.c2s, 'alice', 'secret', 'owner1');
  const bob = await RawTcp.login(t.server.ports.c2s, 'bob', 'secret', 'owner2');
  alice.send(join(room, 'A'));
  await alice.next((el) => el.name === 'presence' && el.attrs.from === `${room}/A` && codes(el).includes(110));
  const grant = await alice.iq(`<iq type='set' to='${room}' id='g0'><query xmlns='${ADMIN}'><item jid='bob@localhost' affiliation='owner'/></query></iq>`, 'g0');
  assert.equal(grant.attrs.type, 'result');
  // In the same instant: Alice demotes Bob to admin, and Bob makes carol an owner (only owners may).
  alice.send(`<iq type='set' to='${room}' id='demote'><query xmlns='${ADMIN}'><item jid='bob@localhost' affiliation='admin'/></query></iq>`);
  bob.send(`<iq type='set' to='${room}' id='promote'><query xmlns='${ADMIN}'><item jid='carol@localhost' affiliation='owner'/></query></iq>`);
  const [demoted, promoted] = await Promise.all([alice.next((el) => el.attrs.id === 'demote'), bob.next((el) => el.attrs.id === 'promote')]);
  assert.equal(demoted.attrs.type, 'result');
  const owners = await alice.iq(`<iq type='get' to='${room}' id='owners'><query xmlns='${ADMIN}'><item affiliation='owner'/></query></iq>`, 'owners');
  const ownerJids = owners.getChild('query')!.getChildren('item').map((i) => i.attrs.jid as string).sort();
  // Either Bob's edit came first (it stands) or after his demotion (refused): never half of each.
  if (promoted.attrs.type === 'result') assert.deepEqual(ownerJids, ['alice@localhost', 'carol@localhost']);
  else {
    assert.ok(promoted.getChild('error')?.getChild('forbidden'), promoted.toString());
    assert.deepEqual(ownerJids, ['alice@localhost']);
  }
  const admins = await alice.iq(`<iq type='get' to='${room}' id='admins'><query xmlns='${ADMIN}'><item affiliation='admin'/></query></iq>`, 'admins');
  assert.deepEqual(admins.getChild('query')!.getChildren('item').map((i) => i.attrs.jid), ['bob@localhost']);
  alice.destroy();
  bob.destroy();
});
