import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Level } from 'level';
import { decodeTime } from 'ulid';
import { jidOf } from '../../src/core/jid.ts';
import { monotonicUlid, pooledRandom } from '../../src/core/ulid.ts';
import { Room } from '../../src/muc/room.ts';
import type { RoomRecord } from '../../src/muc/types.ts';
import { SessionRegistry } from '../../src/router/sessions.ts';
import { RoomArchive } from '../../src/store/archive.ts';
import { Store } from '../../src/store/db.ts';
import type { Session } from '../../src/stream/session.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mucpush-hot-'));
  dirs.push(d);
  return d;
}

describe('Store batches', () => {
  it('write the same keys and JSON values as the sublevel, readable through it', async () => {
    const dir = await tempDir();
    const store = await Store.open(dir);
    const kv = store.sub<{ a: number; s: string }>('things');
    await kv.put('direct', { a: 1, s: 'x' });
    await store.batch([kv.batchPut('k\u00001', { a: 2, s: '"quoted" <x/>' }), kv.batchPut('k\u00002', { a: 3, s: 'é' }), kv.batchDel('direct')]);
    assert.deepEqual(await kv.get('k\u00001'), { a: 2, s: '"quoted" <x/>' });
    assert.equal(await kv.get('direct'), undefined);
    const entries: [string, unknown][] = [];
    for await (const e of kv.range({ gte: 'k\u0000', lt: 'k\u0001' })) entries.push(e);
    assert.deepEqual(entries, [
      ['k\u00001', { a: 2, s: '"quoted" <x/>' }],
      ['k\u00002', { a: 3, s: 'é' }],
    ]);
    await store.close();
    // On disk: the sublevel's prefix and plain JSON, as before.
    const raw = new Level<string, string>(dir, { valueEncoding: 'utf8' });
    await raw.open();
    assert.deepEqual(await raw.keys().all(), ['!things!k\u00001', '!things!k\u00002']);
    assert.equal(await raw.get('!things!k\u00002'), JSON.stringify({ a: 3, s: 'é' }));
    await raw.close();
  });
});

describe('RoomArchive group commit', () => {
  it('keeps every append, in order, across turns and a slow disk', async () => {
    const store = await Store.open(await tempDir());
    const archive = new RoomArchive(store);
    const ulid = monotonicUlid();
    const ids: string[] = [];
    for (let turn = 0; turn < 20; turn++) {
      for (let i = 0; i < 7; i++) {
        const id = ulid();
        ids.push(id);
        archive.append('r@muc', id, { xml: `<message n="${ids.length}"/>`, nick: 'n', jid: 'a@b' });
      }
      await new Promise((r) => setImmediate(r));
    }
    const page = await archive.query('r@muc', { limit: 1000 });
    assert.deepEqual(
      page.items.map((m) => m.id),
      ids,
    );
    assert.equal(page.items[5]!.time, decodeTime(ids[5]!));
    await store.close();
  });

  it('removeRoom drops the room messages still waiting and keeps those appended after it', async () => {
    const store = await Store.open(await tempDir());
    const archive = new RoomArchive(store);
    const ulid = monotonicUlid();
    const a1 = ulid();
    const b1 = ulid();
    archive.append('a@muc', a1, { xml: '<m/>', nick: 'n', jid: 'x@y' });
    archive.append('b@muc', b1, { xml: '<m/>', nick: 'n', jid: 'x@y' });
    await archive.settle();
    const a2 = ulid();
    const b2 = ulid();
    archive.append('a@muc', a2, { xml: '<m/>', nick: 'n', jid: 'x@y' });
    archive.append('b@muc', b2, { xml: '<m/>', nick: 'n', jid: 'x@y' });
    const removed = archive.removeRoom('a@muc');
    const a3 = ulid();
    archive.append('a@muc', a3, { xml: '<m/>', nick: 'n', jid: 'x@y' });
    await removed;
    assert.deepEqual(
      (await archive.query('a@muc', { limit: 10 })).items.map((m) => m.id),
      [a3],
    );
    assert.deepEqual(
      (await archive.query('b@muc', { limit: 10 })).items.map((m) => m.id),
      [b1, b2],
    );
    await store.close();
  });
});

describe('ulid on the pooled PRNG', () => {
  it('gives floats in [0, 1) over all 32 characters', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 20_000; i++) {
      const x = pooledRandom();
      assert.ok(x >= 0 && x < 1);
      seen.add(Math.floor(x * 32));
    }
    assert.equal(seen.size, 32);
  });

  it('stays monotonic and unique', () => {
    const ulid = monotonicUlid();
    let last = '';
    const all = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const id = ulid();
      assert.match(id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
      assert.ok(id > last);
      last = id;
      all.add(id);
    }
    assert.equal(all.size, 5000);
  });
});

