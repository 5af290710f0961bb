import type { Store } from './db.ts';
import { OfflineStore } from './offline.ts';
import { PushStore } from './push.ts';
import { RosterStore } from './rosters.ts';

/**
 * Everything an account owns besides the account record: roster, pending subscriptions,
 * offline messages, push registrations and vCard. Room affiliations stay with the rooms, as in
 * Prosody. Used by in-band removal and by `mucpush deluser`.
 */
export async function deleteAccountData(store: Store, username: string, bare: string): Promise<void> {
  await new RosterStore(store).deleteOwner(username);
  await new OfflineStore(store).deleteOwner(username);
  await new PushStore(store).deleteUser(bare);
  await store.sub<string>('vcards').del(bare);
}
