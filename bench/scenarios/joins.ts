import { attr } from '../lib/client.ts';
import { closeAll, loginMany, RUN_ID } from '../lib/load.ts';
import { processCpuSeconds } from '../lib/server.ts';
import { CpuMeter, now, round, until } from '../lib/util.ts';
import type { Scenario } from './context.ts';

/**
 * 500 users join one room at once (a presence flood: each joiner gets the roster, everyone gets
 * each newcomer): time until the last self-presence (status 110) arrives, and until every
 * occupant has seen every other one.
 */
export const joins: Scenario = {
  name: 'joins',
  describe: '--joiners (500) users send their join presence in the same tick to a room an owner created',
  async run({ target, pid, opt, log }) {
    const n = opt('joiners', 500);
    const room = `joins-${RUN_ID}@${target.muc}`;
    let t = now();
    const [owner, ...clients] = await loginMany(target, Array.from({ length: n + 1 }, (_, i) => `bj${i}`));
    const loginMs = now() - t;
    log(`${n + 1} logged in (${Math.round(loginMs)} ms)`);
    await owner!.join(room, 'owner');
    const total = n + 1;

    // Presences from the room each client has seen (its own self-presence included).
    const seen = new Array<number>(n).fill(0);
    const prefix = `${room}/`;
    clients.forEach((c, i) => {
      c.onStanza = (s) => {
        if (s.startsWith('<presence') && attr(s, 'from')?.startsWith(prefix)) seen[i]!++;
      };
    });
    const cpu0 = pid ? processCpuSeconds(pid) : NaN;
    const meter = new CpuMeter(pid);
    t = now();
    const joined = new Array<number>(n).fill(NaN);
    const all = Promise.all(
      clients.map((c, i) =>
        c.join(room, `j${i}`, 120_000).then(() => {
          joined[i] = now() - t;
          seen[i]!++;
        }),
      ),
    );
    await all;
    const lastInMs = Math.max(...joined);
    const converged = await until(() => seen.every((x) => x >= total), 120_000, 10);
    const convergedMs = now() - t;
    const cpu = pid ? processCpuSeconds(pid) - cpu0 : NaN;
    const usage = meter.read();
    const sorted = [...joined].sort((a, b) => a - b);
    log(`last joined after ${Math.round(lastInMs)} ms; everyone saw everyone: ${converged} after ${Math.round(convergedMs)} ms`);
    const presencesDelivered = seen.reduce((a, b) => a + b, 0);
    await closeAll([owner!, ...clients]);
    return {
      joiners: n,
      occupants: total,
      lastInMs: Math.round(lastInMs),
      medianJoinMs: Math.round(sorted[Math.floor(n / 2)]!),
      allPresencesMs: converged ? Math.round(convergedMs) : null,
      presencesDelivered,
      serverCpuSeconds: pid ? round(cpu) : undefined,
      otherCpuPct: usage.otherCpuPct,
      loginSeconds: round(loginMs / 1000),
      loginsPerSecond: Math.round((n + 1) / (loginMs / 1000)),
    };
  },
};