describe('Room nick index', () => {
  function room(nicks: Record<string, string> = {}): Room {
    const record = { jid: 'r@muc', config: {}, affiliations: {}, nicks, subject: null, locked: false, created: 0 } as unknown as RoomRecord;
    return new Room(jidOf('r', 'muc'), record, {} as never);
  }

  it('answers as a scan of record.nicks would, through every change', () => {
    // Duplicates (only possible in a record edited by hand): the first in record order wins.
    const r = room({ 'a@x': 'Alice', 'b@x': 'Bob', 'd@x': 'Dup', 'e@x': 'Dup' });
    const scan = (nick: string) => Object.entries(r.record.nicks).find(([, n]) => n === nick)?.[0];
    const check = () => {
      for (const nick of ['Alice', 'Bob', 'Carol', 'Al', 'Dup']) assert.equal(r.nickOwner(nick), scan(nick), nick);
    };
    check();
    r.setRegisteredNick('c@x', 'Carol');
    check();
    r.setRegisteredNick('a@x', 'Al');
    check();
    r.setRegisteredNick('c@x', undefined);
    check();
    r.setRegisteredNick('c@x', 'Alice');
    check();
    r.setRegisteredNick('f@x', 'Bob');
    check();
    r.setRegisteredNick('b@x', undefined);
    check();
    r.setRegisteredNick('d@x', 'Other');
    check();
    r.setRegisteredNick('d@x', 'Dup');
    check();
    r.setRegisteredNick('e@x', undefined);
    check();
    r.setRegisteredNick('f@x', undefined);
    check();
    // A record replaced wholesale, and a nick changed behind the index's back (edits should go
    // through setRegisteredNick; a changed or removed entry is still noticed).
    r.record = { ...r.record, nicks: { 'z@x': 'Zed' } };
    assert.equal(r.nickOwner('Zed'), 'z@x');
    r.record.nicks['z@x'] = 'Zoe';
    assert.equal(r.nickOwner('Zed'), undefined);
  });
});

describe('Room nick index, random changes', () => {
  it('matches a scan after each of 5,000 changes', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const bares = ['a', 'b', 'c', 'd', 'e', 'f'].map((l) => `${l}@x`);
    const nicks = ['N0', 'N1', 'N2', 'N3'];
    const initial: Record<string, string> = {};
    for (const b of bares) if (rand(2)) initial[b] = nicks[rand(nicks.length)]!;
    const record = { jid: 'r@muc', config: {}, affiliations: {}, nicks: initial, subject: null, locked: false, created: 0 } as unknown as RoomRecord;
    const r = new Room(jidOf('r', 'muc'), record, {} as never);
    for (let i = 0; i < 5000; i++) {
      r.setRegisteredNick(bares[rand(bares.length)]!, rand(3) === 0 ? undefined : nicks[rand(nicks.length)]);
      if (rand(2)) continue; // lookups only sometimes, so changes also pile up between them
      for (const nick of nicks) assert.equal(r.nickOwner(nick), Object.entries(r.record.nicks).find(([, n]) => n === nick)?.[0], `${nick} after ${i}`);
    }
  });
});

describe('SessionRegistry', () => {
  const session = (local: string, resource: string) => ({ jid: jidOf(local, 'localhost', resource), sm: null }) as unknown as Session;

  it('finds sessions by full JID and keeps the newest of a resource', () => {
    const reg = new SessionRegistry();
    const a = session('alice', 'phone');
    const b = session('alice', 'laptop/2');
    reg.add(a);
    reg.add(b);
    assert.equal(reg.get('alice@localhost/phone'), a);
    assert.equal(reg.get('alice@localhost/laptop/2'), b);
    assert.equal(reg.get('alice@localhost'), undefined);
    assert.equal(reg.size, 2);
    const a2 = session('alice', 'phone');
    reg.add(a2);
    reg.remove(a); // the replaced session leaves nothing behind, and takes nothing with it
    assert.equal(reg.get('alice@localhost/phone'), a2);
    assert.deepEqual(reg.of('alice@localhost'), [a2, b]);
    reg.remove(a2);
    reg.remove(b);
    assert.equal(reg.get('alice@localhost/phone'), undefined);
    assert.equal(reg.size, 0);
  });
});
