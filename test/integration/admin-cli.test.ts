import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startChildServer, type ChildServer } from '../helpers/child-server.ts';
import { runCli, type CliResult } from '../helpers/cli.ts';
import { is, RawTcp } from '../helpers/raw.ts';

// The admin CLI against a running child server: the commands reach it over <dataDir>/admin.sock
// (the database is locked by the server), and SIGHUP reloads its config file.

const MUC_USER = 'http://jabber.org/protocol/muc#user';
const ROOM = 'lounge@conference.localhost';

type Result = CliResult;

const run = (args: string[]): Promise<Result> => runCli(args);

async function ok(args: string[]): Promise<string> {
  const r = await run(args);
  assert.equal(r.code, 0, `mucpush ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const statusCodes = (el: { getChild(n: string, ns: string): { getChildren(n: string): { attrs: Record<string, string> }[] } | undefined }) =>
  (el.getChild('x', MUC_USER)?.getChildren('status') ?? []).map((s) => Number(s.attrs.code));

/** Joins the room as `nick` (unlocked rooms: no configuration needed) and waits for the self-presence. */
async function joinRoom(c: RawTcp, nick: string, room = ROOM): Promise<void> {
  c.send(`<presence to='${room}/${nick}'><x xmlns='http://jabber.org/protocol/muc'/></presence>`);
  await c.next((el) => el.name === 'presence' && el.attrs.from === `${room}/${nick}` && statusCodes(el as never).includes(110));
}

describe('mucpush admin commands on a running server', () => {
  let server: ChildServer;
  let dd: string[];

  before(async () => {
    server = await startChildServer({ muc: { unlockedByDefault: true } });
    dd = ['--data-dir', server.dataDir];
  });
  after(async () => {
    await server.stop();
  });

  it('adduser while running: the new account logs in without a restart', async () => {
    assert.equal(await ok(['adduser', 'alice@localhost', '--password', 'pw1', ...dd]), 'added alice@localhost\n');
    const c = await RawTcp.login(server.ports.c2s, 'alice', 'pw1');
    c.close();
    // The same checks as on a stopped server, now answered by the running one.
    const again = await run(['adduser', 'alice@localhost', '--password', 'x', ...dd]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^mucpush: alice@localhost already exists/);
  });

  it('the admin socket is 0600', async () => {
    const s = await stat(join(server.dataDir, 'admin.sock'));
    assert.ok(s.isSocket());
    assert.equal(s.mode & 0o777, 0o600);
  });

  it('passwd while running: the new password works, the old one no longer does', async () => {
    await ok(['adduser', 'pat@localhost', '--password', 'old', ...dd]);
    assert.equal(await ok(['passwd', 'pat@localhost', '--password', 'new', ...dd]), 'changed the password of pat@localhost\n');
    const c = await RawTcp.connect(server.ports.c2s);
    await c.openAndFeatures();
    assert.equal((await c.plain('pat', 'old')).name, 'failure');
    c.destroy();
    (await RawTcp.login(server.ports.c2s, 'pat', 'new')).close();
    const missing = await run(['passwd', 'nobody@localhost', '--password', 'x', ...dd]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nobody@localhost does not exist/);
  });

  it('users, sessions and rooms list what runs', async () => {
    await ok(['adduser', 'bob@localhost', '--password', 'pw', ...dd]);
    const bob = await RawTcp.login(server.ports.c2s, 'bob', 'pw', 'phone');
    try {
      await joinRoom(bob, 'Bob');
      const users = (await ok(['users', ...dd])).trim().split('\n');
      assert.ok(users.includes('alice@localhost') && users.includes('bob@localhost'), users.join(','));
      const sessions = await ok(['sessions', ...dd]);
      assert.match(sessions, /^JID\s+TRANSPORT\s+ADDRESS\s+SINCE\s+SM/);
      assert.match(sessions, /bob@localhost\/phone\s+tcp\s+127\.0\.0\.1\s+\d{4}-\d\d-\d\dT\S+\s+off/);
      const json = JSON.parse(await ok(['sessions', '--json', ...dd])) as { jid: string; transport: string }[];
      assert.ok(json.some((s) => s.jid === 'bob@localhost/phone' && s.transport === 'tcp'));
      const rooms = await ok(['rooms', ...dd]);
      assert.match(rooms, new RegExp(`^${ROOM} .*: 1 occupant\\n  Bob  moderator  owner  bob@localhost/phone\\n`, 'm'));
    } finally {
      bob.close();
    }
  });

  it('kick: the occupant gets status 307 with the reason; the others see it leave', async () => {
    await ok(['adduser', 'carol@localhost', '--password', 'pw', ...dd]);
    await ok(['adduser', 'dave@localhost', '--password', 'pw', ...dd]);
    const carol = await RawTcp.login(server.ports.c2s, 'carol', 'pw');
    const dave = await RawTcp.login(server.ports.c2s, 'dave', 'pw');
    // A room of its own: rooms are persistent by default, and Carol must be its owner.
    const ROOM = 'kick@conference.localhost';
    try {
      await joinRoom(carol, 'Carol', ROOM);
      await joinRoom(dave, 'Dave', ROOM);
      const kicked = dave.next((el) => el.name === 'presence' && el.attrs.type === 'unavailable' && el.attrs.from === `${ROOM}/Dave`);
      const seen = carol.next((el) => el.name === 'presence' && el.attrs.type === 'unavailable' && el.attrs.from === `${ROOM}/Dave`);
      assert.equal(await ok(['kick', ROOM, 'Dave', '--reason', 'spam', ...dd]), `kicked ${ROOM}/Dave\n`);
      const self = await kicked;
      assert.deepEqual(statusCodes(self as never).sort(), [110, 307]);
      assert.equal(self.getChild('x', MUC_USER)?.getChild('item')?.getChildText('reason'), 'spam');
      assert.ok(statusCodes((await seen) as never).includes(307));
      // The room's owner cannot be kicked, and an unknown nick is named.
      const owner = await run(['kick', ROOM, 'Carol', ...dd]);
      assert.equal(owner.code, 1);
      assert.match(owner.stderr, /Carol is an owner/);
      const nobody = await run(['kick', ROOM, 'Nobody', ...dd]);
      assert.match(nobody.stderr, /there is no occupant "Nobody"/);
    } finally {
      carol.close();
      dave.close();
    }
  });

  it('destroy-room: the occupants get <destroy/> with the reason and the room is gone', async () => {
    await ok(['adduser', 'erin@localhost', '--password', 'pw', ...dd]);
    const erin = await RawTcp.login(server.ports.c2s, 'erin', 'pw');
    try {
      await joinRoom(erin, 'Erin');
      const gone = erin.next((el) => el.name === 'presence' && el.attrs.type === 'unavailable' && el.attrs.from === `${ROOM}/Erin`);
      assert.equal(await ok(['destroy-room', ROOM, '--reason', 'closing time', ...dd]), `destroyed ${ROOM}\n`);
      const destroy = (await gone).getChild('x', MUC_USER)?.getChild('destroy');
      assert.ok(destroy, 'a <destroy/> element');
      assert.equal(destroy.getChildText('reason'), 'closing time');
      assert.doesNotMatch(await ok(['rooms', ...dd]), new RegExp(ROOM));
      const again = await run(['destroy-room', ROOM, ...dd]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /there is no room lounge@conference\.localhost/);
    } finally {
      erin.close();
    }
  });

  it('deluser while running: the account is deleted and its session ended', async () => {
    await ok(['adduser', 'frank@localhost', '--password', 'pw', ...dd]);
    const frank = await RawTcp.login(server.ports.c2s, 'frank', 'pw');
    assert.equal(await ok(['deluser', 'frank@localhost', ...dd]), 'deleted frank@localhost\n');
    assert.equal(await frank.streamError(), 'not-authorized');
    await frank.waitClosed();
    assert.ok(!(await ok(['users', ...dd])).split('\n').includes('frank@localhost'));
    const c = await RawTcp.connect(server.ports.c2s);
    await c.openAndFeatures();
    assert.equal((await c.plain('frank', 'pw')).name, 'failure');
    c.destroy();
  });
});

describe('mucpush admin commands without a running server', () => {
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'mucpush-admin-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('the running-only commands name the problem', async () => {
    for (const args of [['sessions'], ['rooms'], ['reload'], ['kick', ROOM, 'x'], ['destroy-room', ROOM]]) {
      const r = await run([...args, '--data-dir', join(work, 'data')]);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, /^mucpush: no running server for this data folder \(nothing listens on .*admin\.sock\)/, r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });

  it('users, adduser and deluser use the database directly', async () => {
    const dd = ['--data-dir', join(work, 'data')];
    await ok(['adduser', 'gina@localhost', '--password', 'pw', ...dd]);
    assert.equal(await ok(['users', ...dd]), 'gina@localhost\n');
    await ok(['deluser', 'gina@localhost', ...dd]);
    assert.equal(await ok(['users', ...dd]), '');
  });

  it('a socket file left by a killed server does not block the next start', async () => {
    const dataDir = join(work, 'killed');
    const first = await startChildServer({ dataDir });
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    await stat(join(dataDir, 'admin.sock')); // still there
    // While no server runs, the stale file reads as "no server", not as an error.
    assert.match((await run(['sessions', '--data-dir', dataDir])).stderr, /no running server/);
    await ok(['adduser', 'hank@localhost', '--password', 'pw', '--data-dir', dataDir]);
    const second = await startChildServer({ dataDir });
    try {
      assert.equal(await ok(['users', '--data-dir', dataDir]), 'hank@localhost\n');
      assert.match(await ok(['sessions', '--data-dir', dataDir]), /no sessions/);
    } finally {
      await second.stop();
      await first.stop();
    }
    await assert.rejects(stat(join(dataDir, 'admin.sock')), /ENOENT/, 'removed on stop');
  });
});

describe('SIGHUP and mucpush reload', () => {
  let server: ChildServer;
  let file: string;
  const base = { log: { level: 'info' }, registration: { enabled: true } };

  before(async () => {
    server = await startChildServer(base);
    // startChildServer writes its config next to the default data folder.
    file = join(dirname(server.dataDir), 'config.json');
  });
  after(async () => {
    await server.stop();
  });

  const write = (config: Record<string, unknown>) => writeFile(file, JSON.stringify({ ...config, dataDir: server.dataDir }));
  const offersRegistration = async () => {
    const c = await RawTcp.connect(server.ports.c2s);
    try {
      const features = await c.openAndFeatures();
      return features.getChild('register', 'http://jabber.org/features/iq-register') !== undefined;
    } finally {
      c.destroy();
    }
  };

  it('applies registration and log level live, keeps clients connected, and warns about restart-only keys', async () => {
    await ok(['adduser', 'ivy@localhost', '--password', 'pw', '--data-dir', server.dataDir]);
    const ivy = await RawTcp.login(server.ports.c2s, 'ivy', 'pw');
    assert.equal(await offersRegistration(), true);
    const adhoc = (id: string) =>
      ivy.iq(`<iq type='set' id='${id}' to='localhost'><command xmlns='http://jabber.org/protocol/commands' node='http://jabber.org/protocol/admin#get-online-users-num' action='execute'/></iq>`, id);
    assert.equal((await adhoc('a1')).getChild('error')?.getChild('forbidden') !== undefined, true, 'not an admin yet');
    await write({ log: { level: 'debug' }, registration: { enabled: false }, c2s: { directTlsPort: 0 }, admins: ['ivy@localhost'] });
    const reloaded = server.logs.length;
    server.child.kill('SIGHUP');
    const line = await server.waitLog((l) => l['msg'] === 'configuration reloaded');
    assert.deepEqual((line['applied'] as string[]).sort(), ['admins', 'log.level', 'registration.enabled']);
    assert.deepEqual(line['needsRestart'], ['c2s.directTlsPort']);
    const warn = server.logs.slice(reloaded).find((l) => l['level'] === 'warn' && l['key'] === 'c2s.directTlsPort');
    assert.ok(warn, 'a warning for the restart-only key');
    assert.match(String(warn['msg']), /needs a restart/);
    assert.equal(server.exitCode(), null, 'SIGHUP does not kill the server');
    assert.equal(await offersRegistration(), false);
    // The connected client is still served.
    const pong = await ivy.iq(`<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`, 'p1');
    assert.equal(pong.attrs.type, 'result');
    // The new admin list applies to the next request.
    assert.equal((await adhoc('a2')).attrs.type, 'result');
    // debug now logs: a session's close is a debug line.
    ivy.close();
    await server.waitLog((l) => l['level'] === 'debug' && l['msg'] === 'session closed' && l['jid'] === (ivy as RawTcp & { jid: string }).jid);
  });

  it('a bad config file is logged with its field errors and the running config stays', async () => {
    await write({ registration: { enabled: 'sometimes' } });
    server.child.kill('SIGHUP');
    const line = await server.waitLog((l) => l['msg'] === 'config reload failed: the running configuration stays');
    assert.match(JSON.stringify(line['errors']), /registration\.enabled/);
    assert.equal(await offersRegistration(), false);
    assert.equal(server.exitCode(), null);
  });

  it('mucpush reload does the same and prints what it applied', async () => {
    await write({ registration: { enabled: true } });
    const out = await ok(['reload', '--data-dir', server.dataDir]);
    assert.match(out, /^reloaded: applied .*registration\.enabled/);
    assert.equal(await offersRegistration(), true);
    await write({ registration: { enabled: 7 } });
    const bad = await run(['reload', '--data-dir', server.dataDir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /registration\.enabled/);
  });
});
