/** XEP-0012 last activity of the server: its uptime, advertised in disco#info. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWithUsers, type TestServer } from '../helpers/server.ts';
import { errorConditionOf, NS, RawTcp } from '../helpers/raw.ts';

let t: TestServer;
let a: RawTcp & { jid: string };
before(async () => {
  t = await startWithUsers(['alice']);
  a = await RawTcp.login(t.server.ports.c2s, 'alice', 'secret', 'desk');
});
after(async () => {
  a.destroy();
  await t.stop();
});

test('the server answers its uptime in seconds and lists jabber:iq:last', async () => {
  const reply = await a.iq(`<iq type='get' id='l1' to='localhost'><query xmlns='jabber:iq:last'/></iq>`, 'l1');
  assert.equal(reply.attrs.type, 'result', reply.toString());
  const seconds = reply.getChild('query', 'jabber:iq:last')?.attrs.seconds as string | undefined;
  assert.match(seconds ?? '', /^\d+$/);
  // The server started moments ago (this file's before hook).
  assert.ok(Number(seconds) < 60, `uptime ${seconds}`);
  const info = await a.iq(`<iq type='get' id='l2' to='localhost'><query xmlns='${NS.DISCO_INFO}'/></iq>`, 'l2');
  assert.ok(info.getChild('query')!.getChildren('feature').some((f) => f.attrs.var === 'jabber:iq:last'));
});

test('a set is refused', async () => {
  const reply = await a.iq(`<iq type='set' id='l3' to='localhost'><query xmlns='jabber:iq:last'/></iq>`, 'l3');
  assert.equal(reply.attrs.type, 'error');
  assert.ok(errorConditionOf(reply));
});
