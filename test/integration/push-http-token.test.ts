import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../../src/config/defaults.ts';
import { createLogger } from '../../src/core/logger.ts';
import { loopbackOnly, resolveHttpToken, TOKEN_FILE } from '../../src/appserver/http-token.ts';
import { startWithUsers } from '../helpers/server.ts';
import { publishIq } from '../helpers/push.ts';

// Issue 12 item 11: push inspection needs a token unless HTTP listens on loopback only, and
// never carries a wildcard CORS header.

const TOKEN = 'test-token-0123456789';

/** Opens an SSE stream and returns its status and headers (the body is left unread). */
async function events(port: number, query = '', headers: Record<string, string> = {}) {
  const abort = new AbortController();
  const res = await fetch(`http://127.0.0.1:${port}/push/events${query}`, { headers, signal: abort.signal });
  abort.abort();
  return res;
}

test('loopback only and no token configured: the endpoints are open, without any CORS header', async () => {
  const t = await startWithUsers(['alice']);
  try {
    const alice = await t.login('alice');
    await alice.iq(publishIq('n1', { body: 'hi' }));
    const res = await fetch(`http://127.0.0.1:${t.server.ports.http}/push/notifications`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    assert.equal(((await res.json()) as unknown[]).length, 1);
    const sse = await events(t.server.ports.http);
    assert.equal(sse.status, 200);
    assert.equal(sse.headers.get('access-control-allow-origin'), null);
  } finally {
    await t.stop();
  }
});

test('with a token: every inspection request without it is refused with 401, with it (header or query) served', async () => {
  const t = await startWithUsers(['alice'], { appServer: { httpToken: TOKEN } });
  try {
    const alice = await t.login('alice');
    await alice.iq(publishIq('n1', { body: 'secret stuff' }));
    const base = `http://127.0.0.1:${t.server.ports.http}`;
    for (const path of ['/push/notifications', '/push/notifications?node=n1']) {
      const none = await fetch(base + path);
      assert.equal(none.status, 401, path);
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
      assert.doesNotMatch(await none.text(), /secret stuff/);
      assert.equal((await fetch(base + path, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status, 401);
      assert.equal((await fetch(base + path + (path.includes('?') ? '&' : '?') + 'token=nope')).status, 401);
    }
    const ok = await fetch(`${base}/push/notifications`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('access-control-allow-origin'), null);
    assert.equal(((await ok.json()) as { node: string }[])[0]!.node, 'n1');
    assert.equal((await fetch(`${base}/push/notifications?node=n1&token=${TOKEN}`)).status, 200);
    assert.equal((await events(t.server.ports.http)).status, 401);
    assert.equal((await events(t.server.ports.http, `?token=${TOKEN}`)).status, 200);
    assert.equal((await events(t.server.ports.http, '', { authorization: `Bearer ${TOKEN}` })).status, 200);
    // The rest of the HTTP listener is not behind the token.
    assert.equal((await fetch(`${base}/health`)).status, 200);
  } finally {
    await t.stop();
  }
});

test('loopback-only means a loopback listen address; elsewhere a token is generated once into the data folder', async () => {
  for (const host of ['127.0.0.1', '127.0.0.2', '::1', 'localhost']) assert.equal(loopbackOnly(host), true, host);
  for (const host of ['0.0.0.0', '::', '192.0.2.10', '2001:db8::1', 'example.com']) assert.equal(loopbackOnly(host), false, host);

  const dataDir = await mkdtemp(join(tmpdir(), 'mucpush-token-'));
  try {
    const log = createLogger('silent');
    const config = defaultConfig();
    config.dataDir = dataDir;
    assert.equal(await resolveHttpToken(config, log), null, 'loopback: no token');
    config.http.host = '0.0.0.0';
    const first = await resolveHttpToken(config, log);
    assert.ok(first && first.length >= 16);
    const file = join(dataDir, TOKEN_FILE);
    assert.equal((await readFile(file, 'utf8')).trim(), first);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal(await resolveHttpToken(config, log), first, 'the same token on the next start');
    config.appServer.httpToken = TOKEN;
    assert.equal(await resolveHttpToken(config, log), TOKEN, 'a configured token wins');
    config.http.host = '127.0.0.1';
    assert.equal(await resolveHttpToken(config, log), TOKEN, 'and is required on loopback too');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
