import type { Element } from '../xml/element.ts';
import type { Role } from './types.ts';

/**
 * One nick in a room. A user may be joined from several resources under the same nick;
 * each session keeps its own last presence. Kept small: this is per-occupant memory.
 */
export class Occupant {
  role: Role;
  /** Full JID → the presence it joined with (as received, without muc payload). */
  readonly sessions = new Map<string, Element>();

  constructor(
    public nick: string,
    readonly bare: string,
    role: Role,
    /** XEP-0421: stable per room and user, opaque. */
    readonly occupantId: string,
  ) {
    this.role = role;
  }

  /** The presence broadcast for this occupant: the most recent session's. */
  get presence(): Element | undefined {
    let last: Element | undefined;
    for (const p of this.sessions.values()) last = p;
    return last;
  }
}
