import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { processCpuSeconds } from './server.ts';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const now = () => performance.now();

/** Runs `fn` over `items` with at most `concurrency` at once; the first failure rejects. */
export async function pool<T, R>(items: T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed: unknown = null;
  const worker = async () => {
    while (failed === null && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failed !== null) throw failed;
  return out;
}

/** Latency samples in milliseconds, in a growable typed array (capped). */
export class Recorder {
  private a = new Float64Array(1 << 16);
  n = 0;
  dropped = 0;
  max = 0;
  constructor(private readonly cap = 1 << 25) {}

  add(ms: number): void {
    if (ms > this.max) this.max = ms;
    if (this.n === this.a.length) {
      if (this.a.length >= this.cap) {
        this.dropped++;
        return;
      }
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = ms;
  }

  summary(): { count: number; p50: number; p90: number; p99: number; max: number } {
    const s = this.a.subarray(0, this.n).slice().sort();
    const q = (p: number) => (this.n ? round(s[Math.min(this.n - 1, Math.floor(p * this.n))]!) : NaN);
    return { count: this.n + this.dropped, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: round(this.max) };
  }

  reset(): void {
    this.n = 0;
    this.dropped = 0;
    this.max = 0;
  }
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Busy CPU seconds of the whole machine (all cores), from /proc/stat. */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait.
    const busy = f.reduce((a, b) => a + b, 0) - (f[3] ?? 0) - (f[4] ?? 0);
    return busy / 100;
  } catch {
    return NaN;
  }
}

/**
 * CPU use over a window, in percent of one core: the generator, the server (when its pid is
 * known), and everything else on the machine (other work skews the figures: compare runs
 * where it is near 0).
 */
export class CpuMeter {
  private t0 = now();
  private gen0 = process.cpuUsage();
  private srv0: number;
  private all0 = machineBusySeconds();
  constructor(private readonly serverPid: number | null) {
    this.srv0 = serverPid ? processCpuSeconds(serverPid) : NaN;
  }

  read(): { generatorCpuPct: number; serverCpuPct: number | null; otherCpuPct: number } {
    const secs = (now() - this.t0) / 1000;
    const g = process.cpuUsage(this.gen0);
    const genS = (g.user + g.system) / 1e6;
    const srvS = this.serverPid ? processCpuSeconds(this.serverPid) - this.srv0 : 0;
    const other = machineBusySeconds() - this.all0 - genS - srvS;
    return {
      generatorCpuPct: Math.round((genS / secs) * 100),
      serverCpuPct: this.serverPid ? Math.round((srvS / secs) * 100) : null,
      otherCpuPct: Math.max(0, Math.round((other / secs) * 100)),
    };
  }
}

/** Waits until `cond` holds, polling; false if `timeoutMs` passes first. */
export async function until(cond: () => boolean, timeoutMs: number, everyMs = 5): Promise<boolean> {
  const end = now() + timeoutMs;
  while (!cond()) {
    if (now() > end) return false;
    await sleep(everyMs);
  }
  return true;
}

const RESULTS_HEADER = `# Benchmark results

Figures from \`npm run bench\` (see \`bench/README.md\`). The summary above the run log is written
by hand; \`bench/run.ts\` appends one row per scenario run to the run log below.

`;

const LOG_HEADER = `## Run log

| date (UTC) | server | scenario | figures | command |
|---|---|---|---|---|
`;

/** Appends one row to bench/RESULTS.md (creating the file and the log table when missing). */
export function appendResult(file: string, row: { server: string; scenario: string; figures: Record<string, unknown>; command: string }): void {
  if (!existsSync(file)) writeFileSync(file, RESULTS_HEADER + LOG_HEADER);
  const figures = Object.entries(row.figures)
    .filter(([, v]) => v !== undefined && v !== null && typeof v !== 'object')
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')
    .replace(/\|/g, '\\|');
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  appendFileSync(file, `| ${date} | ${row.server} | ${row.scenario} | ${figures} | \`${row.command.replace(/\|/g, '\\|')}\` |\n`);
}

export const RESULTS_FILE = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'RESULTS.md');
