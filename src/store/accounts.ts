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
