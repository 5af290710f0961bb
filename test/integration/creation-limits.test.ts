import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, startWithUsers, type TestServer } from '../helpers/server.ts';
import { errorConditionOf, NS, RawTcp } from '../helpers/raw.ts';
import { MUC, MUC_DOMAIN } from '../helpers/muc.ts';

const registerIq = (id: string, username: string) =>
  `<iq type='set' id='${id}'><query xmlns='${NS.REGISTER}'><username>${username}</username><password>pw</password></query></iq>`;

/** One in-band registration on a fresh connection; resolves with the answer. */
async function register(t: TestServer, username: string) {
  const c = await RawTcp.connect(t.server.ports.c2s);
  try {
    await c.openAndFeatures();
    return await c.iq(registerIq(`r-${username}`, username), `r-${username}`);
  } finally {
    c.destroy();
  }
}

// Issue 12 item 13: in-band registration and room creation are limited per address.
describe('registration.perAddressPerMinute', () => {
  let t: TestServer;
  before(async () => {
    // Loopback is exempt by default; the suite only has loopback, so the exemption is lifted here.
    t = await startWithUsers(['taken'], { registration: { enabled: true, perAddressPerMinute: 3 }, limits: { exemptAddresses: [] } });
  });
  after(() => t.stop());

  test('10 parallel registrations from one address: 3 accounts, 7 not-acceptable (wait); a refused name costs no slot', async () => {
    const conflict = await register(t, 'taken');
    assert.equal(errorConditionOf(conflict), 'conflict');
    const names = Array.from({ length: 10 }, (_, i) => `user${i}`);
    const answers = await Promise.all(names.map((n) => register(t, n)));
    const created = names.filter((_, i) => answers[i]!.attrs.type === 'result');
    assert.equal(created.length, 3, answers.map((a) => a.toString()).join('\n'));
    for (const a of answers.filter((x) => x.attrs.type === 'error')) {
      assert.equal(errorConditionOf(a), 'not-acceptable');
      assert.equal(a.getChild('error')!.attrs.type, 'wait');
    }
    for (const n of names) assert.equal(await t.server.ctx.accounts.exists(n), created.includes(n), n);
  });
});

describe('registration from an exempt address (loopback by default)', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ registration: { enabled: true, perAddressPerMinute: 1 } });
  });
  after(() => t.stop());

  test('is not limited', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await register(t, `local${i}`)).attrs.type, 'result', `registration ${i + 1}`);
  });
});

describe('muc.roomCreationPerAddressPerMinute', () => {
  let t: TestServer;
  let alice: RawTcp;
  before(async () => {
    t = await startWithUsers(['alice', 'bob'], { muc: { unlockedByDefault: true, roomCreationPerAddressPerMinute: 3 }, limits: { exemptAddresses: [] } });
    alice = await RawTcp.login(t.server.ports.c2s, 'alice');
  });
  after(async () => {
    alice.destroy();
    await t.stop();
  });

  const joinAs = async (c: RawTcp, room: string, nick: string) => {
    c.send(`<presence to='${room}@${MUC_DOMAIN}/${nick}'><x xmlns='${MUC}'/></presence>`);
    return c.next((el) => el.name === 'presence' && el.attrs.from === `${room}@${MUC_DOMAIN}/${nick}`);
  };

  test('the 4th new room within a minute is refused with policy-violation (wait); existing rooms can still be joined', async () => {
    for (let i = 0; i < 3; i++) assert.notEqual((await joinAs(alice, `room${i}`, 'alice')).attrs.type, 'error', `room ${i + 1}`);
    for (const i of [3, 4]) {
      const refused = await joinAs(alice, `room${i}`, 'alice');
      assert.equal(refused.attrs.type, 'error');
      assert.equal(errorConditionOf(refused), 'policy-violation');
      assert.equal(refused.getChild('error')!.attrs.type, 'wait');
      assert.equal(t.server.muc!.rooms.has(`room${i}@${MUC_DOMAIN}`), false, 'no room is left behind');
    }
    // Same address, another account: the limit is per address, and joining is not creating.
    const bob = await RawTcp.login(t.server.ports.c2s, 'bob');
    assert.equal(errorConditionOf(await joinAs(bob, 'room5', 'bob')), 'policy-violation');
    assert.notEqual((await joinAs(bob, 'room0', 'bob')).attrs.type, 'error');
    bob.destroy();
  });
});
