import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startWithUsers, xml, type TestServer, type TestClient } from '../helpers/server.ts';
import { errorConditionOf } from '../helpers/raw.ts';
import { NS } from '../../src/xml/ns.ts';

const pkgVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('XEP-0092 software version and XEP-0202 entity time on the server domain', () => {
  let t: TestServer;
  let c: TestClient;
  before(async () => {
    t = await startWithUsers(['alice']);
    c = await t.login('alice');
  });
  after(async () => {
    await c.stop();
    await t.stop();
  });

  test('disco#info lists both features', async () => {
    const reply = await c.iq(xml('iq', { type: 'get', to: t.domain }, xml('query', { xmlns: NS.DISCO_INFO })));
    const features = reply.getChild('query', NS.DISCO_INFO)!.getChildren('feature').map((f) => f.attrs.var as string);
    assert.ok(features.includes(NS.VERSION), features.join());
    assert.ok(features.includes(NS.TIME), features.join());
  });

  test('jabber:iq:version answers name and version, no os', async () => {
    const reply = await c.iq(xml('iq', { type: 'get', to: t.domain }, xml('query', { xmlns: NS.VERSION })));
    assert.equal(reply.attrs.from, t.domain);
    const q = reply.getChild('query', NS.VERSION)!;
    assert.ok(q, reply.toString());
    assert.equal(q.getChildText('name'), 'mucpush');
    assert.equal(q.getChildText('version'), pkgVersion);
    assert.equal(q.getChild('os'), undefined);
  });

  test('urn:xmpp:time answers a UTC time within a minute of now and a zone offset', async () => {
    const reply = await c.iq(xml('iq', { type: 'get', to: t.domain }, xml('time', { xmlns: NS.TIME })));
    const time = reply.getChild('time', NS.TIME)!;
    assert.ok(time, reply.toString());
    assert.match(time.getChildText('tzo') ?? '', /^[+-]\d{2}:\d{2}$/);
    const utc = time.getChildText('utc') ?? '';
    assert.match(utc, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    const at = Date.parse(utc);
    assert.ok(Number.isFinite(at), utc);
    assert.ok(Math.abs(at - Date.now()) < 60_000, `${utc} is not now`);
  });

  test('a set of either is refused like any unsupported IQ', async () => {
    for (const [id, payload] of [
      ['vs', xml('query', { xmlns: NS.VERSION })],
      ['ts', xml('time', { xmlns: NS.TIME })],
    ] as const) {
      const wait = c.next((el) => el.name === 'iq' && el.attrs.id === id);
      await c.send(xml('iq', { type: 'set', id, to: t.domain }, payload));
      const reply = await wait;
      assert.equal(reply.attrs.type, 'error', reply.toString());
      assert.equal(errorConditionOf(reply as never), 'service-unavailable');
    }
  });
});
