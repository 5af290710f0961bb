import { changeAccountPassword } from '../admin/accounts.ts';
import { AccountStore } from '../store/accounts.ts';
import type { PasswordOptions } from './adduser.ts';
import { accountOf, readPassword, resolveConfig, viaServerOrStore } from './common.ts';

/** `mucpush passwd JID [--password P]`: on the running server, or in the stopped server's database. */
export async function changePassword(jidArg: string, opts: PasswordOptions): Promise<void> {
  const { config } = await resolveConfig(opts);
  const { username, jid } = accountOf(config, jidArg);
  const password = await readPassword(opts.password);
  await viaServerOrStore(config, { op: 'passwd', args: { jid, password } }, (store) => changeAccountPassword(new AccountStore(store), username, jid, password));
  process.stdout.write(`changed the password of ${jid}\n`);
}
