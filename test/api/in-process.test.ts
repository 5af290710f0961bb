import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { client, xml, type Client } from '@xmpp/client';
import { startServer, type MucpushServer } from 'mucpush';
import { publishIq } from '../helpers/push.ts';
import { MUC, statusCodes } from '../helpers/muc.ts';

// Issue 13, CI suites: `import { startServer } from 'mucpush'` as a consumer's test uses it.

process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
process.removeAllListeners('warning');

const exists = (p: string) => access(p).then(() => true, () => false);

async function login(server: MucpushServer, username: string): Promise<Client> {
  const c = client({ service: server.urls.xmpp, domain: server.domain, username, password: 'secret' });
  c.on('error', () => {});
  await c.start();
  return c;
}

test('the temporary data folder exists while the server runs and is removed by stop(); a given one is kept', async () => {
  const server = await startServer();
  assert.ok(await exists(server.dataDir));
  assert.ok(server.certFile && (await exists(server.certFile)), 'the self-signed certificate is in <dataDir>/tls');
  assert.equal(server.config.log.level, 'silent');
  await server.stop();
  assert.equal(await exists(server.dataDir), false);

  const mine = await mkdtemp(join(tmpdir(), 'mucpush-api-'));
  try {
    const kept = await startServer({ dataDir: mine, logLevel: 'warn' });
    assert.equal(kept.config.log.level, 'warn');
    await kept.stop();
    assert.ok(await exists(join(mine, 'tls')), 'a given data folder is left in place');
    // The same given as a config setting.
    const viaConfig = await startServer({ config: { dataDir: mine } });
    await viaConfig.stop();
    assert.equal(viaConfig.dataDir, mine);
    assert.ok(await exists(join(mine, 'tls')));
  } finally {
    await rm(mine, { recursive: true, force: true });
  }
});

test('push.next returns each matching notification once, also one that came before the call, and times out', async () => {
  const server = await startServer({ users: { bob: 'secret' }, domain: 'example.test' });
  assert.equal(server.pushDomain, 'push.example.test');
  const bob = await login(server, 'bob');
  try {
    const publish = (node: string, body: string) => bob.iqCaller.request(publishIq(node, { body }).attr('to', server.pushDomain!));
    await publish('n1', 'before the call');
    await publish('n2', 'other node');
    assert.equal((await server.push.next({ node: 'n1' }))['last-message-body'], 'before the call');
    const waiting = server.push.next({ node: 'n1' });
    await publish('n1', 'after the call');
    assert.equal((await waiting)['last-message-body'], 'after the call');
    await assert.rejects(server.push.next({ node: 'n1' }, { timeoutMs: 200 }), /no push notification matching \{"node":"n1"\} within 200 ms/);
    assert.deepEqual(server.push.notifications().map((n) => n['last-message-body']), ['before the call', 'other node', 'after the call']);
    assert.equal(server.push.clear('n1'), 2);
    assert.deepEqual(server.push.notifications().map((n) => n.node), ['n2']);
    await assert.rejects(server.addUser('bob', 'again'), /already exists/);
  } finally {
    await bob.stop();
    await server.stop();
  }
});

test('rooms are unlocked by default (another user joins a new room at once); unlockedRooms: false locks them', async () => {
  for (const unlockedRooms of [true, false]) {
    const server = await startServer({ users: { alice: 'secret', bob: 'secret' }, unlockedRooms });
    const [alice, bob] = [await login(server, 'alice'), await login(server, 'bob')];
    try {
      const room = `new@${server.mucDomain}`;
      const created = new Promise<void>((resolve) => alice.on('stanza', (el) => el.is('presence') && statusCodes(el).includes(110) && resolve()));
      await alice.send(xml('presence', { to: `${room}/Alice` }, xml('x', { xmlns: MUC })));
      await created;
      const answer = new Promise<string>((resolve) =>
        bob.on('stanza', (el) => el.is('presence') && el.attrs.from === `${room}/Bob` && resolve(el.attrs.type === 'error' ? 'error' : 'joined')),
      );
      await bob.send(xml('presence', { to: `${room}/Bob` }, xml('x', { xmlns: MUC })));
      assert.equal(await answer, unlockedRooms ? 'joined' : 'error');
    } finally {
      await alice.stop();
      await bob.stop();
      await server.stop();
    }
  }
});

test('after stop() nothing of the server keeps the process alive: a script ends on its own', { timeout: 60_000 }, async () => {
  // A consumer's script: a client stream, a kept-alive HTTP connection and an SSE stream open,
  // then stop(). It prints `stopped`; the exit must follow without anything left to wait for.
  // (node:http, not fetch: undici's own client side lingers for a while after its last request.)
  const script = `
    import http from 'node:http';
    import net from 'node:net';
    import { startServer } from 'mucpush';
    const server = await startServer();
    process.stdout.write('started\\n');
    const sock = net.connect(server.ports.c2s, '127.0.0.1');
    sock.on('error', () => {});
    sock.write("<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>");
    await new Promise((r) => sock.once('data', r));
    const agent = new http.Agent({ keepAlive: true });
    const get = (path, whenDone) => new Promise((r) => http.get('http://127.0.0.1:' + server.ports.http + path, { agent }, (res) => {
      res.on('error', () => {});
      res.resume();
      if (whenDone) res.on('end', r); else r();
    }).on('error', () => {}));
    await get('/health', true);
    await get('/push/events', false);
    process.stdout.write('stopping\\n');
    await server.stop();
    process.stdout.write('stopped\\n');
  `;
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const stoppedAt = new Promise<number>((resolve) => child.stdout.setEncoding('utf8').on('data', (d: string) => ((stdout += d), d.includes('stopped') && resolve(Date.now()))));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on('exit', (code) => resolve({ code, at: Date.now() })));
  // Generous: starting includes compiling the sources and generating a key on a loaded machine.
  const killer = setTimeout(() => child.kill('SIGKILL'), 40_000);
  const { code, at } = await exited;
  clearTimeout(killer);
  assert.equal(code, 0, `stdout: ${stdout}; stderr: ${stderr}`);
  // A bound, not a benchmark: a leftover timer or socket would hold it for seconds.
  assert.ok(at - (await stoppedAt) < 1000, `exited ${at - (await stoppedAt)} ms after stop()`);
});

test('the README shows readme-example.test.ts exactly as it runs', async () => {
  const root = new URL('../../', import.meta.url);
  const [readme, example] = await Promise.all([readFile(new URL('README.md', root), 'utf8'), readFile(new URL('test/api/readme-example.test.ts', root), 'utf8')]);
  assert.ok(readme.includes('```ts\n' + example + '```'), 'README.md embeds test/api/readme-example.test.ts verbatim');
});
