import type { Jid } from '../core/jid.ts';
import type { Element } from '../xml/element.ts';
import { StanzaError } from '../xml/errors.ts';
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

type RoomIqResult = Element | Element[] | void;
export type RoomIqHandler = (req: RoomIqRequest) => Promise<RoomIqResult> | RoomIqResult;

/** Returned by a handler of IQs to room/nick that leaves this IQ to the relay (src/muc/occupant-iq.ts). */
export const RELAY = Symbol('relay to the occupant');
export type OccupantIqHandler = (req: RoomIqRequest) => Promise<RoomIqResult | typeof RELAY> | RoomIqResult | typeof RELAY;

/** Passes IQs between occupants (XEP-0045 6.6, 7.x): requests to room/nick nobody answers, and their responses. */
export interface OccupantIqRelay {
  request(req: RoomIqRequest, nick: string): void;
  response(room: Room, iq: Element, from: Jid, nick: string): void;
}

/** IQ handlers for room JIDs, registered by room features (admin, owner, register, mam, disco, self-ping). */
export class RoomIqHandlers {
  private readonly table = new Map<string, RoomIqHandler>();
  private readonly occupantTable = new Map<string, OccupantIqHandler>();
  /** Set by src/muc/occupant-iq.ts; without it IQs to room/nick that no handler answers fail. */
  relay: OccupantIqRelay | null = null;

  /** Handlers for IQs to the room bare JID (or, in `serviceIq`, to the service). */
  on(type: 'get' | 'set', name: string, xmlns: string, handler: RoomIqHandler): void {
    this.table.set(`${type} ${name} ${xmlns}`, handler);
  }

  get(type: string, payload: Element): RoomIqHandler | undefined {
    return this.table.get(`${type} ${payload.name} ${payload.attrs.xmlns}`);
  }

  /** Handlers for IQs to room/nick that the room answers itself (XEP-0410 self-ping). */
  onOccupant(type: 'get' | 'set', name: string, xmlns: string, handler: OccupantIqHandler): void {
    this.occupantTable.set(`${type} ${name} ${xmlns}`, handler);
  }

  /** A get or set to room/nick: answered by its handler (through `reply`), else relayed to the occupant. */
  async toOccupant(req: RoomIqRequest, nick: string, reply: (result: RoomIqResult) => void): Promise<void> {
    const handler = this.occupantTable.get(`${req.iq.attrs.type} ${req.payload.name} ${req.payload.attrs.xmlns}`);
    const result = handler ? await handler(req) : RELAY;
    if (result !== RELAY) return reply(result);
    if (!this.relay) throw new StanzaError('service-unavailable');
    this.relay.request(req, nick);
  }

  /** A result or error to room/nick: a response to a relayed request. */
  occupantResponse(room: Room, iq: Element, from: Jid, nick: string): void {
    this.relay?.response(room, iq, from, nick);
  }
}
