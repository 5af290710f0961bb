import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/mucpush.js', import.meta.url));
/** The repository: a script child resolves `tsx` from here. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ChildServer {
  child: ChildProcess;
  ports: { c2s: number; http: number };
  dataDir: string;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  /** The same lines as the server wrote them. */
  lines: string[];
  /** Resolves when the process has exited (with its code), or null while it runs. */
  exitCode(): number | null;
  /** Resolves with the first log line (past or future) that matches, within `timeoutMs`. */
  waitLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** The process's resident set size in bytes (Linux /proc). */
  rss(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Runs `mucpush start` (or `script`, a module that starts the server the same way) as a child
 * process on free loopback ports, with `config` (merged over the defaults by the server) in a
 * temporary file: for what only another process can show (that it stays alive, its memory, its
 * exit). `opts.bin` runs another copy of mucpush (the files a Docker image holds); `opts.args`
 * come after the command's own.
 */
export async function startChildServer(config: Record<string, unknown> = {}, script?: string, opts: { bin?: string; args?: string[] } = {}): Promise<ChildServer> {
  const dir = await mkdtemp(join(tmpdir(), 'mucpush-child-'));
  const dataDir = (config['dataDir'] as string | undefined) ?? join(dir, 'data');
  const file = join(dir, 'config.json');
  await writeFile(file, JSON.stringify({ log: { level: 'info' }, ...config, dataDir }));
  const env = { ...process.env };
  delete env['MUCPUSH_CONFIG'];
  const args = script ? ['--import', 'tsx', script, file] : [opts.bin ?? BIN, 'start', '--config', file, '--c2s-port', '0', '--http-port', '0', ...(opts.args ?? [])];
  const child = spawn(process.execPath, args, { cwd: script ? ROOT : dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  const rawLines: string[] = [];
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  let code: number | null = null;
  let stderr = '';
  let buffered = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buffered += d;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      logs.push(parsed);
      rawLines.push(line);
      for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]!.match(parsed)) waiters.splice(i, 1)[0]!.resolve(parsed);
    }
  });
  const exited = new Promise<number>((resolve) => child.on('exit', (c, signal) => resolve((code = c ?? (signal ? 128 : -1)))));
  const waitLog = (match: (l: Record<string, unknown>) => boolean, timeoutMs = 10_000) => {
    const seen = logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
      waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      void exited.then((c) => reject(new Error(`the server exited with ${c}; stderr: ${stderr}`)));
    });
  };
  const listening = await waitLog((l) => l['msg'] === 'listening', 30_000);
  return {
    child,
    ports: { c2s: listening['c2s'] as number, http: listening['http'] as number },
    dataDir,
    logs,
    lines: rawLines,
    exitCode: () => code,
    waitLog,
    async rss() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
    },
    async stop() {
      if (code === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
