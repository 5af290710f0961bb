import { AccountStore } from '../store/accounts.ts';
import { deleteAccount } from '../store/account-data.ts';
import { accountOf, resolveConfig, UserError, withStore, type ConfigOptions } from './common.ts';

/** `mucpush deluser JID` */
export async function deleteUser(jidArg: string, opts: ConfigOptions): Promise<void> {
  const { config } = await resolveConfig(opts);
  const { username, jid } = accountOf(config, jidArg);
  await withStore(config, async (store) => {
    const accounts = new AccountStore(store);
    if (!(await accounts.exists(username))) throw new UserError(`${jid} does not exist`);
    await deleteAccount(store, username, jid);
  });
  process.stdout.write(`deleted ${jid}\n`);
}
