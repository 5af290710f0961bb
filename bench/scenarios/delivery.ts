import { closeAll, fillRoom, Load, loginMany, RUN_ID, type Group } from '../lib/load.ts';
import { now, pool } from '../lib/util.ts';
import type { Scenario } from './context.ts';

/**
 * Exactly-once delivery under a steady load: 2,000 users in 200 rooms of 10, 200 messages a
 * second in total (open loop, round-robin over 2 senders per room) for 60 s; every receiver
 * counts each (sender, number) it gets, so a lost or doubled delivery shows.
 */
export const delivery: Scenario = {
  name: 'delivery',
  describe: '--rooms (200) of --size (10), --rate (200) msg/s for --duration (60) s; exactly-once per receiver',
  async run({ target, pid, opt, log }) {
    const nRooms = opt('rooms', 200);
    const size = opt('size', 10);
    const senders = opt('room-senders', 2);
    const rate = opt('rate', 200);
    const warmup = opt('warmup', 3);
    const duration = opt('duration', 60);

    let t = now();
    const clients = await loginMany(target, Array.from({ length: nRooms * size }, (_, i) => `bd${i}`));
    log(`${clients.length} logged in (${Math.round(now() - t)} ms)`);
    t = now();
    const groups: Group[] = Array.from({ length: nRooms }, (_, r) => ({
      room: `delivery-${RUN_ID}-${r}@${target.muc}`,
      clients: clients.slice(r * size, (r + 1) * size),
      senders: Array.from({ length: senders }, (_, i) => i),
    }));
    await pool(groups, 8, (g) => fillRoom(g.room, g.clients, 'o', 4));
    log(`${nRooms} rooms filled (${Math.round(now() - t)} ms)`);

    const load = new Load(groups, pid, { exactlyOnce: true });
    const r = await load.fixedRate(rate, warmup, duration);
    const drained = await load.drain();
    const check = load.deliveryCheck();
    log(JSON.stringify({ ...r, ...check, drained }));
    await closeAll(clients);
    return {
      clients: clients.length,
      rooms: nRooms,
      size,
      targetMessagesPerSecond: r.targetMessagesPerSecond,
      messagesPerSecond: r.messagesPerSecond,
      deliveriesPerSecond: r.deliveriesPerSecond,
      p50: r.p50,
      p90: r.p90,
      p99: r.p99,
      max: r.max,
      sent: load.totals.sent,
      missingDeliveries: check.missing,
      duplicatedDeliveries: check.duplicated,
      saturated: r.saturated,
      serverCpuPct: r.serverCpuPct,
      otherCpuPct: r.otherCpuPct,
      seconds: r.seconds,
      latencyUnit: 'ms',
    };
  },
};
