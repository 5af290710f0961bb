import type { Jid } from '../core/jid.ts';
import type { Element } from '../xml/element.ts';
import type { Room } from './room.ts';

export interface RoomIqRequest {
  room: Room;
  iq: Element;
  payload: Element;
  from: Jid;
}

export type RoomIqHandler = (req: RoomIqRequest) => Promise<Element | Element[] | void> | Element | Element[] | void;

/** IQ handlers for room bare JIDs, registered by room features (admin, owner, register, mam, disco). */
export class RoomIqHandlers {
  private readonly table = new Map<string, RoomIqHandler>();

  on(type: 'get' | 'set', name: string, xmlns: string, handler: RoomIqHandler): void {
    this.table.set(`${type} ${name} ${xmlns}`, handler);
  }

  get(type: string, payload: Element): RoomIqHandler | undefined {
    return this.table.get(`${type} ${payload.name} ${payload.attrs.xmlns}`);
  }
}
