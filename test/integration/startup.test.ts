import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startChildServer, type ChildServer } from '../helpers/child-server.ts';

// Issue 13: what a person starting the server reads, and what a wrong port tells them.

const BIN = fileURLToPath(new URL('../../bin/mucpush.js', import.meta.url));

describe('a started server', () => {
  let s: ChildServer;
  before(async () => {
    s = await startChildServer();
  });
  after(() => s.stop());

  it('ends its start with a line that names the domain, the ports and the demo page', async () => {
    const ready = await s.waitLog((l) => String(l['msg']).startsWith('mucpush ready'));
    const { c2s, http } = s.ports;
    assert.equal(ready['msg'], `mucpush ready: domain localhost, c2s ${c2s}, http ${http}, demo page http://127.0.0.1:${http}/`);
    assert.ok(s.logs.indexOf(ready) > s.logs.findIndex((l) => l['msg'] === 'listening'), 'after the listening line');
    const page = await fetch(`http://127.0.0.1:${http}/`);
    assert.equal(page.status, 200);
    await page.body?.cancel();
  });

  it('answers a plain GET of the WebSocket endpoint with 426 and a hint', async () => {
    const res = await fetch(`http://127.0.0.1:${s.ports.http}/xmpp-websocket`);
    assert.equal(res.status, 426);
    assert.equal(res.headers.get('upgrade'), 'websocket');
    assert.match(await res.text(), /WebSocket client, subprotocol "xmpp"/);
  });
});

describe('a port in use', () => {
  let work: string;
  let blocker: net.Server;
  let busy: number;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'mucpush-ports-'));
    blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    busy = (blocker.address() as net.AddressInfo).port;
  });
  after(async () => {
    blocker.close();
    await rm(work, { recursive: true, force: true });
  });

  /** Runs `mucpush start ...args` and resolves once it exits (it must, on this error). */
  function start(name: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
    const env = { ...process.env };
    delete env['MUCPUSH_CONFIG'];
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, 'start', '--data-dir', join(work, name), ...args], { cwd: work, env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => (clearTimeout(timer), resolve({ code, stderr })));
    });
  }

  it('c2s: names c2s.port and --c2s-port', async () => {
    const r = await start('c2s', ['--c2s-port', String(busy), '--http-port', '0']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `mucpush: port ${busy} is in use (on 127.0.0.1): change c2s.port or pass --c2s-port\n`);
  });

  it('http: names http.port and --http-port', async () => {
    const r = await start('http', ['--c2s-port', '0', '--http-port', String(busy)]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `mucpush: port ${busy} is in use (on 127.0.0.1): change http.port or pass --http-port\n`);
  });

  it('direct TLS: names c2s.directTlsPort', async () => {
    const config = join(work, 'tls.json');
    await writeFile(config, JSON.stringify({ c2s: { directTlsPort: busy } }));
    const r = await start('tls', ['--config', config, '--c2s-port', '0', '--http-port', '0']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `mucpush: port ${busy} is in use (on 127.0.0.1): change c2s.directTlsPort\n`);
  });
});
