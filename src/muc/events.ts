import type { Jid } from '../core/jid.ts';
import type { Element } from '../xml/element.ts';
import type { Occupant } from './occupant.ts';
import type { Room } from './room.ts';

/** A groupchat message as broadcast (`stanza`: from room/nick, with stanza-id); `from` is the sender's real JID. */
export interface RoomMessage {
  room: Room;
  occupant: Occupant;
  from: Jid;
  stanza: Element;
  stanzaId: string;
  body: string | null;
}

/**
 * Room events. Handlers with `fire` semantics may throw a StanzaError to refuse (pre-* events);
 * the others are notifications that features (history, archive, push) listen to.
 */
export interface RoomEvents {
  /** A room was created in memory (new, or loaded from storage). */
  'room:created': { room: Room };
  /** Before a join is accepted: throw StanzaError to refuse it. */
  'room:pre-join': { room: Room; jid: Jid; nick: string; stanza: Element; affiliation: string };
  /** After the newcomer's presence went out: history (priority 20) then subject (10) follow. */
  'room:joined': { room: Room; occupant: Occupant; jid: Jid; stanza: Element };
  /** Before a groupchat message is broadcast: throw StanzaError to refuse it, return true to take it over. */
  'room:pre-message': { room: Room; occupant: Occupant; stanza: Element };
  /** A non-groupchat message to the room itself (invite, decline, voice request): true if handled. */
  'room:direct-message': { room: Room; occupant: Occupant | undefined; from: Jid; stanza: Element };
  /**
   * A groupchat message passed every check and is about to be broadcast: what must be durable
   * before occupants see its stanza-id (the archive) is written here, awaited. Throwing a
   * StanzaError refuses the message: the sender gets the error, nobody gets the message.
   */
  'room:commit-message': RoomMessage;
  /**
   * A groupchat message was broadcast. `stanza` is the broadcast form (from room/nick, with
   * stanza-id); `from` the sender's real JID.
   */
  'room:message': RoomMessage;
  /** An occupant (all its sessions) left or was removed. */
  'room:occupant-left': { room: Room; occupant: Occupant; reason: 'leave' | 'kick' | 'ban' | 'ghost' | 'affiliation' | 'destroy' | 'shutdown' };
  /** A ghost was found: a groupchat message to it bounced; it is removed with status 333. */
  'room:occupant-ghost': { room: Room; occupant: Occupant; jid: Jid; undelivered: Element | null };
  /** A stanza to an occupant came back with an error. */
  'room:delivery-failed': { room: Room; occupant: Occupant; jid: Jid; error: Element };
  /** Affiliations, registrations or configuration changed (persisted by the core). */
  'room:changed': { room: Room };
  'room:destroyed': { room: Room };
  /** An empty persistent room left memory (muc.maxLiveRooms); it loads again when addressed. */
  'room:unloaded': { room: Room };
}
