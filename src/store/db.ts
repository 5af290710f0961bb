import { Level } from 'level';

/** Sublevel handle with JSON values; callers never see LevelDB types. */
export interface KV<V> {
  get(key: string): Promise<V | undefined>;
  put(key: string, value: V): Promise<void>;
  del(key: string): Promise<void>;
  /** Entries with keys in [gte, lt), in key order (reverse when asked). */
  range(opts: { gte?: string; gt?: string; lt?: string; lte?: string; limit?: number; reverse?: boolean }): AsyncIterable<[string, V]>;
  /** Queues writes to be committed atomically with the next `Store.flush` or batch. */
  batchPut(key: string, value: V): BatchOp;
  batchDel(key: string): BatchOp;
}

export interface BatchOp {
  readonly op: unknown;
}

/** The embedded database: one sublevel per kind of data. */
export class Store {
  private readonly db: Level<string, unknown>;

  private constructor(db: Level<string, unknown>) {
    this.db = db;
  }

  static async open(dir: string): Promise<Store> {
    const db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
    try {
      await db.open();
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause?.message ?? (err as Error).message;
      if (/lock/i.test(cause)) {
        throw new Error(`the database in ${dir} is in use by another process (is the server running? stop it first)`);
      }
      throw new Error(`cannot open the database in ${dir}: ${cause}`);
    }
    return new Store(db);
  }

  sub<V>(name: string): KV<V> {
    const s = this.db.sublevel<string, V>(name, { valueEncoding: 'json' });
    // Batch operations address the root database with the sublevel's key prefix and the value
    // already JSON-encoded: the same bytes the sublevel writes, without abstract-level
    // delegating, re-encoding and re-prefixing each operation through the sublevel.
    const prefix = s.prefix;
    return {
      get: (key) => s.get(key),
      put: (key, value) => s.put(key, value, { sync: true } as never),
      del: (key) => s.del(key, { sync: true } as never),
      range: (opts) => s.iterator(opts as never) as AsyncIterable<[string, V]>,
      batchPut: (key, value) => ({ op: { type: 'put', key: prefix + key, value: JSON.stringify(value), valueEncoding: 'utf8' } }),
      batchDel: (key) => ({ op: { type: 'del', key: prefix + key } }),
    };
  }

  /** Commits the operations atomically and durably (fsync). */
  async batch(ops: BatchOp[]): Promise<void> {
    if (ops.length === 0) return;
    await this.db.batch(ops.map((o) => o.op) as never, syncOption());
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/**
 * `{ sync: true }` for `batch`, with `sync` not enumerable. abstract-level clones every
 * operation as `{ ...options, ...op }`; with an enumerable property in `options` V8 takes a
 * slow path there (several microseconds an operation, most of an archive write's cost), with
 * none it does not. classic-level reads the option by name (`fdatasync` per batch as before).
 */
function syncOption(): { sync: boolean } {
  return Object.defineProperty({}, 'sync', { value: true, enumerable: false }) as { sync: boolean };
}
