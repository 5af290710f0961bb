import { deriveCredentials } from '../stream/sasl/credentials.ts';
import { AccountStore } from '../store/accounts.ts';
import { accountOf, readPassword, resolveConfig, UserError, withStore, type ConfigOptions } from './common.ts';

export interface PasswordOptions extends ConfigOptions {
  password?: string;
}

/** Derives SCRAM credentials, turning a SASLprep rejection into a user error. */
export async function credentialsFor(password: string): ReturnType<typeof deriveCredentials> {
  try {
    return await deriveCredentials(password);
  } catch (err) {
    throw new UserError(`the password is not allowed (${(err as Error).message})`);
  }
}

/** Reads the password (flag or stdin) before any store is opened, and derives its credentials. */
export async function readCredentials(opts: PasswordOptions): ReturnType<typeof deriveCredentials> {
  return credentialsFor(await readPassword(opts.password));
}

/** `mucpush adduser JID [--password P]` */
export async function addUser(jidArg: string, opts: PasswordOptions): Promise<void> {
  const { config } = await resolveConfig(opts);
  const { username, jid } = accountOf(config, jidArg);
  const credentials = await readCredentials(opts);
  await withStore(config, async (store) => {
    const accounts = new AccountStore(store);
    const created = await accounts.create(username, async () => ({ credentials, created: Date.now() }));
    if (!created) throw new UserError(`${jid} already exists (use passwd to change its password)`);
  });
  process.stdout.write(`added ${jid}\n`);
}
