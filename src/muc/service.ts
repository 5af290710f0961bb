import { randomBytes } from 'node:crypto';
import type { ServerContext } from '../core/context.ts';
import { Hooks } from '../core/hooks.ts';
import { parseJid, type Jid } from '../core/jid.ts';
import { RoomStore } from '../store/rooms.ts';
import type { RoomArchive } from '../store/archive.ts';
import { xml, type Element } from '../xml/element.ts';
import { errorReply, StanzaError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';
import type { RoomEvents } from './events.ts';
import { Room } from './room.ts';
import { RoomIqHandlers } from './room-iq.ts';
import { toAttr, type Prepared } from './stanzas.ts';
import { defaultRoomConfig } from './config.ts';
import type { RoomNodeHandler } from './disco.ts';
import type { DiscoNodes } from '../adhoc/commands.ts';
import type { RoomRecord } from './types.ts';
import type { RoomView } from './room-view.ts';
import { creationLimit, type AddressLimit } from '../core/address-limit.ts';
import { KeyedQueue } from '../core/keyed-queue.ts';

/**
 * The MUC service at conference.<domain>: owns the rooms, routes stanzas to them, answers
 * service-level IQs. Room features hook into `hooks` and `roomIq`.
 */
export class MucService {
  readonly rooms = new Map<string, Room>();
  readonly hooks = new Hooks<RoomEvents>();
  readonly roomIq = new RoomIqHandlers();
  /** Service-level IQ handlers (to the service domain itself). */
  readonly serviceIq = new RoomIqHandlers();
  /** Room disco#info features contributed by features. */
  readonly roomFeatures: ((room: Room) => string[])[] = [];
  /** disco#info nodes of rooms (e.g. x-roomuser-item), answered by features. */
  readonly roomNodes = new Map<string, RoomNodeHandler>();
  /** Who answers for disco nodes of the service itself (the ad-hoc commands). */
  readonly serviceNodes: DiscoNodes[] = [];
  readonly serviceFeatures = new Set<string>([NS.MUC, NS.DISCO_INFO, NS.DISCO_ITEMS, NS.MUC_STABLE_ID, NS.OCCUPANT_ID]);
  readonly secret = randomBytes(32);
  /** The room message archive (src/muc/mam.ts): `archive?.get(roomJid, stanzaId)` finds a broadcast message. */
  archive: RoomArchive | null = null;
  private readonly store: RoomStore;
  private readonly justCreated = new WeakSet<Room>();
  /**
   * Each real full JID joined anywhere: the rooms it is in (so a session's end can be found
   * fast) and its ` to="..."` attribute, escaped once at join for every stanza fanned out to it.
   */
  private readonly sessionRooms = new Map<string, { rooms: Set<Room>; to: string }>();
  /** One stanza at a time per room, by room bare JID (see `handle`). */
  private readonly roomQueue = new KeyedQueue();
  /** Room creations per client address (one connection once created 5,000 rooms). */
  private readonly creations: AddressLimit;

  constructor(
    readonly ctx: ServerContext,
    readonly domain: string,
  ) {
    this.store = new RoomStore(ctx.store);
    this.creations = creationLimit(ctx.config, () => ctx.config.muc.roomCreationPerAddressPerMinute);
    this.hooks.onError = (err, event) => ctx.log.error({ err, event }, 'room event handler failed');
    ctx.router.register(domain, (stanza) => this.handle(stanza));
  }

  /**
   * The room `bare`, live or loaded from storage now (with its recent history, restored by the
   * history feature on `room:created`); undefined when no such room exists. Call it from the
   * room's queue: nobody else then loads or creates the same room meanwhile.
   */
  private async liveRoom(bare: string): Promise<Room | undefined> {
    const live = this.rooms.get(bare);
    if (live) {
      // Most recently used last: eviction takes rooms from the front.
      this.rooms.delete(bare);
      this.rooms.set(bare, live);
      return live;
    }
    const record = await this.store.get(bare);
    // A record stored under older, looser JID rules is never addressed by its stored name.
    const jid = record && parseJid(record.jid);
    if (!record || !jid || jid.bare !== record.jid) return undefined;
    const room = new Room(jid, record, this);
    this.rooms.set(bare, room);
    await this.hooks.fire('room:created', { room });
    this.evict();
    return room;
  }

  /** Unloads the least recently used empty persistent rooms past `muc.maxLiveRooms` (their record is in storage). */
  private evict(): void {
    const max = this.ctx.config.muc.maxLiveRooms;
    for (const [bare, room] of this.rooms) {
      if (this.rooms.size <= max) return;
      // A stanza waiting in the room's queue will find the room it was routed to.
      if (!room.isEmpty() || !room.config.persistent || this.roomQueue.busy(bare)) continue;
      this.rooms.delete(bare);
      this.hooks.emit('room:unloaded', { room });
    }
  }

  /** Every room the service lists (disco#items): the live ones and those in storage, each once. */
  async listedRooms(): Promise<Array<{ jid: string; name: string; public: boolean; locked: boolean }>> {
    // A live room's record is the current one; a stored one under a JID the rules now refuse is skipped.
    const records = new Map<string, RoomRecord>();
    for (const r of await this.store.all()) if (parseJid(r.jid)?.bare === r.jid) records.set(r.jid, r);
    for (const room of this.rooms.values()) records.set(room.jid.bare, room.record);
    return [...records.values()].map((r) => ({ jid: r.jid, name: r.config.name, public: r.config.public, locked: r.locked }));
  }

  /** The live room with this bare JID, as the rest of the server may see it. */
  room(bare: string): RoomView | undefined {
    return this.rooms.get(bare);
  }

  /** Read from the config each time: a reload may change the admins (the list is short). */
  isAdmin(bare: string): boolean {
    return this.ctx.config.admins.includes(bare);
  }

  /**
   * Sends a prepared stanza to one real full JID. The router finds the live session (or routes a
   * copy, which bounces when the session is gone); only the `to` attribute is added here.
   */
  deliver(to: string, p: Prepared): void {
    const joined = this.sessionRooms.get(to);
    this.ctx.router.deliverPrepared(to, p.el, joined ? p.forAttr(joined.to) : p.for(to));
  }

  trackSession(room: Room, full: string, joined: boolean): void {
    let entry = this.sessionRooms.get(full);
    if (joined) {
      if (!entry) this.sessionRooms.set(full, (entry = { rooms: new Set(), to: toAttr(full) }));
      entry.rooms.add(room);
    } else if (entry) {
      entry.rooms.delete(room);
      if (entry.rooms.size === 0) this.sessionRooms.delete(full);
    }
  }

  /** Rooms a real full JID is joined to. */
  roomsOf(full: string): Room[] {
    return [...(this.sessionRooms.get(full)?.rooms ?? [])];
  }

  /** True until the join that created the room has consumed it. */
  isJustCreated(room: Room): boolean {
    return this.justCreated.has(room);
  }

  /** True once, for the join that created the room (status 201). */
  consumeCreated(room: Room): boolean {
    if (!this.justCreated.has(room)) return false;
    this.justCreated.delete(room);
    return true;
  }

  async save(room: Room): Promise<void> {
    if (room.config.persistent) await this.store.save(room.record);
  }

  /**
   * A temporary room goes away with its last occupant; so does a room still locked, which its
   * owner left without configuring (persistence is one of the settings never confirmed).
   */
  maybeDispose(room: Room): void {
    if (room.isEmpty() && (!room.config.persistent || room.locked) && this.rooms.get(room.jid.bare) === room) {
      this.rooms.delete(room.jid.bare);
      this.ctx.log.info({ room: room.jid.bare }, `room ${room.jid.bare} destroyed: its last occupant left a temporary room`);
      this.hooks.emit('room:destroyed', { room });
    }
  }

  /** A room that stops being persistent leaves storage but lives on while occupied. */
  async removeRecord(room: Room): Promise<void> {
    await this.store.delete(room.jid.bare);
  }

  async removeRoom(room: Room): Promise<void> {
    this.rooms.delete(room.jid.bare);
    await this.store.delete(room.jid.bare);
    this.ctx.log.info({ room: room.jid.bare }, `room ${room.jid.bare} destroyed`);
    this.hooks.emit('room:destroyed', { room });
  }

  canCreate(bare: Jid): boolean {
    const who = this.ctx.config.muc.createRooms;
    if (who === 'anyone') return true;
    if (who === 'local') return bare.domain === this.ctx.config.domain;
    return this.isAdmin(bare.bare);
  }

  private createRoom(jid: Jid, creator: Jid): Room {
    const record: RoomRecord = {
      jid: jid.bare,
      config: defaultRoomConfig(this.ctx.config),
      affiliations: { [creator.bare]: 'owner' },
      nicks: {},
      subject: null,
      locked: !this.ctx.config.muc.unlockedByDefault,
      created: Date.now(),
    };
    const room = new Room(jid, record, this);
    this.rooms.set(jid.bare, room);
    this.justCreated.add(room);
    this.ctx.log.info({ room: jid.bare, by: creator.full }, `room ${jid.bare} created by ${creator.full}`);
    this.hooks.emit('room:created', { room });
    this.evict();
    return room;
  }

  /**
   * A room takes one stanza at a time (Prosody's rooms do the same with synchronous events): a
   * check made before an await (nick free, not yet joined) still holds when its result is
   * applied. Stanzas to the service itself need no order.
   */
  private handle(stanza: Element): Promise<void> {
    const to = parseJid(stanza.attrs.to as string)!;
    const from = parseJid(stanza.attrs.from as string);
    if (!from) return Promise.resolve();
    if (!to.local) return this.guarded(stanza, to, () => this.handleService(stanza, from));
    const handled = this.inRoom(to.bare, () => this.guarded(stanza, to, () => this.handleRoom(stanza, to, from)));
    // The sender's work (see core/work-tracking.ts) ends when what the stanza decided has gone
    // out: a groupchat message after its archive commit, which the queue does not wait for.
    return handled.then(() => this.rooms.get(to.bare)?.outputSent());
  }

  /**
   * Runs `fn` with the room `bare` (loaded from storage when it is not live; undefined when there
   * is none) in the room's queue, as a stanza to the room would run: for the admin operations.
   */
  withRoom<T>(bare: string, fn: (room: Room | undefined) => T | Promise<T>): Promise<T> {
    return this.inRoom(bare, async () => fn(await this.liveRoom(bare)));
  }

  /** Runs `fn` in the queue of the room `roomJid` (whether or not the room exists yet). */
  inRoom<T>(roomJid: string, fn: () => T | Promise<T>): Promise<T> {
    return this.roomQueue.run(roomJid, fn);
  }

  private async handleRoom(stanza: Element, to: Jid, from: Jid): Promise<void> {
    let room = await this.liveRoom(to.bare);
    if (!room) {
      const joining = stanza.name === 'presence' && stanza.attrs.type === undefined && to.resource;
      if (!joining) throw new StanzaError('item-not-found', 'no such room');
      if (!this.canCreate(from)) throw new StanzaError('not-allowed', 'you may not create rooms here');
      // A local service policy, not a lack of resources (RFC 6120 8.3.3.12 rather than
      // 8.3.3.18); type wait, as the same join succeeds later. Stanzas that come from no
      // client connection are not limited.
      const address = this.ctx.sessions.get(from.full)?.connection?.remoteAddress;
      if (address !== undefined && !this.creations.reserve(address)) {
        throw new StanzaError('policy-violation', 'too many rooms created from your address; try again in a minute', 'wait');
      }
      room = this.createRoom(to, from);
    }
    if (stanza.name === 'presence') await room.handlePresence(stanza, from, to.resource);
    else if (stanza.name === 'message') await room.handleMessage(stanza, from, to.resource);
    else if (stanza.name === 'iq') await this.handleRoomIq(room, stanza, from, to.resource);
  }

  /** Runs a stanza's handling; a failure is answered (never rejected), and a failed creating join leaves no room behind. */
  private async guarded(stanza: Element, to: Jid, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.refuse(stanza, err, to);
      const room = to.local ? this.rooms.get(to.bare) : undefined;
      if (room && room.isEmpty() && this.consumeCreated(room)) this.rooms.delete(to.bare);
    }
  }

  /**
   * Answers `stanza` with the error `err` (a non-StanzaError is logged and becomes
   * internal-server-error), from the room or the service `to`, which generated it.
   */
  refuse(stanza: Element, err: unknown, to: Jid): void {
    if (!(err instanceof StanzaError)) {
      this.ctx.log.error({ err }, 'room failure');
      err = new StanzaError('internal-server-error');
    }
    if (stanza.attrs.type === 'error') return;
    const reply = errorReply(stanza, err as StanzaError, undefined, to.local ? to.bare : to.domain);
    // A join error carries the MUC <x/> (XEP-0045 7.2), once: the client's own is already copied.
    if (stanza.name === 'presence' && !reply.getChild('x', NS.MUC)) reply.children.unshift(xml('x', { xmlns: NS.MUC }));
    this.ctx.router.route(reply);
  }

  private async handleRoomIq(room: Room, iq: Element, from: Jid, nick: string): Promise<void> {
    const type = iq.attrs.type as string;
    if (type === 'result' || type === 'error') return nick ? this.roomIq.occupantResponse(room, iq, from, nick) : undefined;
    const payload = iq.children.find((c): c is Element => typeof c !== 'string');
    if (!payload) throw new StanzaError('bad-request');
    if (nick) return this.roomIq.toOccupant({ room, iq, payload, from }, nick, (result) => this.reply(iq, result));
    const handler = this.roomIq.get(type, payload);
    if (!handler) throw new StanzaError('service-unavailable');
    let sent = false;
    const sendResult = (result?: Element | Element[] | void) => {
      if (!sent) this.reply(iq, result);
      sent = true;
    };
    sendResult(await handler({ room, iq, payload, from, sendResult }));
  }

  private async handleService(stanza: Element, from: Jid): Promise<void> {
    if (stanza.name !== 'iq') {
      if (stanza.name === 'message' && stanza.attrs.type !== 'error') throw new StanzaError('service-unavailable');
      return;
    }
    const type = stanza.attrs.type as string;
    if (type === 'result' || type === 'error') return;
    const payload = stanza.children.find((c): c is Element => typeof c !== 'string');
    const handler = payload && this.serviceIq.get(type, payload);
    if (!handler) throw new StanzaError('service-unavailable');
    this.reply(stanza, await handler({ room: undefined as never, iq: stanza, payload: payload!, from }));
  }

  private reply(iq: Element, result: Element | Element[] | void): void {
    const reply = xml('iq', { type: 'result', id: iq.attrs.id, to: iq.attrs.from, from: iq.attrs.to });
    if (result) for (const r of Array.isArray(result) ? result : [result]) reply.cnode(r);
    this.ctx.router.route(reply);
  }

  /** Server shutdown: occupants are told the room is going away (XEP-0045 status 332). */
  async shutdown(): Promise<void> {
    for (const room of this.rooms.values()) {
      for (const occupant of [...room.occupants.values()]) room.removeOccupant(occupant, { reason: 'shutdown', codes: [332] });
    }
    // Archive writes (and deletions of the temporary rooms just emptied) reach the disk first.
    await this.archive?.settle();
  }
}
