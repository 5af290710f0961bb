import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, sleep, type TestServer } from '../helpers/server.ts';
import { errorConditionOf, NS, RawTcp } from '../helpers/raw.ts';
import { errorOf } from '../helpers/stanza.ts';
import { fillDisk, mountSmallDisk, type SmallDisk } from '../helpers/disk.ts';

const registerIq = (id: string, username: string) =>
  `<iq type='set' id='${id}'><query xmlns='${NS.REGISTER}'><username>${username}</username><password>pw-${username}</password></query></iq>`;

// Issue 12 item 7: once a LevelDB write has failed, acknowledging further writes loses them.
describe('storage on a full disk (20 MB tmpfs)', () => {
  let disk: SmallDisk | undefined;
  let mountPoint = '';
  let t: TestServer | undefined;
  let skip = '';

  before(async () => {
    disk = await mountSmallDisk();
    mountPoint = disk.path;
    skip = disk.skip;
    if (!skip) t = await startTestServer({ registration: { enabled: true }, dataDir: join(mountPoint, 'data') });
  });
  after(async () => {
    await t?.server.stop().catch(() => {});
    await disk?.unmount();
  });

  test('writes are refused with wait/resource-constraint after a failure, accepted again once space returns, and nothing acknowledged is lost', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const server = t!;
    const c = await RawTcp.connect(server.server.ports.c2s);
    await c.openAndFeatures();
    assert.equal((await c.iq(registerIq('before', 'before'), 'before')).attrs.type, 'result');

    const filler = await fillDisk(mountPoint);
    // Writes on the full disk: the first that LevelDB fails turns the store read-only.
    let refused: ReturnType<typeof errorOf> | undefined;
    for (let i = 0; i < 200 && !refused; i++) {
      const reply = await c.iq(registerIq(`full${i}`, `full${i}`), `full${i}`);
      if (reply.attrs.type === 'error') refused = errorOf(reply);
    }
    assert.deepEqual(refused, { type: 'wait', condition: 'resource-constraint' }, 'a write on a full disk is refused with wait/resource-constraint');
    assert.equal(server.server.ctx.store.writable, false);

    // Space returns: the very next write may still be refused, but never acknowledged and then lost.
    await rm(filler);
    const acknowledged: string[] = [];
    const deadline = Date.now() + 30_000;
    for (let i = 0; acknowledged.length < 30 && Date.now() < deadline; i++) {
      const u = `after${i}`;
      const reply = await c.iq(registerIq(u, u), u);
      if (reply.attrs.type === 'result') acknowledged.push(u);
      else {
        assert.equal(errorConditionOf(reply), 'resource-constraint');
        await sleep(200);
      }
    }
    assert.equal(acknowledged.length, 30, 'the store recovers once space is free');
    c.destroy();

    await server.restart();
    for (const u of ['before', ...acknowledged]) assert.ok(await server.server.ctx.accounts.exists(u), `${u} survived the restart`);
    const login = await RawTcp.connect(server.server.ports.c2s);
    await login.openAndFeatures();
    const r = await login.scram('SCRAM-SHA-1', acknowledged[29]!, `pw-${acknowledged[29]}`);
    assert.equal(r.outcome.name, 'success');
    login.destroy();
  });
});
