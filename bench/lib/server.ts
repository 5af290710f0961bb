import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The configuration every benchmark server gets: rooms usable at once, no throttling, no pings. */
export function benchConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, Record<string, unknown>> = {
    muc: { unlockedByDefault: true },
    limits: { rateBytesPerSecond: 1_000_000_000, rateBurstBytes: 1_000_000_000, authFailuresPerMinute: 1_000_000 },
    ping: { idleSeconds: 0 },
  };
  for (const [k, v] of Object.entries(extra)) {
    base[k] = { ...(base[k] ?? {}), ...(v as Record<string, unknown>) };
  }
  return base;
}

export interface ServerOptions {
  config?: Record<string, unknown>;
  /** Extra node flags for the server child, e.g. ['--cpu-prof', '--cpu-prof-dir', dir]. */
  nodeArgs?: string[];
  domain?: string;
  /** Seconds to wait for the `listening` line. */
  startTimeoutSeconds?: number;
  /** Fills the data folder before the server starts (e.g. with stored rooms). */
  seed?: (dataDir: string) => Promise<void>;
}

/** A mucpush server running in a child process, with its ports and memory/CPU probes. */
export class ChildServer {
  private stderr = '';
  private lastLines: string[] = [];
  private exited = false;
  readonly exitPromise: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly dir: string,
    readonly domain: string,
    public c2s = 0,
    public http = 0,
  ) {
    this.exitPromise = new Promise((resolve) =>
      child.once('exit', (code) => {
        this.exited = true;
        resolve(code);
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  /**
   * Starts `node bin/mucpush.js start` with a temporary data folder and config file, ports 0,
   * through `sh -c 'ulimit -n <hard>; exec node ...'` so the server may hold 10k+ sockets
   * (exec keeps the pid, so /proc/<pid> is the server's own).
   */
  static async start(opts: ServerOptions = {}): Promise<ChildServer> {
    const dir = mkdtempSync(path.join(tmpdir(), 'mucpush-bench-'));
    const cfgFile = path.join(dir, 'config.json');
    writeFileSync(cfgFile, JSON.stringify(opts.config ?? benchConfig(), null, 2));
    const domain = opts.domain ?? 'localhost';
    await opts.seed?.(path.join(dir, 'data'));
    const args = [
      ...(opts.nodeArgs ?? []),
      path.join(REPO_ROOT, 'bin', 'mucpush.js'),
      'start',
      '--config', cfgFile,
      '--data-dir', path.join(dir, 'data'),
      '--c2s-port', '0',
      '--http-port', '0',
      '--domain', domain,
    ];
    const quoted = [process.execPath, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('/bin/sh', ['-c', `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec ${quoted}`], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MUCPUSH_CONFIG: '' },
    });
    const server = new ChildServer(child, dir, domain);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      server.stderr = (server.stderr + d).slice(-4000);
    });
    await new Promise<void>((resolve, reject) => {
      let pending = '';
      let found = false;
      const timer = setTimeout(() => reject(new Error(`mucpush did not log "listening" within ${opts.startTimeoutSeconds ?? 30} s\n${server.stderr}`)), (opts.startTimeoutSeconds ?? 30) * 1000);
      child.stdout!.setEncoding('utf8');
      // Keep reading stdout for the whole run (a full pipe would block the server's logger).
      child.stdout!.on('data', (d: string) => {
        pending += d;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          server.lastLines.push(line);
          if (server.lastLines.length > 20) server.lastLines.shift();
          if (found || !line.includes('"listening"')) continue;
          try {
            const rec = JSON.parse(line) as { msg?: string; c2s?: number; http?: number };
            if (rec.msg === 'listening' && rec.c2s && rec.http) {
              server.c2s = rec.c2s;
              server.http = rec.http;
              found = true;
              clearTimeout(timer);
              resolve();
            }
          } catch {
            // not JSON: ignore
          }
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (!found) reject(new Error(`mucpush exited with ${code} before listening\n${server.stderr}\n${server.lastLines.join('\n')}`));
      });
    });
    return server;
  }

  /** Resident set size of the server process, KiB (VmRSS). */
  rssKiB(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return m ? Number(m[1]) : NaN;
  }

  /** User+system CPU time of the server process, seconds. */
  cpuSeconds(): number {
    return processCpuSeconds(this.pid);
  }

  /** Recent stdout lines and stderr, for error reports. */
  diagnostics(): string {
    return `${this.lastLines.slice(-5).join('\n')}\n${this.stderr}`;
  }

  /** SIGTERM, wait for a clean exit (the CPU profile is written then), SIGKILL after a bound. */
  async stop(keepDir = false): Promise<void> {
    if (!this.exited) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
      await this.exitPromise;
      clearTimeout(timer);
    }
    if (!keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

const CLK_TCK = 100;

/** utime+stime of a process from /proc/<pid>/stat, seconds. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** RSS of any process, KiB. */
export function processRssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** Read and write system calls made so far by a process (/proc/<pid>/io syscr, syscw). */
export function processSyscalls(pid: number): { reads: number; writes: number } {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const r = /syscr:\s+(\d+)/.exec(io);
    const w = /syscw:\s+(\d+)/.exec(io);
    return { reads: Number(r?.[1] ?? NaN), writes: Number(w?.[1] ?? NaN) };
  } catch {
    return { reads: NaN, writes: NaN };
  }
}
