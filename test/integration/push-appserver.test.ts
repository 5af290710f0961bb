import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sleep, startWithUsers, type TestClient, type TestServer } from '../helpers/server.ts';
import { httpNotifications, openEvents, publishIq, waitHttpNotifications, type HttpNotification } from '../helpers/push.ts';
import { condition } from '../helpers/stanza.ts';

/** A webhook receiver that fails the first `failures` requests with 503. */
function webhookReceiver(failures: number) {
  const received: { path: string; body: HttpNotification }[] = [];
  let attempts = 0;
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      attempts++;
      if (attempts <= failures) {
        res.writeHead(503).end();
        return;
      }
      received.push({ path: req.url ?? '', body: JSON.parse(data) as HttpNotification });
      res.writeHead(204).end();
    });
  });
  return {
    received,
    get attempts() {
      return attempts;
    },
    async listen(): Promise<number> {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return (server.address() as AddressInfo).port;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const hook = webhookReceiver(2);
let t: TestServer;
before(async () => {
  const port = await hook.listen();
  t = await startWithUsers(['alice'], {
    appServer: { keepPerNode: 3, webhook: `http://127.0.0.1:${port}/all`, nodeWebhooks: { 'hooked-node': `http://127.0.0.1:${port}/node` } },
  });
});
after(async () => {
  await t.stop();
  await hook.close();
});

const publish = publishIq;

let alice: TestClient;
test('publishes: the secret of the first publish protects the node', async () => {
  alice = await t.login('alice');
  await alice.iq(publish('secret-node', { secret: 'abc', body: 'one' }));
  await alice.iq(publish('secret-node', { secret: 'abc', body: 'two' }));
  assert.equal(await condition(alice.iq(publish('secret-node', { body: 'no secret' }))), 'not-authorized');
  assert.equal(await condition(alice.iq(publish('secret-node', { secret: 'abd', body: 'wrong' }))), 'forbidden');
  // A node first published without a secret stays open.
  await alice.iq(publish('open-node', {}));
  await alice.iq(publish('open-node', { secret: 'whatever' }));
  assert.equal(await condition(alice.iq(publish(undefined))), 'bad-request');
  assert.equal(await condition(alice.iq(publish('x', { notification: false }))), 'bad-request');
  const list = await httpNotifications(t, 'secret-node');
  assert.deepEqual(list.map((n) => n['last-message-body']), ['one', 'two']);
  assert.equal(list[0]!.from, alice.jid);
  assert.equal((await httpNotifications(t, 'nobody')).length, 0);
});

test('HTTP keeps the last appServer.keepPerNode notifications per node, newest last', async () => {
  for (let i = 1; i <= 5; i++) await alice.iq(publish('kept', { count: i, body: `m${i}` }));
  const list = await httpNotifications(t, 'kept');
  assert.deepEqual(list.map((n) => n['message-count']), [3, 4, 5]);
  assert.deepEqual(Object.keys(list[0]!).sort(), ['account', 'from', 'id', 'last-message-body', 'last-message-sender', 'message-count', 'node', 'room', 'time']);
  // Published by another server's user (here an iq): no account or room of this server.
  assert.equal(list[0]!.account, null);
  assert.equal(list[0]!.room, null);
  assert.equal(list[0]!['last-message-sender'], null);
  const res = await fetch(`http://127.0.0.1:${t.server.ports.http}/push/notifications?node=kept`, { method: 'POST' });
  assert.equal(res.status, 405);
});

test('GET /push/events streams new notifications as Server-Sent Events', async () => {
  const sse = await openEvents(t, '?node=sse');
  assert.equal(sse.res.status, 200);
  assert.match(sse.res.headers.get('content-type') ?? '', /^text\/event-stream/);
  await alice.iq(publish('not-this-one', { body: 'filtered out' }));
  await alice.iq(publish('sse', { body: 'live 1' }));
  await alice.iq(publish('sse', { body: 'live 2', count: 2 }));
  const events = (await sse.until(2)).map((e) => e.data);
  sse.close();
  assert.deepEqual(events.map((e) => [e.node, e['last-message-body'], e['message-count']]), [['sse', 'live 1', 1], ['sse', 'live 2', 2]]);
});

test('webhooks: global and per node, retried with backoff after failures', async () => {
  await alice.iq(publish('hooked-node', { body: 'to the hooks' }));
  for (let i = 0; i < 200 && hook.received.filter((r) => r.body.node === 'hooked-node').length < 2; i++) await sleep(25);
  const got = hook.received.filter((r) => r.body.node === 'hooked-node');
  assert.deepEqual(got.map((r) => r.path).sort(), ['/all', '/node']);
  assert.equal(got[0]!.body['last-message-body'], 'to the hooks');
  // The first two requests failed (503): the notifications behind them arrived anyway, retried.
  for (let i = 0; i < 200 && !['one', 'two'].every((b) => hook.received.some((r) => r.path === '/all' && r.body['last-message-body'] === b)); i++) await sleep(25);
  for (const b of ['one', 'two']) assert.ok(hook.received.some((r) => r.path === '/all' && r.body['last-message-body'] === b), `"${b}" was retried until delivered`);
  assert.ok(t.server.appServer!.stats.received >= 10);
  // Every earlier notification reached the global hook too.
  await waitHttpNotifications(t, 'kept', 3);
  assert.ok(hook.received.some((r) => r.path === '/all' && r.body.node === 'kept'));
  await alice.stop();
});
