import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Element } from '../../src/xml/element.ts';
import { is, isIq, NS, RawTcp } from '../helpers/raw.ts';
import { prng } from '../helpers/names.ts';

// Issue 12, "Tests that stay in the suite": load against a child server, SIGKILL at a random
// moment, restart on the same data folder, and count acknowledged writes that were lost: every
// reply the client got, every stanza-id echoed, every SM-acknowledged message. It must be 0.

const BIN = fileURLToPath(new URL('../../bin/mucpush.js', import.meta.url));
const ROUNDS = 20;
const ROOM = 'k9@conference.localhost';
const MAM = 'urn:xmpp:mam:2';
const SM = 'urn:xmpp:sm:3';
const MUC_ADMIN = 'http://jabber.org/protocol/muc#admin';
const MUC_OWNER = 'http://jabber.org/protocol/muc#owner';
const MUC_REGISTER = 'http://jabber.org/protocol/muc#register';
const DATA = 'jabber:x:data';


interface Child {
  proc: ChildProcess;
  port: number;
  exited: Promise<void>;
}

async function startChild(dataDir: string): Promise<Child> {
  const env = { ...process.env };
  delete env['MUCPUSH_CONFIG'];
  const proc = spawn(process.execPath, [BIN, 'start', '--data-dir', dataDir, '--c2s-port', '0', '--http-port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  let out = '';
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within 20 s: ${err}`)), 20_000);
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('"listening"') && l.endsWith('}'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line).c2s as number);
      }
    });
    void exited.then(() => reject(new Error(`the server exited: ${err}`)));
  });
  // Keep draining its output, or a full pipe would stall the child.
  proc.stdout!.resume();
  return { proc, port, exited };
}

/** `p`, or null once the connection is gone (the server was killed). */
function orClosed<T>(c: RawTcp, p: Promise<T>): Promise<T | null> {
  p.catch(() => {});
  return Promise.race([p, c.waitClosed(30_000).then(() => null)]);
}

let ids = 0;
const nextId = () => `k${++ids}`;

function iq(c: RawTcp, type: 'get' | 'set', to: string | undefined, payload: string): Promise<Element> {
  const id = nextId();
  return c.iq(`<iq type='${type}' id='${id}'${to ? ` to='${to}'` : ''}>${payload}</iq>`, id, 10_000);
}

const registerPayload = (user: string) => `<query xmlns='${NS.REGISTER}'><username>${user}</username><password>pw</password></query>`;
const memberPayload = (jid: string) => `<query xmlns='${MUC_ADMIN}'><item jid='${jid}' affiliation='member'/></query>`;
const nickPayload = (nick: string) =>
  `<query xmlns='${NS.REGISTER}'><x xmlns='${DATA}' type='submit'><field var='FORM_TYPE'><value>${MUC_REGISTER}</value></field><field var='muc#register_roomnick'><value>${nick}</value></field></x></query>`;

/** What the clients were told is done, per kind. */
interface Acked {
  accounts: string[];
  messages: string[];
  offline: string[];
  members: string[];
  /** Nicks Bob asked to register, in order, and how many of those were answered. */
  nicks: { sent: string[]; acked: number };
}

const emptyAcked = (): Acked => ({ accounts: [], messages: [], offline: [], members: [], nicks: { sent: [], acked: 0 } });

/** Runs one kind of load until the connection dies. */
async function loop(c: RawTcp, step: (i: number) => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 10_000 && !c.isClosed; i++) {
    if (!(await step(i).catch(() => false))) return;
  }
}

async function load(port: number, round: number, acked: Acked): Promise<RawTcp[]> {
  const [alice, owner, bob, bobReg, registrar] = await Promise.all([
    RawTcp.login(port, 'alice', 'pw', 'say'),
    RawTcp.login(port, 'alice', 'pw', 'admin'),
    RawTcp.login(port, 'bob', 'pw', 'sm'),
    RawTcp.login(port, 'bob', 'pw', 'reg'),
    RawTcp.connect(port),
  ]);
  alice.send(`<presence to='${ROOM}/Alice'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>`);
  await alice.next((el) => el.name === 'presence' && el.attrs.from === `${ROOM}/Alice`, 10_000, 'the join');
  bob.send(`<enable xmlns='${SM}'/>`);
  await bob.next(is('enabled', SM), 10_000, 'SM enabled');
  await registrar.openAndFeatures();
  const clients = [alice, owner, bob, bobReg, registrar];
  const offlineSent: string[] = [];

  const loads = [
    loop(alice, async (i) => {
      const body = `m${round}_${i}`;
      alice.send(`<message to='${ROOM}' type='groupchat' id='${body}'><body>${body}</body></message>`);
      const echo = await orClosed(alice, alice.next((el) => el.name === 'message' && el.getChildText('body') === body, 10_000));
      const sid = echo?.getChild('stanza-id', 'urn:xmpp:sid:0')?.attrs.id as string | undefined;
      if (sid) acked.messages.push(sid);
      return echo !== null;
    }),
    loop(bob, async (i) => {
      const body = `c${round}_${i}`;
      offlineSent.push(body);
      bob.send(`<message to='carol@localhost' type='chat' id='${body}'><body>${body}</body></message><r xmlns='${SM}'/>`);
      const a = await orClosed(bob, bob.next(is('a', SM), 10_000));
      if (!a) return false;
      // Bob sends nothing else on this stream: h counts his messages.
      acked.offline = offlineSent.slice(0, Number(a.attrs.h));
      return true;
    }),
    loop(registrar, async (i) => {
      const user = `u${round}x${i}`;
      const reply = await orClosed(registrar, iq(registrar, 'set', undefined, registerPayload(user)));
      if (reply?.attrs.type === 'result') acked.accounts.push(user);
      return reply !== null;
    }),
    loop(owner, async (i) => {
      const jid = `x${round}_${i}@localhost`;
      const reply = await orClosed(owner, iq(owner, 'set', ROOM, memberPayload(jid)));
      if (reply?.attrs.type === 'result') acked.members.push(jid);
      return reply !== null;
    }),
    loop(bobReg, async (i) => {
      const nick = `B${round}n${i}`;
      acked.nicks.sent.push(nick);
      const reply = await orClosed(bobReg, iq(bobReg, 'set', ROOM, nickPayload(nick)));
      if (reply?.attrs.type === 'result') acked.nicks.acked = acked.nicks.sent.length;
      return reply !== null;
    }),
  ];
  void Promise.all(loads);
  return clients;
}

/** What the restarted server lost of `acked`, as readable lines (empty when nothing). */
async function lost(port: number, acked: Acked): Promise<string[]> {
  const missing: string[] = [];
  const registrar = await RawTcp.connect(port);
  await registrar.openAndFeatures();
  for (const user of acked.accounts) {
    const reply = await iq(registrar, 'set', undefined, registerPayload(user));
    if (reply.getChild('error')?.getChild('conflict') === undefined) missing.push(`account ${user}`);
  }
  registrar.destroy();

  const alice = await RawTcp.login(port, 'alice', 'pw', 'check');
  // A MAM query by ids (XEP-0313 #extended) answers item-not-found when one of them is unknown:
  // chunks first, then one by one to name the missing ones.
  const archived = async (chunk: string[]): Promise<boolean> => {
    const values = chunk.map((id) => `<value>${id}</value>`).join('');
    const reply = await iq(alice, 'set', ROOM, `<query xmlns='${MAM}'><x xmlns='${DATA}' type='submit'><field var='FORM_TYPE'><value>${MAM}</value></field><field var='ids'>${values}</field></x><set xmlns='http://jabber.org/protocol/rsm'><max>100</max></set></query>`);
    if (reply.attrs.type === 'result') return true;
    assert.ok(reply.getChild('error')?.getChild('item-not-found'), reply.toString());
    return false;
  };
  for (let i = 0; i < acked.messages.length; i += 50) {
    const chunk = acked.messages.slice(i, i + 50);
    if (await archived(chunk)) continue;
    for (const id of chunk) if (!(await archived([id]))) missing.push(`room message ${id}`);
  }
  const members = await iq(alice, 'get', ROOM, `<query xmlns='${MUC_ADMIN}'><item affiliation='member'/></query>`);
  const memberJids = new Set(members.getChild('query')!.getChildren('item').map((item) => item.attrs.jid as string));
  for (const jid of acked.members) if (!memberJids.has(jid)) missing.push(`member ${jid}`);
  alice.destroy();

  const bob = await RawTcp.login(port, 'bob', 'pw', 'check');
  const form = await iq(bob, 'get', ROOM, `<query xmlns='${NS.REGISTER}'/>`);
  const registered = form.getChild('query')?.getChildText('username') ?? null;
  if (acked.nicks.acked > 0 && !acked.nicks.sent.slice(acked.nicks.acked - 1).includes(registered ?? '')) {
    missing.push(`nick registration ${acked.nicks.sent[acked.nicks.acked - 1]} (registered now: ${registered})`);
  }
  bob.destroy();

  // Carol collects her offline messages (they are gone from storage once delivered).
  const carol = await RawTcp.login(port, 'carol', 'pw', 'check');
  carol.send('<presence/>');
  const got = new Set<string>();
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const el = await carol.next((e) => e.name === 'message', 500).catch(() => null);
    if (!el) break;
    got.add(el.getChildText('body') ?? '');
  }
  for (const body of acked.offline) if (!got.has(body)) missing.push(`offline message ${body}`);
  carol.destroy();
  return missing;
}

test(`kill -9 loses no acknowledged write (${ROUNDS} rounds)`, { timeout: 300_000 }, async () => {
  const seed = Number(process.env.KILL9_SEED ?? Date.now() % 1_000_000);
  const random = prng(seed);
  const dataDir = await mkdtemp(join(tmpdir(), 'mucpush-kill9-'));
  let child: Child | undefined;
  try {
    // Set-up: the accounts and a persistent room, Bob allowed to register a nick in it.
    child = await startChild(dataDir);
    const setup = await RawTcp.connect(child.port);
    await setup.openAndFeatures();
    for (const user of ['alice', 'bob', 'carol']) assert.equal((await iq(setup, 'set', undefined, registerPayload(user))).attrs.type, 'result');
    setup.destroy();
    const alice = await RawTcp.login(child.port, 'alice', 'pw', 'setup');
    alice.send(`<presence to='${ROOM}/Alice'><x xmlns='http://jabber.org/protocol/muc'/></presence>`);
    await alice.next((el) => el.name === 'presence' && el.attrs.from === `${ROOM}/Alice`, 10_000, 'the room');
    const config = await iq(alice, 'set', ROOM, `<query xmlns='${MUC_OWNER}'><x xmlns='${DATA}' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field><field var='muc#roomconfig_persistentroom'><value>1</value></field></x></query>`);
    assert.equal(config.attrs.type, 'result', config.toString());
    alice.close();

    const losses: string[] = [];
    let totals = { accounts: 0, messages: 0, offline: 0, members: 0, nicks: 0 };
    let acked = emptyAcked();
    for (let round = 0; round < ROUNDS; round++) {
      acked = emptyAcked();
      const clients = await load(child.port, round, acked);
      // Kill at a random moment of the load.
      await new Promise((r) => setTimeout(r, 100 + Math.floor(random() * 300)));
      child.proc.kill('SIGKILL');
      await child.exited;
      for (const c of clients) c.destroy();
      child = await startChild(dataDir);
      for (const line of await lost(child.port, acked)) losses.push(`round ${round}: ${line}`);
      totals = {
        accounts: totals.accounts + acked.accounts.length,
        messages: totals.messages + acked.messages.length,
        offline: totals.offline + acked.offline.length,
        members: totals.members + acked.members.length,
        nicks: totals.nicks + acked.nicks.acked,
      };
    }
    assert.deepEqual(losses, [], `seed ${seed}: acknowledged writes lost after kill -9 (of ${JSON.stringify(totals)})`);
    // The load must have been real for the check to mean anything.
    for (const [kind, n] of Object.entries(totals)) assert.ok(n >= ROUNDS, `seed ${seed}: only ${n} acknowledged ${kind} over ${ROUNDS} rounds`);
  } finally {
    child?.proc.kill('SIGKILL');
    await child?.exited;
    await rm(dataDir, { recursive: true, force: true });
  }
});
