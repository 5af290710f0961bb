/**
 * mucpush benchmark suite: `npm run bench -- [scenario...] [options]`.
 * See bench/README.md. Each scenario prints one JSON line on stdout and appends a row to
 * bench/RESULTS.md; progress goes to stderr.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Target } from './lib/client.ts';
import { benchConfig, ChildServer, REPO_ROOT } from './lib/server.ts';
import { appendResult, RESULTS_FILE } from './lib/util.ts';
import type { Scenario } from './scenarios/context.ts';
import { fanout } from './scenarios/fanout.ts';
import { idle } from './scenarios/idle.ts';
import { joins } from './scenarios/joins.ts';
import { push, Skip } from './scenarios/push.ts';
import { rooms } from './scenarios/rooms.ts';
import { delivery } from './scenarios/delivery.ts';
import { storedRooms } from './scenarios/stored-rooms.ts';

const SCENARIOS: Scenario[] = [fanout, rooms, delivery, storedRooms, joins, idle, push];

const USAGE = `usage: node --import tsx bench/run.ts [scenario...] [options]

scenarios: ${SCENARIOS.map((s) => s.name).join(', ')} (default: all, in that order)
${SCENARIOS.map((s) => `  ${s.name.padEnd(7)} ${s.describe}`).join('\n')}

target (default: start mucpush in a child process with a temporary data folder):
  --host H --port P --domain D   an already running XMPP server (loopback only)
  --muc DOMAIN                   its MUC service (default conference.D)
  --push-jid JID                 XEP-0357 app server (default push.D)
  --http-port N                  its HTTP port (push scenario)
  --pid N                        its process id, to read RSS and CPU from /proc
  --server-name NAME             label in RESULTS.md (default host:port)
options:
  --cpu-prof DIR                 run the mucpush child with node --cpu-prof, profiles in DIR
  --no-results                   do not append to bench/RESULTS.md
  --scenario-timeout S           abort a scenario after S seconds (default 600)
  --warmup S --duration S        measurement windows (default 3 and 10)
  and the numeric options each scenario lists above`;

interface Args {
  scenarios: Scenario[];
  str: Map<string, string>;
  num: Map<string, number>;
  flags: Set<string>;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { scenarios: [], str: new Map(), num: new Map(), flags: new Set() };
  const strings = new Set(['host', 'domain', 'muc', 'push-jid', 'server-name', 'cpu-prof']);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    if (arg === '--no-results') {
      a.flags.add('no-results');
      continue;
    }
    if (arg.startsWith('--')) {
      const name = arg.slice(2);
      const value = argv[++i];
      if (value === undefined) throw new Error(`${arg} needs a value\n\n${USAGE}`);
      if (strings.has(name)) a.str.set(name, value);
      else {
        const n = Number(value);
        if (!Number.isFinite(n)) throw new Error(`${arg} must be a number (got ${value})`);
        a.num.set(name, n);
      }
      continue;
    }
    const s = SCENARIOS.find((x) => x.name === arg);
    if (!s) throw new Error(`unknown scenario ${arg}\n\n${USAGE}`);
    a.scenarios.push(s);
  }
  if (a.scenarios.length === 0) a.scenarios = [...SCENARIOS];
  return a;
}

function gitLabel(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim() ? '+dirty' : '';
    return `mucpush ${sha}${dirty}`;
  } catch {
    return 'mucpush';
  }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const external = args.str.has('host') || args.num.has('port');
  const host = args.str.get('host') ?? '127.0.0.1';
  if (!LOOPBACK.test(host)) throw new Error(`--host must be a loopback address (got ${host})`);
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  const command = `node --import tsx bench/run.ts ${process.argv.slice(2).map(quote).join(' ')}`.trim();
  const profDir = args.str.get('cpu-prof');
  if (profDir) mkdirSync(profDir, { recursive: true });
  const timeoutS = args.num.get('scenario-timeout') ?? 600;
  let failures = 0;

  for (const scenario of args.scenarios) {
    const log = (msg: string) => process.stderr.write(`[${scenario.name}] ${msg}\n`);
    let server: ChildServer | null = null;
    let profRun: string | null = null;
    let target: Target;
    let label: string;
    if (external) {
      const domain = args.str.get('domain') ?? 'localhost';
      const port = args.num.get('port');
      if (!port) throw new Error('--port is required with --host');
      target = {
        host,
        port,
        domain,
        muc: args.str.get('muc') ?? `conference.${domain}`,
        pushJid: args.str.get('push-jid') ?? `push.${domain}`,
        httpPort: args.num.get('http-port') ?? null,
      };
      label = args.str.get('server-name') ?? `${host}:${port}`;
    } else {
      // One folder per run: tsx's loader thread writes a profile of its own beside the main thread's.
      profRun = profDir ? path.resolve(profDir, `${scenario.name}-${Date.now()}`) : null;
      server = await ChildServer.start({
        config: benchConfig(scenario.config),
        nodeArgs: profRun ? ['--cpu-prof', '--cpu-prof-dir', profRun] : [],
      });
      log(`mucpush child pid ${server.pid}, c2s ${server.c2s}, http ${server.http}`);
      target = { host: '127.0.0.1', port: server.c2s, domain: 'localhost', muc: 'conference.localhost', pushJid: 'push.localhost', httpPort: server.http };
      label = gitLabel();
    }
    const pid = server?.pid ?? args.num.get('pid') ?? null;
    const opt = (name: string, fallback: number) => args.num.get(name) ?? fallback;
    let line: Record<string, unknown>;
    // Other work on the machine skews every figure: record the load average at the start.
    const load1 = Math.round(os.loadavg()[0]! * 10) / 10;
    let timer: NodeJS.Timeout | undefined;
    try {
      const figures = await Promise.race([
        scenario.run({ target, server, pid, opt, log }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`scenario took longer than ${timeoutS} s (--scenario-timeout)`)), timeoutS * 1000);
        }),
      ]);
      const all = { ...figures, load1 };
      line = { scenario: scenario.name, server: label, date: new Date().toISOString(), ...all };
      if (!args.flags.has('no-results')) appendResult(RESULTS_FILE, { server: label, scenario: scenario.name, figures: all, command });
    } catch (err) {
      if (err instanceof Skip) {
        log(`skipped: ${err.message}`);
        line = { scenario: scenario.name, server: label, date: new Date().toISOString(), skipped: err.message };
        if (!args.flags.has('no-results')) appendResult(RESULTS_FILE, { server: label, scenario: scenario.name, figures: { skipped: err.message }, command });
      } else {
        failures++;
        const msg = err instanceof Error ? err.message : String(err);
        log(`failed: ${msg}`);
        if (server) log(`server output:\n${server.diagnostics()}`);
        line = { scenario: scenario.name, server: label, date: new Date().toISOString(), error: msg };
      }
    } finally {
      clearTimeout(timer);
    }
    process.stdout.write(`${JSON.stringify(line)}\n`);
    if (server) {
      await server.stop();
      if (profRun) {
        // The main thread's profile is the largest one.
        const main = readdirSync(profRun)
          .filter((f) => f.endsWith('.cpuprofile'))
          .map((f) => path.join(profRun!, f))
          .sort((x, y) => statSync(y).size - statSync(x).size)[0];
        if (main) log(`CPU profile: ${main} (summary: node --import tsx bench/profile-top.ts ${main})`);
      }
    }
  }
  return failures ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
