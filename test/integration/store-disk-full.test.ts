import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, open, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, sleep, type TestServer } from '../helpers/server.ts';
import { errorConditionOf, NS, RawTcp } from '../helpers/raw.ts';
import { errorOf } from '../helpers/stanza.ts';

const registerIq = (id: string, username: string) =>
  `<iq type='set' id='${id}'><query xmlns='${NS.REGISTER}'><username>${username}</username><password>pw-${username}</password></query></iq>`;

/** Fills the file system holding `dir` until ENOSPC; returns the filler's path. */
async function fillDisk(dir: string): Promise<string> {
  const path = join(dir, 'filler');
  const f = await open(path, 'w');
  try {
    for (const size of [1 << 20, 1 << 12, 1]) {
      const chunk = Buffer.alloc(size, 7);
      for (let i = 0; i < 100_000; i++) {
        try {
          await f.write(chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
    return path;
  } finally {
    await f.close().catch(() => {});
  }
}

// Issue 12 item 7: once a LevelDB write has failed, acknowledging further writes loses them.
describe('storage on a full disk (20 MB tmpfs)', () => {
  let mountPoint = '';
  let mounted = false;
  let t: TestServer | undefined;
  let skip = '';

  before(async () => {
    mountPoint = await mkdtemp(join(tmpdir(), 'mucpush-tmpfs-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', mountPoint], { stdio: 'pipe' });
      mounted = true;
    } catch (err) {
      skip = `cannot mount a tmpfs (needs root): ${(err as Error).message.split('\n')[0]}`;
      return;
    }
    t = await startTestServer({ registration: { enabled: true }, dataDir: join(mountPoint, 'data') });
  });
  after(async () => {
    await t?.server.stop().catch(() => {});
    if (mounted) execFileSync('umount', ['-l', mountPoint], { stdio: 'pipe' });
    await rmdir(mountPoint).catch(() => {});
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
