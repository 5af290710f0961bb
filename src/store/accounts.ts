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
  /**
   * Names whose creation is under way. Taken synchronously before the first await of `create`
   * and held across the password hashing and the write, so two concurrent creations of one name
   * cannot both see it free (check-then-await-then-act). One AccountStore per process
   * (ServerContext.accounts); the CLI reaches a running server's through its admin socket.
   */
  private readonly creating = new Set<string>();

  constructor(store: Store) {
    this.kv = store.sub<Account>('accounts');
  }

  get(username: string): Promise<Account | undefined> {
    return this.kv.get(username);
  }

  async exists(username: string): Promise<boolean> {
    return (await this.kv.get(username)) !== undefined;
  }

  /**
   * Creates an account if the name is free: put-if-absent. `build` (the password hashing) runs
   * only once the name is claimed. Returns false, and writes nothing, when the name exists or
   * another creation of it is under way.
   */
  async create(username: string, build: () => Promise<Omit<Account, 'username'>>): Promise<boolean> {
    if (this.creating.has(username)) return false;
    this.creating.add(username);
    try {
      if ((await this.kv.get(username)) !== undefined) return false;
      await this.kv.put(username, { username, ...(await build()) });
      return true;
    } finally {
      this.creating.delete(username);
    }
  }

  /** Replaces an existing account's record (password change). New accounts go through `create`. */
  put(account: Account): Promise<void> {
    return this.kv.put(account.username, account);
  }

  /** Rewrites an existing account; false when there is none. */
  async update(username: string, change: (account: Account) => Account): Promise<boolean> {
    const account = await this.get(username);
    if (!account) return false;
    await this.put(change(account));
    return true;
  }

  /** Every account name, in key order. */
  async usernames(): Promise<string[]> {
    const names: string[] = [];
    for await (const [key] of this.kv.range({})) names.push(key);
    return names;
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
