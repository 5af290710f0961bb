import type { BatchOp, KV, Store } from './db.ts';

export type Subscription = 'none' | 'to' | 'from' | 'both';

/** One contact in a user's roster (RFC 6121 2.1.2). */
export interface RosterItem {
  /** The contact's bare JID. */
  jid: string;
  name?: string;
  subscription: Subscription;
  /** The user asked for the contact's presence and has no answer yet ("Pending Out"). */
  ask?: boolean;
  groups: string[];
}

/** Everything kept for one user: roster items, and subscription requests awaiting an answer. */
export interface RosterData {
  items: Map<string, RosterItem>;
  /** "Pending In" (RFC 6121 3.1.3): contact bare JID to the serialized subscribe stanza. */
  pending: Map<string, string>;
}

/** A change to write atomically: several items and requests may change in one step. */
export interface RosterChange {
  put?: RosterItem[];
  del?: string[];
  pendingPut?: [contact: string, stanza: string][];
  pendingDel?: string[];
}

// Keys are `owner NUL contact`: NUL cannot occur in a JID, so one range scan per owner
// returns exactly that owner's records.
const SEP = '\u0000';
const key = (owner: string, contact: string) => `${owner}${SEP}${contact}`;
const ownerRange = (owner: string) => ({ gte: `${owner}${SEP}`, lt: `${owner}\u0001` });

/**
 * Rosters in two sublevels, one record per item and one per pending inbound request, so a
 * subscription change rewrites one small record rather than the whole roster.
 */
export class RosterStore {
  private readonly items: KV<RosterItem>;
  private readonly pending: KV<string>;

  constructor(private readonly store: Store) {
    this.items = store.sub<RosterItem>('rosters');
    this.pending = store.sub<string>('roster-pending');
  }

  /** The owner (an account's localpart) and all their contacts. */
  async load(owner: string): Promise<RosterData> {
    const data: RosterData = { items: new Map(), pending: new Map() };
    for await (const [, item] of this.items.range(ownerRange(owner))) data.items.set(item.jid, item);
    for await (const [k, stanza] of this.pending.range(ownerRange(owner))) data.pending.set(k.slice(owner.length + 1), stanza);
    return data;
  }

  /** Commits a change durably; the caller applies it to its in-memory copy afterwards. */
  async apply(owner: string, change: RosterChange): Promise<void> {
    const ops: BatchOp[] = [];
    for (const item of change.put ?? []) ops.push(this.items.batchPut(key(owner, item.jid), item));
    for (const jid of change.del ?? []) ops.push(this.items.batchDel(key(owner, jid)));
    for (const [jid, stanza] of change.pendingPut ?? []) ops.push(this.pending.batchPut(key(owner, jid), stanza));
    for (const jid of change.pendingDel ?? []) ops.push(this.pending.batchDel(key(owner, jid)));
    await this.store.batch(ops);
  }

  /** The deletions of everything of an owner, for one atomic account-deletion batch. */
  async deleteOwnerOps(owner: string): Promise<BatchOp[]> {
    return [...(await this.items.batchDelRange(ownerRange(owner))), ...(await this.pending.batchDelRange(ownerRange(owner)))];
  }
}
