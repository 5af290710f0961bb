import { Store } from '../../src/store/db.ts';
import { RoomArchive } from '../../src/store/archive.ts';
import { monotonicUlid } from '../../src/core/ulid.ts';
import { defaultConfig } from '../../src/config/defaults.ts';
import { defaultRoomConfig } from '../../src/muc/config.ts';
import type { RoomRecord } from '../../src/muc/types.ts';
import { RawClient } from '../lib/client.ts';
import { PASSWORD } from '../lib/load.ts';
import { benchConfig, ChildServer } from '../lib/server.ts';
import { now, round, sleep } from '../lib/util.ts';
import type { Scenario } from './context.ts';

/** Writes `rooms` persistent rooms with `messages` archived messages each, in a few batches. */
async function seedRooms(dataDir: string, rooms: number, messages: number): Promise<void> {
  const store = await Store.open(dataDir);
  const kv = store.sub<RoomRecord>('rooms');
  const archive = new RoomArchive(store);
  const ulid = monotonicUlid();
  const config = { ...defaultRoomConfig(defaultConfig()), persistent: true };
  for (let start = 0; start < rooms; start += 1000) {
    const ops = [];
    for (let i = start; i < Math.min(rooms, start + 1000); i++) {
      const jid = `stored${i}@conference.localhost`;
      ops.push(kv.batchPut(jid, { jid, config, affiliations: { 'owner@localhost': 'owner' }, nicks: {}, subject: null, locked: false, created: Date.now() }));
      for (let m = 0; m < messages; m++) {
        const id = ulid();
        void archive.append(jid, id, { xml: `<message from="${jid}/owner" type="groupchat"><body>stored message ${m} of room ${i}</body></message>`, nick: 'owner', jid: 'owner@localhost' });
      }
    }
    await store.batch(ops);
    await archive.settle();
  }
  await store.close();
}

/**
 * Start time and memory with many persistent rooms in storage (issue 10, rooms on demand): the
 * server starts with --rooms (10,000) stored rooms of --messages (20) archived messages each, and
 * with none; then a client joins one stored room (it loads, with its history from the archive).
 */
export const storedRooms: Scenario = {
  name: 'stored-rooms',
  describe: 'start time and RSS with --rooms (10000) stored rooms of --messages (20) messages, against an empty data folder',
  async run({ opt, log }) {
    const rooms = opt('rooms', 10_000);
    const messages = opt('messages', 20);
    const measure = async (n: number) => {
      let seedMs = 0;
      const t0 = now();
      const server = await ChildServer.start({
        config: benchConfig(),
        startTimeoutSeconds: 300,
        seed: async (dir) => {
          const s = now();
          await seedRooms(dir, n, messages);
          seedMs = now() - s;
        },
      });
      const startMs = now() - t0 - seedMs;
      await sleep(1000);
      const rssKiB = server.rssKiB();
      const target = { host: '127.0.0.1', port: server.c2s, domain: 'localhost', muc: 'conference.localhost', pushJid: 'push.localhost', httpPort: server.http };
      const c = await RawClient.login(target, 'visitor', PASSWORD, { register: true, presence: true });
      const j0 = now();
      await c.join(`stored${Math.floor(n / 2)}@conference.localhost`, 'visitor');
      const firstJoinMs = now() - j0;
      await c.close(1000);
      const rssAfterJoinKiB = server.rssKiB();
      await server.stop();
      log(`${n} rooms: seeded in ${Math.round(seedMs)} ms, started in ${Math.round(startMs)} ms, RSS ${rssKiB} KiB, first join ${round(firstJoinMs)} ms`);
      return { startMs: Math.round(startMs), rssKiB, firstJoinMs: round(firstJoinMs), rssAfterJoinKiB };
    };
    const empty = await measure(0);
    const full = await measure(rooms);
    return {
      rooms,
      messagesPerRoom: messages,
      startMs: full.startMs,
      rssKiB: full.rssKiB,
      firstJoinMs: full.firstJoinMs,
      rssAfterJoinKiB: full.rssAfterJoinKiB,
      emptyStartMs: empty.startMs,
      emptyRssKiB: empty.rssKiB,
      emptyFirstJoinMs: empty.firstJoinMs,
      latencyUnit: 'ms',
    };
  },
};
