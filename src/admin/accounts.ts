import { parseJid, type Jid } from '../core/jid.ts';
import { deriveCredentials, type StoredCredentials } from '../stream/sasl/credentials.ts';
import type { AccountStore } from '../store/accounts.ts';
import { deleteAccount } from '../store/account-data.ts';
import type { Store } from '../store/db.ts';
import { AdminError } from './errors.ts';

/**
 * The account operations shared by every way an admin reaches them: the CLI on a stopped server
 * (its own Store), the admin socket of a running one, and the XEP-0133 ad-hoc commands. One
 * function per operation; what only a running server adds (ending sessions) is passed in.
 */

/**
 * The account key and bare JID named by `input`, which must be on `domain`: its localpart as
 * parsing prepares it (PRECIS, src/core/jid.ts), the same form IBR and SASL use.
 */
export function accountOf(domain: string, input: string): { username: string; jid: string } {
  const jid = parseJid(input);
  if (!jid || !jid.local || jid.resource) {
    throw new AdminError('bad-request', `invalid JID "${input}": expected user@${domain} (a user name without forbidden characters)`);
  }
  if (jid.domain !== domain) throw new AdminError('bad-request', `${jid.bare} is not on this server's domain ${domain} (use --config or --domain)`);
  return { username: jid.local, jid: jid.bare };
}

/** SCRAM credentials for a password, with a SASLprep rejection or an empty password named. */
export async function credentialsFor(password: string): Promise<StoredCredentials> {
  if (password.length === 0) throw new AdminError('not-acceptable', 'the password must not be empty');
  try {
    return await deriveCredentials(password);
  } catch (err) {
    throw new AdminError('not-acceptable', `the password is not allowed (${(err as Error).message})`);
  }
}

export async function addAccount(accounts: AccountStore, username: string, jid: string, password: string): Promise<void> {
  // The name is claimed before the password hashing (AccountStore.create): no two creations of it.
  if (!(await accounts.create(username, async () => ({ credentials: await credentialsFor(password), created: Date.now() })))) {
    throw new AdminError('conflict', `${jid} already exists (use passwd to change its password)`);
  }
}

export async function changeAccountPassword(accounts: AccountStore, username: string, jid: string, password: string): Promise<void> {
  const credentials = await credentialsFor(password);
  if (!(await accounts.update(username, (account) => ({ ...account, credentials })))) throw new AdminError('item-not-found', `${jid} does not exist`);
}

/**
 * Deletes an account with all its data. On a running server `live` then tells the caches and
 * ends the account's sessions (XEP-0133 4.2: deleting a user SHOULD end its sessions).
 */
export async function removeAccount(
  store: Store,
  accounts: AccountStore,
  username: string,
  jid: string,
  live?: (user: Jid) => void,
): Promise<void> {
  if (!(await accounts.exists(username))) throw new AdminError('item-not-found', `${jid} does not exist`);
  await deleteAccount(store, username, jid);
  live?.(parseJid(jid)!);
}

/** Bare JIDs of every account, in key order. */
export async function listAccounts(accounts: AccountStore, domain: string): Promise<string[]> {
  return (await accounts.usernames()).map((u) => `${u}@${domain}`);
}
