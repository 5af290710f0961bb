import { listAccounts } from '../admin/accounts.ts';
import { adminRequest } from '../admin/client.ts';
import type { ReloadResult } from '../admin/reload.ts';
import type { RoomInfo, SessionInfo } from '../admin/service.ts';
import { AccountStore } from '../store/accounts.ts';
import { resolveConfig, viaServerOrStore, type ConfigOptions } from './common.ts';

/** The admin commands that act on a running server (and `users`, which also reads a stopped one). */

export interface ListOptions extends ConfigOptions {
  json?: boolean;
}

export interface ReasonOptions extends ConfigOptions {
  reason?: string;
}

const print = (lines: string[]): void => void process.stdout.write(lines.map((l) => `${l}\n`).join(''));

/** Rows as columns padded to their widest cell. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '));
}

async function running(opts: ConfigOptions, op: string, args: Record<string, unknown> = {}): Promise<unknown> {
  const { config } = await resolveConfig(opts);
  return adminRequest(config.dataDir, { op, args });
}

/** `mucpush users`: every account's bare JID, one a line. */
export async function users(opts: ListOptions): Promise<void> {
  const { config } = await resolveConfig(opts);
  const list = await viaServerOrStore(config, { op: 'users' }, (store) => listAccounts(new AccountStore(store), config.domain));
  if (opts.json) print([JSON.stringify(list)]);
  else print(list);
}

/** `mucpush sessions`: the bound resources (full JID, transport, address, since, stream management). */
export async function sessions(opts: ListOptions): Promise<void> {
  const list = (await running(opts, 'sessions')) as SessionInfo[];
  if (opts.json) return print([JSON.stringify(list)]);
  if (list.length === 0) return print(['no sessions']);
  print(table([['JID', 'TRANSPORT', 'ADDRESS', 'SINCE', 'SM'], ...list.map((s) => [s.jid, s.transport ?? '-', s.address ?? '-', s.since, s.sm])]));
}

/** `mucpush rooms`: each room with its occupants (nick, role, affiliation, real JIDs). */
export async function rooms(opts: ListOptions): Promise<void> {
  const list = (await running(opts, 'rooms')) as RoomInfo[];
  if (opts.json) return print([JSON.stringify(list)]);
  if (list.length === 0) return print(['no rooms']);
  const lines: string[] = [];
  for (const r of list) {
    const flags = [r.persistent ? 'persistent' : 'temporary', ...(r.locked ? ['locked'] : [])].join(', ');
    lines.push(`${r.jid}${r.name ? ` "${r.name}"` : ''} (${flags}): ${r.occupants.length} occupant${r.occupants.length === 1 ? '' : 's'}`);
    for (const o of r.occupants) lines.push(`  ${o.nick}  ${o.role}  ${o.affiliation}  ${o.jids.join(' ')}`);
  }
  print(lines);
}

/** `mucpush destroy-room ROOM [--reason R]` */
export async function destroyRoom(room: string, opts: ReasonOptions): Promise<void> {
  const jid = await running(opts, 'destroy-room', { room, ...(opts.reason !== undefined ? { reason: opts.reason } : {}) });
  print([`destroyed ${String(jid)}`]);
}

/** `mucpush kick ROOM NICK [--reason R]` */
export async function kick(room: string, nick: string, opts: ReasonOptions): Promise<void> {
  const occupant = await running(opts, 'kick', { room, nick, ...(opts.reason !== undefined ? { reason: opts.reason } : {}) });
  print([`kicked ${String(occupant)}`]);
}

/** `mucpush reload`: the same as SIGHUP; prints what applied and what needs a restart. */
export async function reload(opts: ConfigOptions): Promise<void> {
  const r = (await running(opts, 'reload')) as ReloadResult;
  print([
    `reloaded: ${r.applied.length > 0 ? `applied ${r.applied.join(', ')}` : 'no live setting changed'}`,
    ...(r.needsRestart.length > 0 ? [`needs a restart (running value kept): ${r.needsRestart.join(', ')}`] : []),
  ]);
}
