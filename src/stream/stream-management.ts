import { xml, type Element } from '../xml/element.ts';
import { NS } from '../xml/ns.ts';
import type { Session } from './session.ts';

/** XEP-0198 wire elements. */
export const smEnabled = (id: string | null, max: number) =>
  xml('enabled', { xmlns: NS.SM, ...(id ? { id, resume: 'true', max: String(max) } : {}) }).toString();

export const smFailed = (condition: string, h?: number) =>
  xml('failed', { xmlns: NS.SM, ...(h !== undefined ? { h: String(h) } : {}) }, xml(condition, { xmlns: NS.STANZAS_ERR })).toString();

export const smAck = (h: number) => `<a xmlns="${NS.SM}" h="${h >>> 0}"/>`;

/** Whether an inbound element counts as a stanza for the h counter. */
export function isStanza(el: Element): boolean {
  return el.name === 'message' || el.name === 'presence' || el.name === 'iq';
}

/**
 * Moves a hibernated session onto a new connection: acknowledges what the client confirms and
 * resends the rest. The caller has checked that h is possible.
 */
export function resumeOnto(session: Session, h: number): void {
  session.ack(h);
  const conn = session.connection!;
  conn.allowBacklog(session.sm!.unackedBytes);
  for (const u of session.sm!.unacked) conn.write(u.text);
  if (session.sm!.unacked.length > 0) {
    session.sm!.requestPending = true;
    conn.write(`<r xmlns="${NS.SM}"/>`);
  }
}
