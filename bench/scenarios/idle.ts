import { readFileSync } from 'node:fs';
import { RawClient } from '../lib/client.ts';
import { PASSWORD } from '../lib/load.ts';
import { processRssKiB } from '../lib/server.ts';
import { CpuMeter, now, pool, round, sleep } from '../lib/util.ts';
import type { Scenario } from './context.ts';

function openFileLimit(): number {
  const m = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  return m ? Number(m[1]) : Infinity;
}

/**
 * 10,000 authenticated connections (bound, available presence) held open: the server's RSS
 * growth per connection. Accounts are registered first over a few connections, so the RSS
 * baseline already includes them and the delta is the connections' cost.
 */
export const idle: Scenario = {
  name: 'idle',
  describe: '--connections (10000) bound, available, idle connections; server RSS per connection',
  // Registering 10k accounts (two PBKDF2 derivations each) outlasts the default 60 s allowed
  // before authentication on the registering streams.
  config: { limits: { authTimeoutSeconds: 3600 } },
  async run({ target, pid, opt, log }) {
    const n = opt('connections', 10_000);
    const limit = openFileLimit();
    if (limit < n + 200) {
      throw new Error(`the generator may open ${limit} files but needs ${n + 200}: run \`ulimit -n ${n + 1000}\` first (the server child raises its own limit)`);
    }
    const names = Array.from({ length: n }, (_, i) => `bi${i}`);
    let t = now();
    // Registration over a few long-lived connections (several accounts per stream, before auth).
    const regConns = Math.min(32, n);
    const perConn = Math.ceil(n / regConns);
    await pool(Array.from({ length: regConns }, (_, k) => names.slice(k * perConn, (k + 1) * perConn)), regConns, async (batch) => {
      const c = await RawClient.connect(target.host, target.port);
      c.send(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='${target.domain}' version='1.0'>`);
      await c.next((s) => s.startsWith('<stream:features'), 'stream features');
      for (const name of batch) await c.registerAccount(name, PASSWORD);
      await c.close();
    });
    const registerMs = now() - t;
    log(`${n} accounts registered (${Math.round(registerMs)} ms)`);

    await sleep(2000);
    const before = pid ? processRssKiB(pid) : NaN;
    t = now();
    const meter = new CpuMeter(pid);
    const clients = await pool(names, opt('concurrency', 200), (name) => RawClient.login(target, name, PASSWORD, { register: false, presence: true }));
    const connectMs = now() - t;
    const usage = meter.read();
    log(`${n} connections bound and available (${Math.round(connectMs)} ms)`);
    await sleep(opt('settle', 5) * 1000);
    const after = pid ? processRssKiB(pid) : NaN;
    const open = clients.filter((c) => !c.closed).length;
    const generatorRss = processRssKiB(process.pid);
    for (const c of clients) c.destroy();
    await sleep(500);
    return {
      connections: n,
      stillOpen: open,
      rssBeforeKiB: pid ? before : undefined,
      rssAfterKiB: pid ? after : undefined,
      rssPerConnectionKiB: pid ? round((after - before) / n, 1) : undefined,
      connectSeconds: round(connectMs / 1000),
      loginsPerSecond: Math.round(n / (connectMs / 1000)),
      serverCpuPct: usage.serverCpuPct,
      otherCpuPct: usage.otherCpuPct,
      registrationsPerSecond: Math.round(n / (registerMs / 1000)),
      generatorRssKiB: generatorRss,
    };
  },
};
