import type { Session } from '../stream/session.ts';

/**
 * Live sessions of local accounts: by full JID for delivery (one `Map` lookup per stanza on
 * the fan-out path, with no slicing of the JID), and by bare JID then resource for the
 * per-account views.
 */
export class SessionRegistry {
  private readonly byFull = new Map<string, Session>();
  private readonly byBare = new Map<string, Map<string, Session>>();
  private readonly byResumeId = new Map<string, Session>();

  get(fullJid: string): Session | undefined {
    return this.byFull.get(fullJid);
  }

  /** All sessions of an account (active and hibernated). */
  of(bare: string): Session[] {
    const m = this.byBare.get(bare);
    return m ? [...m.values()] : [];
  }

  add(session: Session): void {
    let m = this.byBare.get(session.jid.bare);
    if (!m) this.byBare.set(session.jid.bare, (m = new Map()));
    m.set(session.jid.resource, session);
    this.byFull.set(fullKey(session), session);
  }

  remove(session: Session): void {
    const m = this.byBare.get(session.jid.bare);
    if (m?.get(session.jid.resource) === session) {
      m.delete(session.jid.resource);
      if (m.size === 0) this.byBare.delete(session.jid.bare);
    }
    const key = fullKey(session);
    if (this.byFull.get(key) === session) this.byFull.delete(key);
    if (session.sm?.id && this.byResumeId.get(session.sm.id) === session) this.byResumeId.delete(session.sm.id);
  }

  setResumable(session: Session): void {
    if (session.sm?.id) this.byResumeId.set(session.sm.id, session);
  }

  byResume(id: string): Session | undefined {
    return this.byResumeId.get(id);
  }

  get size(): number {
    return this.byFull.size;
  }

  *all(): IterableIterator<Session> {
    for (const m of this.byBare.values()) yield* m.values();
  }
}

/**
 * The key a full JID lookup finds a session under: bare, slash, resource (a bare JID holds no
 * slash, so this is the session's full JID and splits back at its first slash).
 */
function fullKey(session: Session): string {
  return session.jid.resource ? session.jid.full : `${session.jid.bare}/${session.jid.resource}`;
}
