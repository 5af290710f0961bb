import { closeAll, fillRoom, Load, loginMany, RUN_ID } from '../lib/load.ts';
import { now, round } from '../lib/util.ts';
import type { Scenario } from './context.ts';

/**
 * One room, 100 occupants, 5 senders keeping 4 messages in flight each: the saturated
 * deliveries/s and latency; then an open-loop run at half that rate for the latency a
 * non-saturated server gives.
 */
export const fanout: Scenario = {
  name: 'fanout',
  describe: 'one room of --occupants (100), --senders (5) x --inflight (4) messages in flight; then --half-rate at half the max',
  async run({ target, pid, opt, log }) {
    const occupants = opt('occupants', 100);
    const senders = opt('senders', 5);
    const inflight = opt('inflight', 4);
    const warmup = opt('warmup', 3);
    const duration = opt('duration', 10);
    const room = `fanout-${RUN_ID}@${target.muc}`;

    let t = now();
    const clients = await loginMany(target, Array.from({ length: occupants }, (_, i) => `bf${i}`));
    log(`${occupants} logged in (${Math.round(now() - t)} ms)`);
    t = now();
    await fillRoom(room, clients, 'o');
    log(`${occupants} joined ${room} (${Math.round(now() - t)} ms)`);

    const load = new Load([{ room, clients, senders: Array.from({ length: senders }, (_, i) => i) }], pid);
    log(`closed loop: ${senders} senders x ${inflight} in flight, ${warmup} s warmup + ${duration} s`);
    const max = await load.closedLoop(inflight, warmup, duration);
    log(`max: ${JSON.stringify(max)}`);

    let half: Awaited<ReturnType<Load['fixedRate']>> | null = null;
    if (opt('half-rate', 1) !== 0 && max.messagesPerSecond > 0) {
      const rate = max.messagesPerSecond / 2;
      log(`fixed rate: ${Math.round(rate)} messages/s (${Math.round(rate * occupants)} deliveries/s), ${warmup} s warmup + ${duration} s`);
      half = await load.fixedRate(rate, warmup, duration);
      log(`half: ${JSON.stringify(half)}`);
    }
    const missing = load.missing;
    await closeAll(clients);
    return {
      occupants,
      senders,
      inflight,
      deliveriesPerSecond: max.deliveriesPerSecond,
      messagesPerSecond: max.messagesPerSecond,
      p50: max.p50,
      p90: max.p90,
      p99: max.p99,
      max: max.max,
      serverCpuPct: max.serverCpuPct,
      generatorCpuPct: max.generatorCpuPct,
      otherCpuPct: max.otherCpuPct,
      deliveriesPerWrite: max.deliveriesPerWrite,
      halfRateDeliveriesPerSecond: half?.deliveriesPerSecond,
      halfRateP50: half?.p50,
      halfRateP90: half?.p90,
      halfRateP99: half?.p99,
      halfRateMax: half?.max,
      halfRateSaturated: half?.saturated,
      halfRateServerCpuPct: half?.serverCpuPct,
      halfRateOtherCpuPct: half?.otherCpuPct,
      halfRateDeliveriesPerWrite: half?.deliveriesPerWrite,
      missingDeliveries: missing,
      seconds: round(max.seconds),
      latencyUnit: 'ms',
    };
  },
};
