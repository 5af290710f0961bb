import type { Jid } from '../core/jid.ts';
import type { Session } from '../stream/session.ts';
import { xml, type Element } from '../xml/element.ts';
import { errorReply, StanzaError } from '../xml/errors.ts';

/** Who answers: the server itself, or the server on behalf of an account's bare JID. */
export type IqTarget = 'server' | 'account';

export interface IqRequest {
  iq: Element;
  /** The first child: the query element. */
  payload: Element;
  from: Jid;
  /** The server domain, or the account's bare JID. */
  to: Jid;
  /** Set when the request comes from a local client session. */
  session?: Session;
}

/** Resolves to the result payload (or nothing for an empty result); throws StanzaError. */
export type IqHandler = (req: IqRequest) => Promise<Element | Element[] | void> | Element | Element[] | void;

/**
 * IQ handlers keyed by payload name and namespace, so each feature registers what it answers
 * and everything else gets service-unavailable (clients stall on unanswered IQs).
 */
export class IqHandlers {
  private readonly table = new Map<string, IqHandler>();

  on(target: IqTarget, type: 'get' | 'set', name: string, xmlns: string, handler: IqHandler): void {
    this.table.set(`${target} ${type} ${name} ${xmlns}`, handler);
  }

  async answer(target: IqTarget, iq: Element, from: Jid, to: Jid, session?: Session): Promise<Element | null> {
    const type = iq.attrs.type as string;
    if (type === 'result' || type === 'error') return null;
    const payload = iq.children.find((c): c is Element => typeof c !== 'string');
    if ((type !== 'get' && type !== 'set') || !payload || iq.children.filter((c) => typeof c !== 'string').length !== 1) {
      return errorReply(iq, 'bad-request', 'an IQ get or set carries exactly one payload');
    }
    const handler = this.table.get(`${target} ${type} ${payload.name} ${payload.attrs.xmlns}`);
    if (!handler) return errorReply(iq, 'service-unavailable');
    try {
      const result = await handler({ iq, payload, from, to, session });
      const reply = xml('iq', { type: 'result', id: iq.attrs.id, to: iq.attrs.from, from: to.full });
      if (result) for (const r of Array.isArray(result) ? result : [result]) reply.cnode(r);
      return reply;
    } catch (err) {
      if (err instanceof StanzaError) return errorReply(iq, err);
      throw err;
    }
  }
}
