import { removeAccount } from '../admin/accounts.ts';
import { AccountStore } from '../store/accounts.ts';
import { accountOf, resolveConfig, viaServerOrStore, type ConfigOptions } from './common.ts';

/** `mucpush deluser JID`: on the running server (its sessions end), or in the stopped server's database. */
export async function deleteUser(jidArg: string, opts: ConfigOptions): Promise<void> {
  const { config } = await resolveConfig(opts);
  const { username, jid } = accountOf(config, jidArg);
  await viaServerOrStore(config, { op: 'deluser', args: { jid } }, (store) => removeAccount(store, new AccountStore(store), username, jid));
  process.stdout.write(`deleted ${jid}\n`);
}
