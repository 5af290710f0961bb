import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { client } from '@xmpp/client';
import { startWithUsers, wrapClient, type TestServer } from '../helpers/server.ts';

// XEP-0156: the WebSocket endpoint is discoverable over HTTP, cross-origin, in XRD and JRD form.
const WS_REL = 'urn:xmpp:alt-connections:websocket';
let t: TestServer;
let base: string;

before(async () => {
  t = await startWithUsers(['alice']);
  base = `http://127.0.0.1:${t.server.ports.http}`;
});
after(() => t.stop());

/** Logs alice in over exactly the advertised URL. */
async function loginAt(href: string): Promise<void> {
  const xmpp = client({ service: href, domain: t.domain, username: 'alice', password: 'secret' });
  xmpp.on('error', () => {});
  const c = wrapClient(xmpp);
  try {
    await xmpp.start();
    assert.equal(xmpp.jid?.bare().toString(), `alice@${t.domain}`);
  } finally {
    await c.stop().catch(() => {});
  }
}

test('host-meta (XRD) advertises a WebSocket URL that accepts a login', async () => {
  const res = await fetch(`${base}/.well-known/host-meta`, { headers: { origin: 'https://elsewhere.example' } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/xrd\+xml\b/);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  const body = await res.text();
  assert.match(body, /<XRD xmlns='http:\/\/docs\.oasis-open\.org\/ns\/xri\/xrd-1\.0'>/);
  const href = body.match(new RegExp(`<Link rel='${WS_REL}' href='([^']+)'/>`))?.[1];
  assert.equal(href, `ws://127.0.0.1:${t.server.ports.http}/xmpp-websocket`);
  await loginAt(href!);
});

test('host-meta.json (JRD) advertises the same URL', async () => {
  const res = await fetch(`${base}/.well-known/host-meta.json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json\b/);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  const body = (await res.json()) as { links: { rel: string; href: string }[] };
  assert.deepEqual(body.links, [{ rel: WS_REL, href: `ws://127.0.0.1:${t.server.ports.http}/xmpp-websocket` }]);
  await loginAt(body.links[0]!.href);
});

test('the href follows the Host header the client used', async () => {
  const port = t.server.ports.http;
  const res = await fetch(`http://localhost:${port}/.well-known/host-meta.json`);
  const body = (await res.json()) as { links: { href: string }[] };
  assert.equal(body.links[0]!.href, `ws://localhost:${port}/xmpp-websocket`);
});

test('an untrusted peer cannot make it advertise wss with X-Forwarded-Proto', async () => {
  const res = await fetch(`${base}/.well-known/host-meta.json`, { headers: { 'x-forwarded-proto': 'https' } });
  const body = (await res.json()) as { links: { href: string }[] };
  assert.match(body.links[0]!.href, /^ws:\/\//);
});

test('behind a trusted TLS-terminating proxy it advertises wss', async () => {
  const proxied = await startWithUsers([], { http: { trustedProxies: ['127.0.0.0/8', '::1'] } });
  try {
    // fetch() keeps its own Host header: node:http sends the proxy's.
    const text = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: proxied.server.ports.http, path: '/.well-known/host-meta.json', headers: { host: 'chat.example:443', 'x-forwarded-proto': 'https' } }, (res) => {
        let data = '';
        res.setEncoding('utf8').on('data', (d: string) => (data += d)).on('end', () => resolve(data));
      });
      req.on('error', reject).end();
    });
    const body = JSON.parse(text) as { links: { href: string }[] };
    assert.equal(body.links[0]!.href, 'wss://chat.example:443/xmpp-websocket');
  } finally {
    await proxied.stop();
  }
});
