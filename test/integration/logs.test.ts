import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startChildServer, type ChildServer } from '../helpers/child-server.ts';
import { NS, RawTcp, RawWs } from '../helpers/raw.ts';

const BIN = fileURLToPath(new URL('../../bin/mucpush.js', import.meta.url));
const DOC = fileURLToPath(new URL('../../docs/fail2ban.md', import.meta.url));

type Line = Record<string, unknown>;
const msg = (l: Line) => String(l['msg']);
const isConnect = (l: Line) => msg(l).startsWith('client connected');

/** Runs `connect`, then resolves with its 'client connected' line (the first one not seen before). */
async function connected<T>(s: ChildServer, connect: () => Promise<T>): Promise<{ client: T; line: Line }> {
  const seen = new Set(s.logs.filter(isConnect).map((l) => l['conn']));
  const client = await connect();
  const line = await s.waitLog((l) => isConnect(l) && !seen.has(l['conn']));
  return { client, line };
}

/** The filter's failregex as docs/fail2ban.md gives it. */
async function docFailregex(): Promise<string> {
  const m = /^failregex = (.+)$/m.exec(await readFile(DOC, 'utf8'));
  assert.ok(m, 'docs/fail2ban.md has a failregex line');
  return m[1]!;
}

/** fail2ban's <HOST> (its IPv4-mapped prefix, then a non-space run) as a JavaScript group. */
const jsRegex = (failregex: string) => new RegExp(failregex.replace('<HOST>', '(?:::f{4,6}:)?(?<host>\\S+)'));

async function register(port: number, username: string): Promise<void> {
  const c = await RawTcp.connect(port);
  await c.openAndFeatures();
  const reply = await c.iq(`<iq type='set' id='reg'><query xmlns='jabber:iq:register'><username>${username}</username><password>secret</password></query></iq>`, 'reg');
  assert.equal(reply.attrs.type, 'result', reply.toString());
  c.close();
}

