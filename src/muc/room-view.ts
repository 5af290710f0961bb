import type { Jid } from '../core/jid.ts';
import type { Affiliation, PushPolicyOverride } from './types.ts';

/**
 * What the rest of the server (push above all) may ask a room. Room state (occupants, sessions,
 * the stored record) stays the room's own: a listener outside src/muc/ works from this and from
 * what the room events carry.
 */
export interface RoomView {
  readonly jid: Jid;
  /** The room's own push policy (muc#roomconfig `mucpush#push_policy`). */
  readonly pushPolicy: PushPolicyOverride;
  occupantJid(nick: string): string;
  affiliation(bare: string): Affiliation;
  /** The nick registered by this bare JID, if any. */
  registeredNick(bare: string): string | undefined;
  /** Every registered member as [bare JID, nick]. */
  registeredMembers(): Iterable<[string, string]>;
  /** The nick this real full JID is joined under, if it is joined. */
  nickOf(full: string): string | undefined;
  /** The bare JIDs joined with at least one session that `reachable` accepts. */
  presentUsers(reachable: (full: string) => boolean): Set<string>;
}
