import { closeAll, fillRoom, Load, loginMany, RUN_ID, type Group } from '../lib/load.ts';
import { now, pool } from '../lib/util.ts';
import type { Scenario } from './context.ts';

/** 1,000 users in 100 rooms of 10, every room with senders keeping messages in flight. */
export const rooms: Scenario = {
  name: 'rooms',
  describe: '--rooms (100) rooms of --size (10), --room-senders (2) x --inflight (2) in flight per room',
  async run({ target, pid, opt, log }) {
    const nRooms = opt('rooms', 100);
    const size = opt('size', 10);
    const senders = opt('room-senders', 2);
    const inflight = opt('inflight', 2);
    const warmup = opt('warmup', 3);
    const duration = opt('duration', 10);

    let t = now();
    const clients = await loginMany(target, Array.from({ length: nRooms * size }, (_, i) => `br${i}`));
    log(`${clients.length} logged in (${Math.round(now() - t)} ms)`);
    t = now();
    const groups: Group[] = Array.from({ length: nRooms }, (_, r) => ({
      room: `rooms-${RUN_ID}-${r}@${target.muc}`,
      clients: clients.slice(r * size, (r + 1) * size),
      senders: Array.from({ length: senders }, (_, i) => i),
    }));
    await pool(groups, 8, (g) => fillRoom(g.room, g.clients, 'o', 4));
    log(`${nRooms} rooms filled (${Math.round(now() - t)} ms)`);

    const load = new Load(groups, pid);
    const r = await load.closedLoop(inflight, warmup, duration);
    log(JSON.stringify(r));
    const missing = load.missing;
    await closeAll(clients);
    return {
      rooms: nRooms,
      size,
      sendersPerRoom: senders,
      inflight,
      deliveriesPerSecond: r.deliveriesPerSecond,
      messagesPerSecond: r.messagesPerSecond,
      p50: r.p50,
      p90: r.p90,
      p99: r.p99,
      max: r.max,
      serverCpuPct: r.serverCpuPct,
      generatorCpuPct: r.generatorCpuPct,
      otherCpuPct: r.otherCpuPct,
      deliveriesPerWrite: r.deliveriesPerWrite,
      missingDeliveries: missing,
      seconds: r.seconds,
      latencyUnit: 'ms',
    };
  },
};
