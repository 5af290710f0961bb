import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { applyReload } from '../../src/admin/reload.ts';
import { createLogger } from '../../src/core/logger.ts';
import { is, isIq, RawTcp, streamErrorCondition } from '../helpers/raw.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

// What a config reload changes takes effect where the server had copied the value at start:
// MUC service admins, per-address limits, the limits of new connections.

describe('config reload applies live keys where they are used', () => {
  let t: TestServer;
  const log = createLogger('silent');
  const reload = (change: (c: TestServer['config']) => void) => {
    const next = structuredClone(t.server.ctx.config);
    change(next);
    return applyReload(t.server.ctx.config, next, log);
  };

  before(async () => {
    t = await startTestServer({ limits: { exemptAddresses: [] }, registration: { perAddressPerMinute: 0 } });
  });
  after(async () => {
    await t.stop();
  });

  it('admins: the MUC service sees the new list', () => {
    assert.equal(t.server.muc!.isAdmin('root@localhost'), false);
    assert.deepEqual(reload((c) => (c.admins = ['root@localhost'])).applied, ['admins']);
    assert.equal(t.server.muc!.isAdmin('root@localhost'), true);
  });

  it('registration.perAddressPerMinute: the next registration counts against the new limit', async () => {
    const register = async (name: string) => {
      const c = await RawTcp.connect(t.server.ports.c2s);
      await c.openAndFeatures();
      const res = await c.iq(`<iq type='set' id='r'><query xmlns='jabber:iq:register'><username>${name}</username><password>pw</password></query></iq>`, 'r');
      c.destroy();
      return res.attrs.type;
    };
    assert.equal(await register('reg1'), 'result');
    reload((c) => (c.registration.perAddressPerMinute = 1));
    assert.equal(await register('reg2'), 'result');
    assert.equal(await register('reg3'), 'error');
  });

  it('limits.maxStanzaBytes: new connections get the new limit, open ones keep theirs', async () => {
    const open = await RawTcp.connect(t.server.ports.c2s);
    await open.openAndFeatures();
    reload((c) => (c.limits.maxStanzaBytes = 2048));
    const big = `<iq type='get' id='b1'><query xmlns='urn:x'>${'x'.repeat(4000)}</query></iq>`;
    open.send(big);
    assert.equal((await open.next(isIq('b1'))).attrs.type, 'error', 'answered (not-authorized), not cut off');
    open.destroy();
    const fresh = await RawTcp.connect(t.server.ports.c2s);
    await fresh.openAndFeatures();
    fresh.send(big);
    assert.equal(streamErrorCondition(await fresh.next(is('stream:error'))), 'policy-violation');
    fresh.destroy();
  });
});
