import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startWithUsers, type TestServer } from '../helpers/server.ts';
import { DEFAULT_TIMEOUT, errorConditionOf, is, NS, RawTcp } from '../helpers/raw.ts';

// Issue 12 item 12: the per-address limit holds against parallel attempts, and one stream gets a
// few retries only.
describe('login throttling', () => {
  let t: TestServer;
  before(async () => {
    t = await startWithUsers(['dave'], { limits: { authFailuresPerMinute: 10 } });
  });
  after(() => t.stop());

  test('100 parallel wrong PLAIN attempts from one address: 10 are checked, the rest are throttled', async () => {
    const clients = await Promise.all(Array.from({ length: 100 }, () => RawTcp.connect(t.server.ports.c2s)));
    try {
      await Promise.all(clients.map((c) => c.openAndFeatures()));
      // Every <auth/> is written before any answer is read: all of them are in flight at once.
      const outcomes = await Promise.all(clients.map((c, i) => c.plain('dave', `wrong-${i}`)));
      const conditions = outcomes.map((o) => errorConditionOf(o));
      const count = (c: string) => conditions.filter((x) => x === c).length;
      assert.equal(count('not-authorized'), 10, conditions.join(' '));
      assert.equal(count('temporary-auth-failure'), 90, conditions.join(' '));
      // The right password is throttled as well until the window ends.
      const late = await RawTcp.connect(t.server.ports.c2s);
      await late.openAndFeatures();
      assert.equal(errorConditionOf(await late.plain('dave', 'secret')), 'temporary-auth-failure');
      late.destroy();
    } finally {
      for (const c of clients) c.destroy();
    }
  });
});

describe('failed logins on one stream', () => {
  let t: TestServer;
  before(async () => {
    t = await startWithUsers(['erin'], { limits: { authFailuresPerMinute: 100 } });
  });
  after(() => t.stop());

  test('two mistyped passwords may be retried on the same stream', async () => {
    const c = await RawTcp.connect(t.server.ports.c2s);
    await c.openAndFeatures();
    for (let i = 0; i < 2; i++) assert.equal(errorConditionOf(await c.plain('erin', `typo-${i}`)), 'not-authorized');
    assert.equal((await c.plain('erin', 'secret')).name, 'success');
    c.destroy();
  });

  test('the third failure is answered with not-authorized, then the stream is closed', async () => {
    const c = await RawTcp.connect(t.server.ports.c2s);
    await c.openAndFeatures();
    for (let i = 0; i < 3; i++) assert.equal(errorConditionOf(await c.plain('erin', `wrong-${i}`)), 'not-authorized', `attempt ${i + 1}`);
    await c.waitClosed(DEFAULT_TIMEOUT);
    assert.ok(c.ended, 'the server closed the stream with </stream:stream>');
    assert.equal(c.all.filter(is('stream:error')).length, 0, 'a SASL failure, not a stream error');
    assert.equal(c.all.filter((el) => el.name === 'failure' && el.attrs.xmlns === NS.SASL).length, 3);
  });
});
