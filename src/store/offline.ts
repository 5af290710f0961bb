import { monotonicUlid } from '../core/ulid.ts';
import type { BatchOp, KV, Store } from './db.ts';

export interface OfflineMessage {
  /** The serialized stanza, delay stamp included. */
  stanza: string;
  /** Milliseconds since the epoch when it was stored. */
  stored: number;
}

const SEP = '\u0000';
const ownerRange = (owner: string) => ({ gte: `${owner}${SEP}`, lt: `${owner}\u0001` });

/**
 * Messages kept for accounts with no available resource, keyed `owner NUL ulid`: a range scan
 * per owner yields them oldest first, and the monotonic ULID keeps same-millisecond arrivals in order.
 */
export class OfflineStore {
  private readonly kv: KV<OfflineMessage>;
  private readonly nextId = monotonicUlid();
  /** Count per owner, filled by one scan on first use; all writes go through this instance. */
  private readonly counts = new Map<string, number>();

  constructor(private readonly store: Store) {
    this.kv = store.sub<OfflineMessage>('offline');
  }

  async count(owner: string): Promise<number> {
    let n = this.counts.get(owner);
    if (n === undefined) {
      n = 0;
      for await (const _ of this.kv.range(ownerRange(owner))) n++;
      this.counts.set(owner, n);
    }
    return n;
  }

  /** Stores one message durably (the sender is not told of a failure after this resolves). */
  async push(owner: string, stanza: string): Promise<void> {
    const n = await this.count(owner);
    await this.kv.put(`${owner}${SEP}${this.nextId()}`, { stanza, stored: Date.now() });
    this.counts.set(owner, n + 1);
  }

  /** The owner's messages, oldest first, with the keys to delete them once delivered. */
  async list(owner: string): Promise<{ key: string; message: OfflineMessage }[]> {
    const out: { key: string; message: OfflineMessage }[] = [];
    for await (const [key, message] of this.kv.range(ownerRange(owner))) out.push({ key, message });
    return out;
  }

  /** Drops the cached count of an owner whose messages another instance deleted. */
  forget(owner: string): void {
    this.counts.delete(owner);
  }

  /** The deletions of everything of an owner, for one atomic account-deletion batch. */
  async deleteOwnerOps(owner: string): Promise<BatchOp[]> {
    this.counts.delete(owner);
    return (await this.list(owner)).map((m) => this.kv.batchDel(m.key));
  }

  async remove(owner: string, keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.store.batch(keys.map((k) => this.kv.batchDel(k)));
    // Forget the count rather than trust arithmetic on keys that may have been gone already.
    this.counts.delete(owner);
  }
}
