import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addUser } from '../../src/cli/adduser.ts';
import { parseJid } from '../../src/core/jid.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { randomNames } from '../helpers/names.ts';
import { logins, register } from '../helpers/register.ts';

// Issue 12 item 4: in-band registration, SASL, the CLI and routing prepared user names four
// different ways, so a\u00ADb registered in-band and could never log in.

describe('user names are prepared once (PRECIS UsernameCaseMapped)', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ registration: { enabled: true } });
  });
  after(() => t.stop());

  test('a\\u00ADb is refused in-band, and cannot log in as ab either', async () => {
    assert.equal(await register(t, 'a\u00adb', 'pw'), 'not-acceptable');
    assert.equal(await t.server.ctx.accounts.exists('ab'), false);
    assert.equal(await t.server.ctx.accounts.exists('a\u00adb'), false);
    assert.deepEqual(await logins(t, 'a\u00adb', 'pw'), { plain: false, scram: false });
  });

  test('ÄLICE registers once; älice, decomposed and fullwidth forms are the same account', async () => {
    assert.equal(await register(t, 'ÄLICE', 'alice-pw'), 'result');
    assert.ok(await t.server.ctx.accounts.exists('älice'));
    for (const name of ['älice', 'A\u0308LICE', 'ÄＬＩＣＥ']) assert.equal(await register(t, name, 'other'), 'conflict', name);
    for (const name of ['ÄLICE', 'älice', 'a\u0308lice', 'ÄＬＩＣＥ']) assert.deepEqual(await logins(t, name, 'alice-pw'), { plain: true, scram: true }, name);
  });

  test('seeded random names: registered exactly when they are JID localparts, and then log in by any form', async () => {
    const seed = 7613;
    // Names XML cannot carry (C0 controls) are left to the unit test.
    const names = randomNames(seed, 60).filter((n) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(n) && !/[@/]/.test(n));
    let registered = 0;
    for (const [i, name] of names.entries()) {
      const what = `seed ${seed}, name ${JSON.stringify(name)}`;
      const key = parseJid(`${name}@localhost`)?.local;
      const outcome = await register(t, name, `pw${i}`);
      if (key === undefined) {
        assert.equal(outcome, 'not-acceptable', what);
        assert.deepEqual(await logins(t, name, `pw${i}`), { plain: false, scram: false }, what);
        continue;
      }
      // An earlier name may have prepared to the same account.
      assert.ok(outcome === 'result' || outcome === 'conflict', `${what}: ${outcome}`);
      if (outcome !== 'result') continue;
      registered++;
      assert.ok(await t.server.ctx.accounts.exists(key), what);
      assert.deepEqual(await logins(t, name, `pw${i}`), { plain: true, scram: true }, what);
      assert.deepEqual(await logins(t, key, `pw${i}`), { plain: true, scram: true }, `${what} as ${JSON.stringify(key)}`);
    }
    assert.ok(registered > 3, `registered ${registered}`);
  });
});

describe('the CLI prepares names like in-band registration and SASL', () => {
  let t: TestServer | undefined;
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'mucpush-names-'));
  });
  after(async () => {
    await t?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('adduser ÄLICE@localhost logs in as älice; adduser a\\u00ADb@localhost is refused', async () => {
    const write = process.stdout.write;
    process.stdout.write = () => true;
    try {
      await addUser('ÄLICE@localhost', { dataDir, domain: 'localhost', password: 'cli-pw' });
      await assert.rejects(addUser('a\u00adb@localhost', { dataDir, domain: 'localhost', password: 'pw' }), /invalid JID/);
      await assert.rejects(addUser('a\u0308lice@localhost', { dataDir, domain: 'localhost', password: 'pw' }), /already exists/);
    } finally {
      process.stdout.write = write;
    }
    t = await startTestServer({ dataDir, registration: { enabled: true } });
    assert.deepEqual(await logins(t, 'älice', 'cli-pw'), { plain: true, scram: true });
    assert.equal(await register(t, 'Älice', 'x'), 'conflict');
  });
});
