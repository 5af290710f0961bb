import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startWithUsers, xml } from '../helpers/server.ts';
import { groupchat, join, leave, MUC_DOMAIN, registerNick } from '../helpers/muc.ts';
import { actAsAppServer, createRoom, enableIq } from '../helpers/push.ts';
import { killSocket, nextHibernation, smReady } from '../helpers/session.ts';
import { parsePrometheusText, valueOf, type Family } from '../helpers/prom-text.ts';

// Issue 13: GET /metrics in the Prometheus text format, counting what happened.

async function scrape(port: number, headers: Record<string, string> = {}): Promise<Map<string, Family>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await res.text());
}

test('after some traffic, /metrics says what happened', { timeout: 60_000 }, async () => {
  const t = await startWithUsers(['alice', 'bob', 'carol', 'app'], { streamManagement: { resumeTimeoutSeconds: 60 } });
  try {
    const room = `metrics@${MUC_DOMAIN}`;
    const alice = await t.login('alice');
    const bob = await t.login('bob', { transport: 'ws' });
    const appClient = await t.login('app', { resource: 'appserver' });
    const app = actAsAppServer(appClient);
    app.mode = { kind: 'error', type: 'cancel', condition: 'item-not-found' };
    await createRoom(alice, `${room}/Alice`);
    await registerNick(alice, room, 'Alice');
    await alice.iq(enableIq(MUC_DOMAIN, 'push.localhost', 'alice-builtin'));
    await alice.iq(enableIq(MUC_DOMAIN, appClient.jid, 'alice-phone'));
    await join(bob, `${room}/Bob`);
    await leave(alice, `${room}/Alice`);

    const refused = app.next();
    for (const body of ['hello', 'hey alice, are you there?', 'bye']) {
      const echo = bob.next((el) => el.is('message') && el.getChildText('body') === body);
      await bob.send(groupchat(room, body));
      await echo;
    }
    await refused;
    // The refusal settles on the server once its error reply is routed back.
    for (let i = 0; i < 100 && t.server.push.stats.errors < 1; i++) await new Promise((r) => setTimeout(r, 20));

    const carol = await t.login('carol');
    await smReady(t, carol);
    carol.xmpp.reconnect.stop();
    const hibernated = nextHibernation(t, 'carol@localhost');
    killSocket(carol);
    await hibernated;

    const m = await scrape(t.server.ports.http);
    assert.equal(valueOf(m, 'mucpush_sessions', { transport: 'tcp' }), 2, 'alice and the app client');
    assert.equal(valueOf(m, 'mucpush_sessions', { transport: 'websocket' }), 1, 'bob');
    assert.equal(valueOf(m, 'mucpush_sm_hibernated_sessions'), 1, 'carol');
    assert.equal(valueOf(m, 'mucpush_rooms'), 1);
    assert.equal(valueOf(m, 'mucpush_room_occupants'), 1, 'bob is left');
    assert.equal(valueOf(m, 'mucpush_muc_messages_total'), 3);
    assert.equal(valueOf(m, 'mucpush_push_notifications_sent_total'), 2, 'the mention, to both app servers');
    assert.equal(valueOf(m, 'mucpush_push_notifications_failed_total', { reason: 'item-not-found' }), 1);
    assert.equal(valueOf(m, 'mucpush_appserver_notifications_total'), 1);
    assert.equal(m.get('mucpush_archive_write_seconds')?.type, 'histogram');
    assert.ok(valueOf(m, 'mucpush_archive_write_seconds_count') >= 1, 'the archive was written');
    assert.equal(m.get('nodejs_eventloop_lag_seconds')?.type, 'gauge');
    assert.equal(m.get('mucpush_stanzas_total')?.type, 'counter');

    // One stanza in (a ping), one out (its answer), nothing else on a quiet server.
    const before = { in: valueOf(m, 'mucpush_stanzas_total', { direction: 'in' }), out: valueOf(m, 'mucpush_stanzas_total', { direction: 'out' }) };
    await alice.iq(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
    const after = await scrape(t.server.ports.http);
    assert.equal(valueOf(after, 'mucpush_stanzas_total', { direction: 'in' }) - before.in, 1);
    assert.equal(valueOf(after, 'mucpush_stanzas_total', { direction: 'out' }) - before.out, 1);
  } finally {
    await t.stop();
  }
});

test('/metrics needs the token the push inspection needs', async () => {
  const token = 'metrics-token-0123456789';
  const t = await startWithUsers([], { appServer: { httpToken: token } });
  try {
    const none = await fetch(`http://127.0.0.1:${t.server.ports.http}/metrics`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    const wrong = await fetch(`http://127.0.0.1:${t.server.ports.http}/metrics`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    const m = await scrape(t.server.ports.http, { authorization: `Bearer ${token}` });
    assert.equal(valueOf(m, 'mucpush_sessions', { transport: 'tcp' }), 0);
  } finally {
    await t.stop();
  }
});
