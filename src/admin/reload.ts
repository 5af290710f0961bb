import type { Config } from '../config/types.ts';
import type { Logger } from '../core/logger.ts';

/**
 * Config keys a running server applies on reload (SIGHUP, `mucpush reload`). The server reads
 * these from `ctx.config` where it uses them (new connections, each registration, each push),
 * and the few that were copied at start read through getters (address limits, push devices,
 * webhooks, MUC admins); the log level is set on the logger here. Every other key (ports,
 * hosts, domains, dataDir, tls, muc, stream management, ping) is bound at start: a change is
 * logged as "needs a restart" and left as it is. docs/configuration.md lists the same.
 */
const LIVE: readonly string[] = [
  'admins',
  'contactAddresses.',
  'log.level',
  'registration.',
  'limits.',
  'push.',
  'appServer.keepPerNode',
  'appServer.webhook',
  'appServer.nodeWebhooks',
];

const isLive = (path: string) => LIVE.some((k) => (k.endsWith('.') ? path.startsWith(k) : path === k));

export interface ReloadResult {
  /** Keys whose new value now applies. */
  applied: string[];
  /** Keys that changed in the file but keep their running value until a restart. */
  needsRestart: string[];
}

/** Leaf paths of a config: objects are walked, arrays and records of URLs compared whole. */
function leaves(value: unknown, path: string, out: Map<string, unknown>): Map<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && path !== 'appServer.nodeWebhooks') {
    for (const [k, v] of Object.entries(value)) leaves(v, path ? `${path}.${k}` : k, out);
  } else {
    out.set(path, value);
  }
  return out;
}

/**
 * Applies the live keys of `next` to `running` IN PLACE (the section objects stay the same, so
 * whoever holds `ctx.config.limits` sees the change) and reports the rest.
 */
export function applyReload(running: Config, next: Config, log: Logger): ReloadResult {
  const before = leaves(running, '', new Map());
  const after = leaves(next, '', new Map());
  const result: ReloadResult = { applied: [], needsRestart: [] };
  for (const [path, value] of after) {
    if (JSON.stringify(before.get(path)) === JSON.stringify(value)) continue;
    if (!isLive(path)) {
      result.needsRestart.push(path);
      continue;
    }
    const keys = path.split('.');
    let parent = running as unknown as Record<string, unknown>;
    for (const k of keys.slice(0, -1)) parent = parent[k] as Record<string, unknown>;
    parent[keys.at(-1)!] = structuredClone(value);
    result.applied.push(path);
  }
  log.level = running.log.level;
  for (const key of result.needsRestart) log.warn({ key }, `config reload: ${key} changed but needs a restart; the running value stays`);
  log.info({ applied: result.applied, needsRestart: result.needsRestart }, 'configuration reloaded');
  return result;
}
