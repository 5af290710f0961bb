import type { Jid } from '../core/jid.ts';
import type { Element } from '../xml/element.ts';
import type { Room } from './room.ts';

export interface RoomIqRequest {
  room: Room;
  iq: Element;
  payload: Element;
  from: Jid;
  /**
   * Sends the result at once, so that what the handler broadcasts afterwards follows it
   * (XEP-0045: "inform the moderator of success", then "send updated presence"); the service then
   * sends no result of its own. A handler must not fail after calling it. (IQs to the room JID.)
   */
  sendResult?: (result?: Element | Element[]) => void;
}

export type RoomIqHandler = (req: RoomIqRequest) => Promise<Element | Element[] | void> | Element | Element[] | void;

/** IQ handlers for room bare JIDs, registered by room features (admin, owner, register, mam, disco). */
export class RoomIqHandlers {
  private readonly table = new Map<string, RoomIqHandler>();

  /** `get`/`set` for IQs to the room bare JID, `occupant-get`/`occupant-set` for IQs to room/nick. */
  on(type: 'get' | 'set' | 'occupant-get' | 'occupant-set', name: string, xmlns: string, handler: RoomIqHandler): void {
    this.table.set(`${type} ${name} ${xmlns}`, handler);
  }

  get(type: string, payload: Element): RoomIqHandler | undefined {
    return this.table.get(`${type} ${payload.name} ${payload.attrs.xmlns}`);
  }
}
