import { addAccount } from '../admin/accounts.ts';
import { AccountStore } from '../store/accounts.ts';
import { accountOf, readPassword, resolveConfig, viaServerOrStore, type ConfigOptions } from './common.ts';

export interface PasswordOptions extends ConfigOptions {
  password?: string;
}

/** `mucpush adduser JID [--password P]`: on the running server, or in the stopped server's database. */
export async function addUser(jidArg: string, opts: PasswordOptions): Promise<void> {
  const { config } = await resolveConfig(opts);
  const { username, jid } = accountOf(config, jidArg);
  // Read before any store is opened: the database stays locked for as short a time as possible.
  const password = await readPassword(opts.password);
  await viaServerOrStore(config, { op: 'adduser', args: { jid, password } }, (store) => addAccount(new AccountStore(store), username, jid, password));
  process.stdout.write(`added ${jid}\n`);
}
