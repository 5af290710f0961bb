import { KeyedQueue } from '../core/keyed-queue.ts';
import type { KV, Store } from './db.ts';
import type { RoomRecord } from '../muc/types.ts';

/** Persistent rooms, keyed by room bare JID. */
export class RoomStore {
  private readonly kv: KV<RoomRecord>;
  /**
   * One write at a time per room: LevelDB runs concurrent writes on several threads, so two
   * saves of one room issued back to back may land in either order, and an older snapshot
   * could overwrite a newer one that was already acknowledged.
   */
  private readonly writes = new KeyedQueue();

  constructor(store: Store) {
    this.kv = store.sub<RoomRecord>('rooms');
  }

  async all(): Promise<RoomRecord[]> {
    const out: RoomRecord[] = [];
    for await (const [, v] of this.kv.range({})) out.push(v);
    return out;
  }

  /** The stored record, after the writes already queued for it. */
  get(jid: string): Promise<RoomRecord | undefined> {
    return this.writes.run(jid, () => this.kv.get(jid).then((r) => r ?? undefined));
  }

  /** Writes the record as it is when its turn comes (so a later change is never undone). */
  save(room: RoomRecord): Promise<void> {
    return this.writes.run(room.jid, () => this.kv.put(room.jid, room));
  }

  delete(jid: string): Promise<void> {
    return this.writes.run(jid, () => this.kv.del(jid));
  }
}
