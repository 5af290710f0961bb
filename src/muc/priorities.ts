/**
 * Handler priorities of the room events, by event, in one place (higher runs first): the order
 * in which features see an event is part of the protocol, so it is named rather than scattered.
 */
export const PRIORITY = {
  /** room:pre-join: the membership check first, then the room's capacity, then the password. */
  preJoin: { membersOnly: 30, maxUsers: 20, password: 10 },
  /** room:joined: after the presences, the history (XEP-0045 7.2.15), then the subject (7.2.16). */
  joined: { history: 20, subject: 10 },
  /** room:pre-message: a visitor's message is refused before a subject change is considered. */
  preMessage: { voice: 100, subject: 50 },
  /** room:delivery-failed: ghost detection runs before anything else learns of the bounce. */
  deliveryFailed: { ghosts: 100 },
  /**
   * session:closed (server events): the ghost removal is queued in the rooms before the presence
   * module (priority 0) routes the session's unavailable presence to them.
   */
  sessionClosed: { ghosts: 100 },
} as const;
