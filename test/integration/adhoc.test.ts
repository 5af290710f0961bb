import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { startWithUsers, type TestClient, type TestServer } from '../helpers/server.ts';
import { join, MUC_DOMAIN, MUC_USER } from '../helpers/muc.ts';
import { DATA, errorCondition, featuresOf, field, rawIq, discoInfo } from '../helpers/stanza.ts';

// XEP-0050 ad-hoc commands with the XEP-0133 service administration subset, for `admins`.

const COMMANDS = 'http://jabber.org/protocol/commands';
const ADMIN = 'http://jabber.org/protocol/admin';
const DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';
const node = (name: string) => `${ADMIN}#${name}`;

const command = (to: string, attrs: Record<string, string>, ...children: Element[]) =>
  xml('iq', { type: 'set', to }, xml('command', { xmlns: COMMANDS, ...attrs }, ...children));
const submit = (fields: Record<string, string | string[]>) =>
  xml('x', { xmlns: DATA, type: 'submit' }, field('FORM_TYPE', ADMIN), ...Object.entries(fields).map(([k, v]) => field(k, ...(Array.isArray(v) ? v : [v]))));
const values = (cmd: Element, name: string) =>
  cmd.getChild('x', DATA)?.getChildren('field').find((f) => f.attrs.var === name)?.getChildren('value').map((v) => v.text()) ?? [];

/** Executes `node` in two stages (form, then submission); resolves with the completed <command/>. */
async function run(c: TestClient, to: string, name: string, fields: Record<string, string | string[]>): Promise<Element> {
  const first = (await c.iq(command(to, { node: name, action: 'execute' }))).getChild('command', COMMANDS)!;
  assert.equal(first.attrs.status, 'executing');
  assert.equal(first.getChild('x', DATA)?.attrs.type, 'form');
  const done = (await c.iq(command(to, { node: name, sessionid: first.attrs.sessionid as string }, submit(fields)))).getChild('command', COMMANDS)!;
  assert.equal(done.attrs.status, 'completed');
  assert.equal(done.attrs.sessionid, first.attrs.sessionid);
  return done;
}

