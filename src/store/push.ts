import type { BatchOp, KV, Store } from './db.ts';

/**
 * Where a push registration applies: the whole MUC service (`muc:<domain>`, what Converse
 * registers), one room (`room:<room bare JID>`), or the user's own account (`account`).
 */
export type PushScope = `muc:${string}` | `room:${string}` | 'account';

/** One XEP-0357 registration: a device (app server + node) of a user, for one scope. */
export interface PushRegistrationRecord {
  /** The user's bare JID. */
  user: string;
  scope: PushScope;
  /** The app server JID. */
  jid: string;
  node: string;
  /** The publish-options data form exactly as the client sent it (serialized), or null. */
  form: string | null;
  /** Milliseconds since the epoch; the oldest are dropped first beyond the device limit. */
  created: number;
  /** Consecutive errors from the app server (a result resets it). */
  errors: number;
}

const SEP = '\u0000';

export function pushKey(r: Pick<PushRegistrationRecord, 'user' | 'scope' | 'jid' | 'node'>): string {
  return [r.user, r.scope, r.jid, r.node].join(SEP);
}

/** Push registrations in LevelDB, keyed `user NUL scope NUL appserver NUL node`. */
export class PushStore {
  private readonly kv: KV<PushRegistrationRecord>;

  constructor(store: Store) {
    this.kv = store.sub<PushRegistrationRecord>('push');
  }

  async all(): Promise<PushRegistrationRecord[]> {
    const out: PushRegistrationRecord[] = [];
    for await (const [, v] of this.kv.range({})) out.push(v);
    return out;
  }

  save(r: PushRegistrationRecord): Promise<void> {
    return this.kv.put(pushKey(r), r);
  }

  delete(r: PushRegistrationRecord): Promise<void> {
    return this.kv.del(pushKey(r));
  }

  /** The deletions of every registration of a user, for one atomic account-deletion batch. */
  deleteUserOps(user: string): Promise<BatchOp[]> {
    return this.kv.batchDelRange({ gt: `${user}${SEP}`, lt: `${user}${SEP}\uffff` });
  }
}

/**
 * A node of the built-in app server: the account of this server that claimed it (its
 * `<enable/>` named this app server), or else the SHA-256 of the secret it was first published
 * with (by another server, for its own user).
 */
export interface AppServerNodeRecord {
  secretHash: string | null;
  created: number;
  /** Bare JID of the local account the node belongs to; absent or null when unclaimed. */
  owner?: string | null;
}

/** Node secrets of the built-in app server, so a restart does not open a protected node. */
export class AppServerNodeStore {
  private readonly kv: KV<AppServerNodeRecord>;

  constructor(store: Store) {
    this.kv = store.sub<AppServerNodeRecord>('appserver-nodes');
  }

  async all(): Promise<Map<string, AppServerNodeRecord>> {
    const out = new Map<string, AppServerNodeRecord>();
    for await (const [k, v] of this.kv.range({})) out.set(k, v);
    return out;
  }

  save(node: string, value: AppServerNodeRecord): Promise<void> {
    return this.kv.put(node, value);
  }
}
