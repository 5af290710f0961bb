/** XEP-0157 contact addresses in the server's disco#info, from config, live on reload. */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { applyReload } from '../../src/admin/reload.ts';
import { createLogger } from '../../src/core/logger.ts';
import { startWithUsers, type TestServer } from '../helpers/server.ts';
import { NS, RawTcp } from '../helpers/raw.ts';
import type { Element } from '../../src/xml/element.ts';

const SERVERINFO = 'http://jabber.org/network/serverinfo';
const discoInfo = (id: string) => `<iq type='get' id='${id}' to='localhost'><query xmlns='${NS.DISCO_INFO}'/></iq>`;

/** The serverinfo form of a disco#info result, as field var -> values; null when absent. */
function serverInfo(reply: Element): Map<string, string[]> | null {
  const forms = reply.getChild('query', NS.DISCO_INFO)!.getChildren('x', 'jabber:x:data');
  const form = forms.find((x) => x.getChildren('field').some((f) => f.attrs.var === 'FORM_TYPE' && f.getChildText('value') === SERVERINFO));
  if (!form) return null;
  assert.equal(form.attrs.type, 'result');
  return new Map(form.getChildren('field').map((f) => [f.attrs.var as string, f.getChildren('value').map((v) => v.text())]));
}

describe('XEP-0157 contact addresses', () => {
  let t: TestServer;
  let a: RawTcp & { jid: string };
  before(async () => {
    t = await startWithUsers(['alice'], {
      contactAddresses: { abuse: ['mailto:abuse@localhost'], admin: ['xmpp:admin@localhost', 'mailto:admin@localhost'] },
    });
    a = await RawTcp.login(t.server.ports.c2s, 'alice', 'secret', 'desk');
  });
  after(async () => {
    a.destroy();
    await t.stop();
  });

  test('the configured kinds are in the serverinfo form, the empty ones are not', async () => {
    const form = serverInfo(await a.iq(discoInfo('d1'), 'd1'));
    assert.ok(form, 'disco#info has the serverinfo form');
    assert.deepEqual(form.get('FORM_TYPE'), [SERVERINFO]);
    assert.deepEqual(form.get('abuse-addresses'), ['mailto:abuse@localhost']);
    assert.deepEqual(form.get('admin-addresses'), ['xmpp:admin@localhost', 'mailto:admin@localhost']);
    assert.equal(form.has('support-addresses'), false);
  });

  test('a reload changes the form at once; with no addresses there is no form', async () => {
    const running = t.server.ctx.config;
    const next = structuredClone(running);
    next.contactAddresses.support = ['https://localhost/help'];
    const log = createLogger('silent');
    assert.ok(applyReload(running, next, log).applied.includes('contactAddresses.support'));
    assert.deepEqual(serverInfo(await a.iq(discoInfo('d2'), 'd2'))?.get('support-addresses'), ['https://localhost/help']);

    const none = structuredClone(next);
    for (const kind of Object.keys(none.contactAddresses) as (keyof typeof none.contactAddresses)[]) none.contactAddresses[kind] = [];
    applyReload(running, none, log);
    assert.equal(serverInfo(await a.iq(discoInfo('d3'), 'd3')), null);
  });
});
