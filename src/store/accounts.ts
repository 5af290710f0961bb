import type { BatchOp, KV, Store } from './db.ts';
import type { StoredCredentials } from '../stream/sasl/credentials.ts';

export interface Account {
  username: string;
  credentials: StoredCredentials;
  created: number;
}

/** Accounts of the served domain, keyed by normalized localpart. */
export class AccountStore {
  private readonly kv: KV<Account>;
  /** Writes under way per username: a create or update waits for the one before it. */
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(store: Store) {
    this.kv = store.sub<Account>('accounts');
  }

  get(username: string): Promise<Account | undefined> {
    return this.kv.get(username);
  }

  async exists(username: string): Promise<boolean> {
    return (await this.kv.get(username)) !== undefined;
  }

  put(account: Account): Promise<void> {
    return this.kv.put(account.username, account);
  }

  /** Creates the account unless the name is taken; false when it is (checked and written as one step). */
  create(account: Account): Promise<boolean> {
    return this.exclusive(account.username, async () => {
      if (await this.exists(account.username)) return false;
      await this.put(account);
      return true;
    });
  }

  /** Rewrites an existing account; false when there is none. */
  update(username: string, change: (account: Account) => Account): Promise<boolean> {
    return this.exclusive(username, async () => {
      const account = await this.get(username);
      if (!account) return false;
      await this.put(change(account));
      return true;
    });
  }

  /** Every account name, in key order. */
  async usernames(): Promise<string[]> {
    const names: string[] = [];
    for await (const [key] of this.kv.range({})) names.push(key);
    return names;
  }

  /** Runs `fn` after every earlier exclusive write for `username`, so a read and its write cannot interleave with another's. */
  private exclusive<T>(username: string, fn: () => Promise<T>): Promise<T> {
    const before = this.pending.get(username) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const settled = run.catch(() => {});
    this.pending.set(username, settled);
    void settled.then(() => {
      if (this.pending.get(username) === settled) this.pending.delete(username);
    });
    return run;
  }

  /** The account record's deletion, for the one atomic account-deletion batch. */
  deleteOp(username: string): BatchOp {
    return this.kv.batchDel(username);
  }

  async count(): Promise<number> {
    let n = 0;
    for await (const _ of this.kv.range({})) n++;
    return n;
  }
}
