import { Level } from 'level';
import { StanzaError } from '../xml/errors.ts';

/** Sublevel handle with JSON values; callers never see LevelDB types. */
export interface KV<V> {
  get(key: string): Promise<V | undefined>;
  put(key: string, value: V): Promise<void>;
  del(key: string): Promise<void>;
  /** Entries with keys in [gte, lt), in key order (reverse when asked). */
  range(opts: RangeOpts): AsyncIterable<[string, V]>;
  /** Queues writes to be committed atomically with the next `Store.flush` or batch. */
  batchPut(key: string, value: V): BatchOp;
  batchDel(key: string): BatchOp;
  /** The deletions of every key in a range, to be committed in one batch. */
  batchDelRange(opts: RangeOpts): Promise<BatchOp[]>;
}

type RangeOpts = { gte?: string; gt?: string; lt?: string; lte?: string; limit?: number; reverse?: boolean };

export interface BatchOp {
  readonly op: unknown;
}

/**
 * A write the store refused or could not make durable (disk full, I/O error, recovering).
 * A StanzaError, so every handler that passes StanzaErrors through answers `wait`/`resource-constraint`.
 */
export class StoreUnavailableError extends StanzaError {
  constructor(cause?: unknown) {
    super('resource-constraint', 'storage is temporarily unavailable; try again later', 'wait');
    this.cause = cause;
  }
}

export interface StoreOptions {
  /** Called on every failure and recovery (the server logs them). */
  onStateChange?: (state: 'failed' | 'open', err?: unknown) => void;
  /** Milliseconds between recovery attempts after a failed write. */
  retryMs?: number;
}

type Sub = { open(): Promise<void> };

/**
 * The embedded database: one sublevel per kind of data.
 *
 * Once LevelDB has failed a write (disk full, I/O error) its log may end in a torn record, and
 * LevelDB drops what follows it on the next open: writes it would still accept are not safe to
 * acknowledge. So the first failed write puts the store in the `failed` state: every write is
 * refused with `StoreUnavailableError` until the database has been closed and reopened (which
 * replays the log into a table and starts a fresh log) and a synced probe write succeeds.
 */
export class Store {
  private readonly db: Level<string, unknown>;
  private readonly subs: Sub[] = [];
  /** One handle per sublevel name, however many stores ask for it. */
  private readonly kvs = new Map<string, KV<unknown>>();
  private state: 'open' | 'failed' | 'closed' = 'open';
  /** Set while the database is closed for a reopen: reads wait for it. */
  private reopening: Promise<void> | null = null;
  private retry: NodeJS.Timeout | null = null;

  private constructor(
    db: Level<string, unknown>,
    private readonly dir: string,
    private readonly opts: StoreOptions,
  ) {
    this.db = db;
  }

  static async open(dir: string, opts: StoreOptions = {}): Promise<Store> {
    const db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
    await openDb(db, dir);
    return new Store(db, dir, opts);
  }

  /** False while writes are refused after a failure. */
  get writable(): boolean {
    return this.state === 'open';
  }

  sub<V>(name: string): KV<V> {
    let kv = this.kvs.get(name);
    if (!kv) this.kvs.set(name, (kv = this.makeSub<unknown>(name)));
    return kv as KV<V>;
  }

  private makeSub<V>(name: string): KV<V> {
    const s = this.db.sublevel<string, V>(name, { valueEncoding: 'json' });
    this.subs.push(s);
    // Batch operations address the root database with the sublevel's key prefix and the value
    // already JSON-encoded: the same bytes the sublevel writes, without abstract-level
    // delegating, re-encoding and re-prefixing each operation through the sublevel.
    const prefix = s.prefix;
    const batchDel = (key: string): BatchOp => ({ op: { type: 'del', key: prefix + key } });
    const range = (opts: RangeOpts) => this.iterate<V>(s, opts);
    return {
      get: async (key) => {
        if (this.reopening) await this.reopening;
        return s.get(key);
      },
      put: (key, value) => this.write(() => s.put(key, value, { sync: true } as never)),
      del: (key) => this.write(() => s.del(key, { sync: true } as never)),
      range,
      batchPut: (key, value) => ({ op: { type: 'put', key: prefix + key, value: JSON.stringify(value), valueEncoding: 'utf8' } }),
      batchDel,
      batchDelRange: async (opts) => {
        const ops: BatchOp[] = [];
        for await (const [key] of range(opts)) ops.push(batchDel(key));
        return ops;
      },
    };
  }

  private async *iterate<V>(s: { iterator(o: never): AsyncIterable<[string, V]> }, opts: object): AsyncIterable<[string, V]> {
    if (this.reopening) await this.reopening;
    yield* s.iterator(opts as never);
  }

  /** Commits the operations atomically and durably (fsync). */
  async batch(ops: BatchOp[]): Promise<void> {
    if (ops.length === 0) return;
    await this.write(() => this.db.batch(ops.map((o) => o.op) as never, syncOption()));
  }

  private async write(fn: () => Promise<void>): Promise<void> {
    if (this.state !== 'open') throw new StoreUnavailableError();
    try {
      await fn();
    } catch (err) {
      if ((this.state as string) === 'closed') throw err;
      this.fail(err);
      throw new StoreUnavailableError(err);
    }
  }

  private fail(err: unknown): void {
    if (this.state !== 'open') return;
    this.state = 'failed';
    this.opts.onStateChange?.('failed', err);
    this.scheduleRecovery();
  }

  private scheduleRecovery(): void {
    if (this.retry || this.state === 'closed') return;
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.recover();
    }, this.opts.retryMs ?? 2000);
    this.retry.unref();
  }

  /** Closes and reopens the database, then proves a synced write works. */
  private async recover(): Promise<void> {
    if (this.state !== 'failed' || this.reopening) return;
    let done!: () => void;
    this.reopening = new Promise<void>((r) => (done = r));
    try {
      await this.db.close();
      await openDb(this.db, this.dir);
      for (const s of this.subs) await s.open();
      await this.db.put('\xffprobe', Date.now(), { sync: true } as never);
      await this.db.del('\xffprobe', { sync: true } as never);
      if (this.state === 'failed') {
        this.state = 'open';
        this.opts.onStateChange?.('open');
      }
    } catch (err) {
      this.opts.onStateChange?.('failed', err);
      this.scheduleRecovery();
    } finally {
      this.reopening = null;
      done();
    }
  }

  async close(): Promise<void> {
    this.state = 'closed';
    if (this.retry) clearTimeout(this.retry);
    if (this.reopening) await this.reopening;
    await this.db.close();
  }
}

async function openDb(db: Level<string, unknown>, dir: string): Promise<void> {
  try {
    await db.open();
  } catch (err) {
    const inner = (err as { cause?: { code?: string; message?: string } }).cause;
    const cause = inner?.message ?? (err as Error).message;
    // Only LEVEL_LOCKED means another holder of the LOCK file; any other failure on that file
    // (read-only file system, permission denied, LOCK not a file) is reported as it is.
    if (inner?.code === 'LEVEL_LOCKED') {
      // A running server is reached through its admin socket before this; here the holder has none
      // (a server still starting, another mucpush command).
      throw new Error(`the database in ${dir} is in use by another process (a server still starting, or another mucpush command?): try again`);
    }
    throw new Error(`cannot open the database in ${dir}: ${cause}`);
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
