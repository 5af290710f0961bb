import type { Element } from '../xml/element.ts';
import type { Session } from '../stream/session.ts';
import type { Jid } from './jid.ts';

/** Session and account events (rooms declare theirs in src/muc/events.ts). */
export interface SessionEvents {
  /** A resource was bound: the session can send and receive stanzas. */
  'session:bound': { session: Session };
  /** The session's connection dropped with stream management on: it waits to be resumed. */
  'session:hibernated': { session: Session };
  'session:resumed': { session: Session };
  /** The session is gone for good (closed, timed out, or hibernation expired). */
  'session:closed': { session: Session; reason: string };
  /** A stanza was queued for a hibernated session. */
  'session:queued': { session: Session; stanza: Element };
  /** A message for an account had no session to go to and was stored offline. */
  'account:offline-message': { user: Jid; stanza: Element };
  /** An account and its data were deleted: caches of it must go too. */
  'account:deleted': { user: Jid };
  /** The avatar in an account's vCard changed (XEP-0153 hash, '' for none): rooms re-send its presence. */
  'account:avatar-changed': { user: Jid; hash: string };
  /** The first available presence of a session (offline messages are delivered then). */
  'session:available': { session: Session };
}