describe('logs at info', () => {
  let s: ChildServer;
  before(async () => {
    s = await startChildServer({ limits: { authTimeoutSeconds: 1 }, muc: { unlockedByDefault: true } });
    await register(s.ports.c2s, 'alice');
  });
  after(() => s.stop());

  it('an in-band registration, with the address', async () => {
    const l = await s.waitLog((l) => msg(l).includes('registered in-band'));
    assert.equal(l['username'], 'alice');
    assert.equal(l['address'], '127.0.0.1');
    assert.equal(msg(l), 'account alice@localhost registered in-band from 127.0.0.1');
  });

  it('connections and disconnections with address, transport and reason', async () => {
    const { client: c, line } = await connected(s, () => RawTcp.login(s.ports.c2s, 'alice', 'secret', 'one'));
    assert.equal(line['address'], '127.0.0.1');
    assert.equal(line['transport'], 'tcp');
    assert.equal(msg(line), 'client connected from 127.0.0.1 over tcp');
    c.close();
    const gone = await s.waitLog((l) => msg(l).startsWith('client disconnected') && l['jid'] === c.jid);
    assert.equal(gone['reason'], 'closed by client');
    assert.equal(gone['address'], '127.0.0.1');
    assert.equal(gone['transport'], 'tcp');

    const { client: ws, line: wsLine } = await connected(s, () => RawWs.connect(`ws://127.0.0.1:${s.ports.http}/xmpp-websocket`));
    assert.equal(wsLine['transport'], 'websocket');
    const wsConn = wsLine['conn'];
    ws.open();
    await ws.next((el) => el.name.endsWith('features'));
    ws.send(`<close xmlns='${NS.FRAMING}'/>`);
    const wsGone = await s.waitLog((l) => msg(l).startsWith('client disconnected') && l['conn'] === wsConn);
    assert.equal(wsGone['transport'], 'websocket');
    assert.equal(wsGone['reason'], 'closed by client');
  });

  it('a stream error names its condition; a replaced session says so', async () => {
    const { client: bad, line: badLine } = await connected(s, () => RawTcp.connect(s.ports.c2s));
    const badConn = badLine['conn'];
    await bad.openAndFeatures();
    bad.send('<a></b>');
    const err = await s.waitLog((l) => msg(l).startsWith('client disconnected') && l['conn'] === badConn);
    assert.match(String(err['reason']), /^stream error: not-well-formed/);

    const first = await RawTcp.login(s.ports.c2s, 'alice', 'secret', 'twice');
    const second = await RawTcp.login(s.ports.c2s, 'alice', 'secret', 'twice');
    const replaced = await s.waitLog((l) => msg(l).startsWith('client disconnected') && l['jid'] === first.jid);
    assert.equal(replaced['reason'], 'replaced by a new connection');
    second.close();
  });

  it('a timeout, and a hibernated session', async () => {
    const idle = await RawTcp.connect(s.ports.c2s);
    await idle.openAndFeatures();
    const timedOut = await s.waitLog((l) => msg(l).startsWith('client disconnected') && String(l['reason']).includes('connection-timeout'));
    assert.equal(timedOut['address'], '127.0.0.1');
    idle.destroy();

    const c = await RawTcp.login(s.ports.c2s, 'alice', 'secret', 'phone');
    c.send(`<enable xmlns='${NS.SM}' resume='true'/>`);
    await c.next((el) => el.name === 'enabled');
    c.destroy();
    const hib = await s.waitLog((l) => msg(l).startsWith('client disconnected') && l['jid'] === c.jid);
    assert.equal(hib['reason'], 'connection lost: session hibernated, resumable');
  });

  it('room creation and destruction', async () => {
    const c = await RawTcp.login(s.ports.c2s, 'alice', 'secret', 'rooms');
    c.send(`<presence to='lounge@conference.localhost/al'><x xmlns='http://jabber.org/protocol/muc'/></presence>`);
    const created = await s.waitLog((l) => msg(l).startsWith('room lounge@conference.localhost created'));
    assert.equal(created['by'], c.jid);
    const reply = await c.iq(`<iq type='set' id='d1' to='lounge@conference.localhost'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>`, 'd1');
    assert.equal(reply.attrs.type, 'result', reply.toString());
    await s.waitLog((l) => msg(l) === 'room lounge@conference.localhost destroyed');
    c.close();
  });

  it('a failed login in the one format the documented fail2ban filter matches', async (t) => {
    const failregex = await docFailregex();
    // (A user name cannot carry a quote or a space past the PRECIS preparation; were one to,
    // the JSON quoting still leaves the real address last.)
    for (const user of ['alice', 'nobody']) {
      const c = await RawTcp.connect(s.ports.c2s);
      await c.openAndFeatures();
      assert.equal((await c.plain(user, 'wrong')).name, 'failure');
      c.destroy();
    }
    const line = (user: string) => s.waitLog((l) => msg(l).startsWith('authentication failed') && l['username'] === user);
    assert.equal(msg(await line('alice')), 'authentication failed for user "alice" from 127.0.0.1');
    assert.equal(msg(await line('nobody')), 'authentication failed for user "nobody" from 127.0.0.1', 'an unknown user too');
    const raw = s.lines.filter((l) => l.includes('authentication failed'));
    assert.equal(raw.length, 2);
    for (const l of raw) assert.equal(jsRegex(failregex).exec(l)?.groups?.['host'], '127.0.0.1', l);
    // Nothing else the server wrote looks like a failed login.
    assert.equal(s.lines.filter((l) => jsRegex(failregex).test(l)).length, 2);

    // fail2ban itself, when installed: the filter file of the doc against the log file.
    const dir = await mkdtemp(join(tmpdir(), 'mucpush-f2b-'));
    try {
      const filter = join(dir, 'mucpush.conf');
      const log = join(dir, 'mucpush.log');
      await writeFile(filter, `[Definition]\nfailregex = ${failregex}\nignoreregex =\n`);
      await writeFile(log, `${s.lines.join('\n')}\n`);
      const out = await new Promise<string | null>((resolve) => {
        execFile('fail2ban-regex', [log, filter], { timeout: 30_000 }, (err, stdout) => resolve(err && !stdout ? null : stdout));
      });
      if (out === null) return t.skip('fail2ban-regex is not installed');
      assert.match(out, /Lines: \d+ lines, 0 ignored, 2 matched/, out);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('--log-level', () => {
  it('overrides log.level', async () => {
    const s = await startChildServer({}, undefined, { args: ['--log-level', 'debug'] });
    try {
      await s.waitLog((l) => l['level'] === 'debug' && msg(l) === 'configuration loaded');
    } finally {
      await s.stop();
    }
  });

  it('refuses an unknown level with the accepted ones', async () => {
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'start', '--log-level', 'loud', '--data-dir', join(tmpdir(), 'mucpush-never-created')], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'mucpush: --log-level: must be one of fatal, error, warn, info, debug, trace, silent (got "loud")\n');
  });
});

describe('on a terminal', () => {
  it('writes human-readable lines (pino-pretty), not JSON', { timeout: 60_000 }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'mucpush-tty-'));
    // script(1) gives the server a pseudo-terminal as stdout; the shell tells us the server's pid.
    const inner = `${process.execPath} ${BIN} start --c2s-port 0 --http-port 0 --data-dir ${dir}/data & echo "PID=$!"; wait`;
    const child = spawn('script', ['-qec', inner, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, MUCPUSH_CONFIG: '' } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    let pid = 0;
    try {
      for (let i = 0; i < 300 && !/listening/.test(out); i++) {
        await new Promise((r) => setTimeout(r, 100));
        if (child.exitCode !== null) break;
      }
      if (child.exitCode !== null && !/PID=/.test(out)) return t.skip(`script(1) did not run: ${out}`);
      pid = Number(/PID=(\d+)/.exec(out)?.[1]);
      assert.match(out, /INFO.*listening/);
      assert.doesNotMatch(out, /"level":/);
    } finally {
      if (pid) process.kill(pid, 'SIGTERM');
      else child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
