import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { errorConditionOf, isIq } from '../helpers/raw.ts';
import { logins, preAuth, registerIq } from '../helpers/register.ts';

async function canLogin(t: TestServer, username: string, password: string): Promise<boolean> {
  return (await logins(t, username, password)).plain;
}

// Issue 12 item 2: the name check and the write were separated by the password hashing, so two
// registrations of one name in the same instant both succeeded and the second won.
describe('concurrent in-band registrations of one name', () => {
  let t: TestServer;
  before(async () => {
    // Each round checks that the loser's password fails: the per-address failed-login limit
    // (which loopback is not exempt from) is off so those checks do not lock the later ones out.
    t = await startTestServer({ registration: { enabled: true }, limits: { authFailuresPerMinute: 0 } });
  });
  after(() => t.stop());

  test('two streams register the same name at once: one result, one conflict, the winner logs in', async () => {
    for (let round = 0; round < 5; round++) {
      const name = `racer${round}`;
      const a = await preAuth(t);
      const b = await preAuth(t);
      // Both IQs leave before either answer can arrive.
      a.send(registerIq('ra', name, 'first-pw'));
      b.send(registerIq('rb', name, 'second-pw'));
      const [ra, rb] = await Promise.all([a.next(isIq('ra')), b.next(isIq('rb'))]);
      a.destroy();
      b.destroy();
      const types = [ra.attrs.type, rb.attrs.type].sort();
      assert.deepEqual(types, ['error', 'result'], `round ${round}: ${ra} ${rb}`);
      const [winner, winnerPw, loser, loserPw] = ra.attrs.type === 'result' ? [ra, 'first-pw', rb, 'second-pw'] : [rb, 'second-pw', ra, 'first-pw'];
      assert.equal(winner.attrs.type, 'result');
      assert.equal(errorConditionOf(loser), 'conflict', loser.toString());
      assert.ok(await canLogin(t, name, winnerPw), `round ${round}: the winner's password logs in`);
      assert.equal(await canLogin(t, name, loserPw), false, `round ${round}: the loser's password does not`);
    }
  });

  test('one stream pipelines two registrations of one name in one write', async () => {
    const c = await preAuth(t);
    c.send(registerIq('p1', 'piped', 'one-pw') + registerIq('p2', 'piped', 'two-pw'));
    const [r1, r2] = await Promise.all([c.next(isIq('p1')), c.next(isIq('p2'))]);
    c.destroy();
    assert.equal(r1.attrs.type, 'result', r1.toString());
    assert.equal(errorConditionOf(r2), 'conflict', r2.toString());
    assert.ok(await canLogin(t, 'piped', 'one-pw'));
  });
});
