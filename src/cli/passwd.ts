import { AccountStore } from '../store/accounts.ts';
import { readCredentials, type PasswordOptions } from './adduser.ts';
import { accountOf, resolveConfig, UserError, withStore } from './common.ts';

/** `mucpush passwd JID [--password P]` */
export async function changePassword(jidArg: string, opts: PasswordOptions): Promise<void> {
  const { config } = await resolveConfig(opts);
  const { username, jid } = accountOf(config, jidArg);
  // Read the password before opening the store: the database stays locked for as short a time as possible.
  const credentials = await readCredentials(opts);
  await withStore(config, async (store) => {
    const accounts = new AccountStore(store);
    const account = await accounts.get(username);
    if (!account) throw new UserError(`${jid} does not exist`);
    await accounts.put({ ...account, credentials });
  });
  process.stdout.write(`changed the password of ${jid}\n`);
}