describe('ad-hoc admin commands (XEP-0050, XEP-0133)', () => {
  let t: TestServer;
  let boss: TestClient;
  let user: TestClient;

  before(async () => {
    t = await startWithUsers(['boss', 'user', 'victim'], { admins: ['boss@localhost'], muc: { unlockedByDefault: true } });
    boss = await t.login('boss');
    user = await t.login('user');
  });
  after(async () => {
    await t.stop();
  });

  it('lists the commands to admins only, and advertises the feature', async () => {
    assert.ok(featuresOf(await discoInfo(boss, 'localhost')).includes(COMMANDS));
    const items = async (c: TestClient, to: string) =>
      (await c.iq(xml('iq', { type: 'get', to }, xml('query', { xmlns: DISCO_ITEMS, node: COMMANDS })))).getChild('query')!.getChildren('item').map((i) => i.attrs.node as string);
    const listed = await items(boss, 'localhost');
    for (const n of ['add-user', 'delete-user', 'change-user-password', 'end-user-session', 'get-registered-users-list', 'get-online-users-list']) {
      assert.ok(listed.includes(node(n)), n);
    }
    assert.deepEqual(await items(user, 'localhost'), []);
    assert.ok((await items(boss, MUC_DOMAIN)).includes('urn:mucpush:muc#destroy-room'));
    const info = await discoInfo(boss, 'localhost', node('add-user'));
    assert.equal(info.getChild('identity')?.attrs.type, 'command-node');
  });

  it('add-user by an admin creates an account that logs in', async () => {
    const done = await run(boss, 'localhost', node('add-user'), { accountjid: 'newbie@localhost', password: 'pw', 'password-verify': 'pw' });
    assert.match(done.getChildText('note') ?? '', /added newbie@localhost/);
    await (await t.login('newbie', { password: 'pw' })).stop();
  });

  it('a non-admin gets forbidden, and so does a non-admin completing an admin session', async () => {
    const res = await rawIq(user, command('localhost', { node: node('add-user'), action: 'execute' }));
    assert.equal(res.attrs.type, 'error');
    assert.equal(errorCondition(res), 'forbidden');
    const direct = await rawIq(user, command('localhost', { node: node('add-user') }, submit({ accountjid: 'sneaky@localhost', password: 'x' })));
    assert.equal(errorCondition(direct), 'forbidden');
    assert.equal(await t.server.ctx.accounts.exists('sneaky'), false);
    const muc = await rawIq(user, command(MUC_DOMAIN, { node: 'urn:mucpush:muc#list-rooms', action: 'execute' }));
    assert.equal(errorCondition(muc), 'forbidden');
  });

  it('errors: an existing account is a conflict, an unknown session id is bad-request', async () => {
    const conflict = await rawIq(boss, command('localhost', { node: node('add-user') }, submit({ accountjid: 'user@localhost', password: 'x' })));
    assert.equal(errorCondition(conflict), 'conflict');
    const bad = await rawIq(boss, command('localhost', { node: node('add-user'), sessionid: 'nope' }, submit({ accountjid: 'x@localhost', password: 'x' })));
    assert.equal(errorCondition(bad), 'bad-request');
    assert.ok(bad.getChild('error')?.getChild('bad-sessionid', COMMANDS));
    const first = (await boss.iq(command('localhost', { node: node('add-user'), action: 'execute' }))).getChild('command', COMMANDS)!;
    const canceled = (await boss.iq(command('localhost', { node: node('add-user'), sessionid: first.attrs.sessionid as string, action: 'cancel' }))).getChild('command', COMMANDS)!;
    assert.equal(canceled.attrs.status, 'canceled');
  });

  it('change-user-password, the user lists, end-user-session and delete-user', async () => {
    await run(boss, 'localhost', node('change-user-password'), { accountjid: 'victim@localhost', password: 'changed' });
    const victim = await t.login('victim', { password: 'changed' });
    const registered = (await boss.iq(command('localhost', { node: node('get-registered-users-list'), action: 'execute' }))).getChild('command', COMMANDS)!;
    assert.equal(registered.attrs.status, 'completed');
    assert.ok(values(registered, 'registereduserjids').includes('victim@localhost'));
    const online = (await boss.iq(command('localhost', { node: node('get-online-users-list'), action: 'execute' }))).getChild('command', COMMANDS)!;
    assert.ok(values(online, 'onlineuserjids').includes('victim@localhost'));

    victim.xmpp.reconnect.stop();
    const done = await run(boss, 'localhost', node('end-user-session'), { accountjids: ['victim@localhost'] });
    assert.match(done.getChildText('note') ?? '', /ended 1 session/);
    assert.equal(t.server.ctx.sessions.of('victim@localhost').length, 0);

    await run(boss, 'localhost', node('delete-user'), { accountjids: ['victim@localhost'] });
    assert.equal(await t.server.ctx.accounts.exists('victim'), false);
  });

  it('destroys a room on the MUC service', async () => {
    await join(user, `hall@${MUC_DOMAIN}/U`);
    const gone = user.next((el) => el.is('presence') && el.attrs.type === 'unavailable' && el.attrs.from === `hall@${MUC_DOMAIN}/U`);
    const list = (await boss.iq(command(MUC_DOMAIN, { node: 'urn:mucpush:muc#list-rooms', action: 'execute' }))).getChild('command', COMMANDS)!;
    assert.ok(values(list, 'roomjids').includes(`hall@${MUC_DOMAIN}`));
    await run(boss, MUC_DOMAIN, 'urn:mucpush:muc#destroy-room', { roomjid: `hall@${MUC_DOMAIN}`, reason: 'bye' });
    assert.equal((await gone).getChild('x', MUC_USER)?.getChild('destroy')?.getChildText('reason'), 'bye');
  });
});
