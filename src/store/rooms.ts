import type { KV, Store } from './db.ts';
import type { RoomRecord } from '../muc/types.ts';

/** Persistent rooms, keyed by room bare JID. */
export class RoomStore {
  private readonly kv: KV<RoomRecord>;

  constructor(store: Store) {
    this.kv = store.sub<RoomRecord>('rooms');
  }

  async all(): Promise<RoomRecord[]> {
    const out: RoomRecord[] = [];
    for await (const [, v] of this.kv.range({})) out.push(v);
    return out;
  }

  save(room: RoomRecord): Promise<void> {
    return this.kv.put(room.jid, room);
  }

  delete(jid: string): Promise<void> {
    return this.kv.del(jid);
  }
}
