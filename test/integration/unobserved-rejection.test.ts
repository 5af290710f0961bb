import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { sleep, startWithUsers, xml } from '../helpers/server.ts';
import { enableIq } from '../helpers/push.ts';
import { startChildServer } from '../helpers/child-server.ts';
import { NS, RawTcp } from '../helpers/raw.ts';

// Issue 12 item 6: no rejected promise goes unobserved, and a stray one does not end the process.

test('deleting an account drops its live push registrations without a second storage write', async () => {
  const t = await startWithUsers(['alice']);
  try {
    const alice = await t.login('alice');
    await alice.iq(enableIq(undefined, 'push.localhost', 'alice-phone'));
    assert.equal(t.server.push.registrations.of('alice@localhost').length, 1);
    // The storage goes away right after the account's deletion batch committed (as when another
    // write fails then): any push write after it is refused. An unobserved refusal would fail
    // this test (node:test reports unhandled rejections) and kill a Node 20 server.
    t.server.ctx.hooks.on('account:deleted', () => void t.server.ctx.store.close(), 100);
    const reply = await alice.iq(xml('iq', { type: 'set' }, xml('query', { xmlns: NS.REGISTER }, xml('remove'))));
    assert.equal(reply.attrs.type, 'result');
    await sleep(300);
    assert.deepEqual(t.server.push.registrations.of('alice@localhost'), []);
  } finally {
    await t.stop().catch(() => {});
  }
});

test('a stray unhandled rejection is logged at error level and the server process keeps serving', { timeout: 60_000 }, async () => {
  const script = fileURLToPath(new URL('../helpers/stray-rejection-server.ts', import.meta.url));
  const s = await startChildServer({}, script);
  try {
    s.child.kill('SIGUSR2');
    const logged = await s.waitLog((l) => l['level'] === 'error' && /unhandled/.test(String(l['msg'])));
    assert.match(JSON.stringify(logged['err']), /stray rejection for the test/);
    await sleep(200);
    assert.equal(s.exitCode(), null, 'the process is still running');
    // Still serving: a new client registers in-band and logs in.
    const c = await RawTcp.connect(s.ports.c2s);
    await c.openAndFeatures();
    const reg = await c.iq(`<iq type='set' id='r1'><query xmlns='${NS.REGISTER}'><username>late</username><password>pw</password></query></iq>`, 'r1');
    assert.equal(reg.attrs.type, 'result');
    c.destroy();
    const login = await RawTcp.login(s.ports.c2s, 'late', 'pw');
    assert.match(login.jid, /^late@localhost\//);
    login.destroy();
  } finally {
    await s.stop();
  }
});
