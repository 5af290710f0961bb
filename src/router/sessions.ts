import type { Session } from '../stream/session.ts';

/** Live sessions of local accounts, by bare JID then resource. */
export class SessionRegistry {
  private readonly byBare = new Map<string, Map<string, Session>>();
  private readonly byResumeId = new Map<string, Session>();

  get(fullJid: string): Session | undefined {
    const slash = fullJid.indexOf('/');
    if (slash === -1) return undefined;
    return this.byBare.get(fullJid.slice(0, slash))?.get(fullJid.slice(slash + 1));
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
  }

  remove(session: Session): void {
    const m = this.byBare.get(session.jid.bare);
    if (m?.get(session.jid.resource) === session) {
      m.delete(session.jid.resource);
      if (m.size === 0) this.byBare.delete(session.jid.bare);
    }
    if (session.sm?.id && this.byResumeId.get(session.sm.id) === session) this.byResumeId.delete(session.sm.id);
  }

  setResumable(session: Session): void {
    if (session.sm?.id) this.byResumeId.set(session.sm.id, session);
  }

  byResume(id: string): Session | undefined {
    return this.byResumeId.get(id);
  }

  get size(): number {
    let n = 0;
    for (const m of this.byBare.values()) n += m.size;
    return n;
  }

  *all(): IterableIterator<Session> {
    for (const m of this.byBare.values()) yield* m.values();
  }
}
