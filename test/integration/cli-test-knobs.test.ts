import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChildServer } from '../helpers/child-server.ts';
import { errorConditionOf, NS, RawTcp } from '../helpers/raw.ts';
import { MUC, statusCodes } from '../helpers/muc.ts';

// Issue 13, CI suites: `mucpush start --ephemeral --unlocked-rooms`, and a prompt exit on SIGTERM.

const BIN = fileURLToPath(new URL('../../bin/mucpush.js', import.meta.url));
const exists = (p: string) => access(p).then(() => true, () => false);

async function register(port: number, username: string): Promise<void> {
  const c = await RawTcp.connect(port);
  try {
    await c.openAndFeatures();
    const reply = await c.iq(`<iq type='set' id='r'><query xmlns='${NS.REGISTER}'><username>${username}</username><password>secret</password></query></iq>`, 'r');
    assert.equal(reply.attrs.type, 'result', reply.toString());
  } finally {
    c.destroy();
  }
}

test('--ephemeral --unlocked-rooms: a temporary data folder (removed on exit), open rooms, and the exit follows `stopped` promptly', { timeout: 60_000 }, async () => {
  const s = await startChildServer({ registration: { enabled: true } }, undefined, { args: ['--ephemeral', '--unlocked-rooms'] });
  let exitedAt = 0;
  const exited = new Promise<number | null>((resolve) => s.child.on('exit', (code) => ((exitedAt = Date.now()), resolve(code))));
  try {
    const dataDir = (await s.waitLog((l) => l['msg'] === 'ephemeral data folder: removed on exit'))['dataDir'] as string;
    assert.notEqual(dataDir, s.dataDir, 'not the configured folder');
    // The generated certificate lives there, and a client that trusts it verifies the server
    // (what NODE_EXTRA_CA_CERTS=<dataDir>/tls/selfsigned.crt does for every Node client).
    const ca = await readFile(join(dataDir, 'tls', 'selfsigned.crt'), 'utf8');
    const tlsClient = await RawTcp.connect(s.ports.c2s);
    await tlsClient.openAndFeatures();
    const secure = await tlsClient.startTls({ ca, servername: 'localhost' });
    assert.equal(secure.authorized, true);
    tlsClient.destroy();

    await register(s.ports.c2s, 'alice');
    await register(s.ports.c2s, 'bob');
    const alice = await RawTcp.login(s.ports.c2s, 'alice');
    const bob = await RawTcp.login(s.ports.c2s, 'bob');
    const room = 'knobs@conference.localhost';
    alice.send(`<presence to='${room}/Alice'><x xmlns='${MUC}'/></presence>`);
    const created = await alice.next((el) => el.is('presence') && statusCodes(el).includes(110));
    assert.ok(statusCodes(created).includes(201), 'a new room');
    // Unlocked: another user enters at once, without the owner submitting the form.
    bob.send(`<presence to='${room}/Bob'><x xmlns='${MUC}'/></presence>`);
    const joined = await bob.next((el) => el.is('presence') && el.attrs.from === `${room}/Bob`);
    assert.equal(joined.attrs.type, undefined, `joined, not ${errorConditionOf(joined)}`);
    assert.ok(statusCodes(joined).includes(110));

    s.child.kill('SIGTERM');
    await s.waitLog((l) => l['msg'] === 'stopped');
    const stoppedAt = Date.now();
    assert.equal(await exited, 0);
    // A bound, not a benchmark: nothing left (a timer, a socket, the logger) holds the exit for seconds.
    assert.ok(exitedAt - stoppedAt < 1000, `exited ${exitedAt - stoppedAt} ms after "stopped"`);
    assert.equal(await exists(dataDir), false, 'the ephemeral folder is gone');
    alice.destroy();
    bob.destroy();
  } finally {
    await s.stop();
  }
});

test('--ephemeral with --data-dir is refused', async () => {
  const child = spawn(process.execPath, [BIN, 'start', '--ephemeral', '--data-dir', '/nonexistent/mucpush'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 1);
  assert.match(stderr, /--ephemeral.*cannot be used with.*--data-dir/);
});
