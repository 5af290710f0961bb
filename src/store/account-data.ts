import { AccountStore } from './accounts.ts';
import type { Store } from './db.ts';
import { OfflineStore } from './offline.ts';
import { PushStore } from './push.ts';
import { RosterStore } from './rosters.ts';

/**
 * Deletes an account and everything it owns (roster, pending subscriptions, offline messages,
 * push registrations, vCard) in ONE atomic, synced batch: a crash leaves either the whole account
 * or none of it. Room affiliations stay with the rooms, as in Prosody. Used by in-band removal
 * and by `mucpush deluser`.
 */
export async function deleteAccount(store: Store, username: string, bare: string): Promise<void> {
  const ops = [
    ...(await new RosterStore(store).deleteOwnerOps(username)),
    ...(await new OfflineStore(store).deleteOwnerOps(username)),
    ...(await new PushStore(store).deleteUserOps(bare)),
    store.sub<string>('vcards').batchDel(bare),
    store.sub<string>('avatar-hashes').batchDel(bare),
    new AccountStore(store).deleteOp(username),
  ];
  await store.batch(ops);
}
