import { createHash } from 'node:crypto';
import { parseJid, type Jid } from '../core/jid.ts';
import { monotonicUlid } from '../core/ulid.ts';
import { cloneElement, xml, type Element } from '../xml/element.ts';
import { StanzaError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';
import type { MucService } from './service.ts';
import { Occupant } from './occupant.ts';
import { OutputGate } from './output-gate.ts';
import type { RoomView } from './room-view.ts';
import { enforceNick, NickMap, nickKey } from './nick.ts';
import { mucUserX, occupantIdEl, Prepared, presencePayload } from './stanzas.ts';
import { AFFILIATION_RANK, ROLE_RANK, type Affiliation, type Role, type RoomRecord } from './types.ts';

const ulid = monotonicUlid();

/** Registered nicks by comparison form (nickKey): the first holder in record order, and how many hold each. */
interface NickIndex {
  nicks: Record<string, string>;
  owners: Map<string, string>;
  holders: Map<string, number>;
}

/** What ends an occupant's stay, with the status codes XEP-0045 gives each. */
export interface Removal {
  reason: 'leave' | 'kick' | 'ban' | 'ghost' | 'affiliation' | 'destroy' | 'shutdown';
  codes: number[];
  actor?: string;
  text?: string;
  /** The unavailable presence the occupant sent (status text is relayed). */
  presence?: Element;
}

/**
 * The room core: occupants, presence, groupchat and private messages, and the fan-out.
 * Features (src/muc/*.ts) hook into its events; the core knows none of them.
 */
export class Room implements RoomView {
  /** Occupants by nick, compared as RFC 8266 says (see nick.ts). */
  readonly occupants = new NickMap<Occupant>();
  /** Occupant by real full JID. */
  readonly bySession = new Map<string, Occupant>();
  /** `record.nicks` inverted (built on first use; see `nickOwner`, `setRegisteredNick`). */
  private nickIndex: NickIndex | null = null;
  /** Voice granted to or revoked from unaffiliated users, by bare JID (see `entryRole`); in memory only. */
  private readonly rememberedRoles = new Map<string, Role>();
  /** Keeps the room's output in decision order while a message waits for its archive commit. */
  private readonly gate = new OutputGate();

  constructor(
    readonly jid: Jid,
    public record: RoomRecord,
    private readonly service: MucService,
  ) {}

  get config() {
    return this.record.config;
  }

  get locked(): boolean {
    return this.record.locked;
  }

  get anonymous(): boolean {
    return this.config.whois !== 'anyone';
  }

  /**
   * The affiliation of a bare JID: service admins own every room; then the JID's own entry; then
   * a ban of its whole domain (XEP-0045 9.1: an outcast entry may be a bare domain). A domain
   * entry counts only as a ban: other affiliations are not given to a whole domain.
   */
  affiliation(bare: string): Affiliation {
    if (this.service.isAdmin(bare)) return 'owner';
    const own = this.record.affiliations[bare];
    if (own !== undefined) return own;
    const at = bare.indexOf('@');
    if (at >= 0 && this.record.affiliations[bare.slice(at + 1)] === 'outcast') return 'outcast';
    return 'none';
  }

  /**
   * The role a user gets on entering: its affiliation's default, except that in a moderated room
   * an unaffiliated user who had voice revoked or granted keeps that role across visits
   * (XEP-0045 8.3, 8.4 SHOULD), for as long as this room object lives.
   */
  entryRole(bare: string, aff: Affiliation): Role {
    const role = this.defaultRole(aff);
    if (aff !== 'none' || !this.config.moderated) return role;
    return this.rememberedRoles.get(bare) ?? role;
  }

  /** Whether an occupant is shown other occupants' real JIDs (non-anonymous room, or a moderator). */
  seesRealJids(viewer: Occupant): boolean {
    return !this.anonymous || viewer.role === 'moderator';
  }

  /** The role a user of this affiliation gets on entering. */
  defaultRole(aff: Affiliation): Role {
    if (aff === 'owner' || aff === 'admin') return 'moderator';
    if (aff === 'outcast') return 'none';
    if (this.config.moderated && aff === 'none') return 'visitor';
    return 'participant';
  }

  occupantJid(nick: string): string {
    return `${this.jid.bare}/${nick}`;
  }

  /** Stable per room and bare JID, opaque (XEP-0421). */
  occupantIdFor(bare: string): string {
    return createHash('sha256').update(this.service.secret).update(this.jid.bare).update('\0').update(bare).digest('base64url').slice(0, 22);
  }

  isEmpty(): boolean {
    return this.occupants.size === 0;
  }

  // ------------------------------------------------------------------ RoomView (asked from outside src/muc/)

  get pushPolicy() {
    return this.config.pushPolicy;
  }

  registeredNick(bare: string): string | undefined {
    return this.record.nicks[bare];
  }

  registeredMembers(): Iterable<[string, string]> {
    return Object.entries(this.record.nicks);
  }

  nickOf(full: string): string | undefined {
    return this.bySession.get(full)?.nick;
  }

  presentUsers(reachable: (full: string) => boolean): Set<string> {
    const out = new Set<string>();
    for (const occupant of this.occupants.values()) {
      for (const full of occupant.sessions.keys()) {
        if (reachable(full)) {
          out.add(occupant.bare);
          break;
        }
      }
    }
    return out;
  }

  /** Resolves once the output held so far (messages waiting for their archive commit) has gone out. */
  outputSent(): Promise<void> {
    return this.gate.idle();
  }

  /** Sends a prepared stanza from the room to one real full JID, in the room's output order. */
  deliver(to: string, p: Prepared): void {
    if (this.gate.open) this.service.deliver(to, p);
    else this.gate.send(() => this.service.deliver(to, p));
  }

  // ------------------------------------------------------------------ presence

  async handlePresence(stanza: Element, from: Jid, requested: string): Promise<void> {
    const type = stanza.attrs.type as string | undefined;
    const current = this.bySession.get(from.full);
    if (type === 'error') {
      if (current) await this.deliveryFailed(current, from, stanza);
      return;
    }
    if (type === 'unavailable') {
      if (current) this.leaveSession(current, from, { reason: 'leave', codes: [], presence: stanza });
      return;
    }
    if (type === 'probe') return void (await this.service.hooks.fire('room:probe', { room: this, from, nick: requested && (enforceNick(requested) ?? requested) }));
    if (type !== undefined) return; // subscriptions to a room are ignored
    if (!requested) throw new StanzaError('jid-malformed', 'a nickname is required');
    const nick = enforceNick(requested);
    if (nick === undefined) throw new StanzaError('jid-malformed', 'that nickname is not allowed (PRECIS Nickname profile, RFC 8266)');
    if (current && current.nick !== nick) return this.changeNick(current, from, nick, stanza);
    if (current) return this.updatePresence(current, from, stanza);
    return this.join(stanza, from, nick, nick !== requested);
  }

  /** `rewritten`: enforcing the Nickname profile changed the requested nick (XEP-0045 status 210: the service modified the nick). */
  private async join(stanza: Element, from: Jid, nick: string, rewritten: boolean): Promise<void> {
    const aff = this.affiliation(from.bare);
    if (this.locked && aff !== 'owner') throw new StanzaError('item-not-found', 'this room is locked until its owner configures it');
    const existing = this.occupants.get(nick);
    if (existing && existing.bare !== from.bare) throw new StanzaError('conflict', 'that nickname is in use');
    const owner = this.nickOwner(nick);
    if (owner && owner !== from.bare) throw new StanzaError('conflict', 'that nickname is registered by another user');
    if (aff === 'outcast') throw new StanzaError('forbidden', 'you are banned from this room');
    await this.service.hooks.fire('room:pre-join', { room: this, jid: from, nick, stanza, affiliation: aff });

    // A room usable at once (muc.unlockedByDefault) is stored now: no form submission will store it.
    if (!this.locked && this.service.isJustCreated(this)) await this.save();
    const isNew = this.service.consumeCreated(this);
    const occupant = existing ?? new Occupant(nick, from.bare, this.entryRole(from.bare, aff), this.occupantIdFor(from.bare));
    occupant.sessions.set(from.full, stanza);
    this.bySession.set(from.full, occupant);
    this.service.trackSession(this, from.full, true);
    // The newcomer first learns who is here (XEP-0045 7.2.3), then everyone learns of it; a
    // further resource joining under a present nick gets the list too. Only roles whose
    // presence is broadcast are listed.
    const broadcastRoles = new Set(this.config.presenceBroadcast);
    for (const other of this.occupants.values()) {
      if (other !== occupant && broadcastRoles.has(other.role)) this.sendPresenceTo(other, from.full, occupant, []);
    }
    if (!existing) this.occupants.set(nick, occupant);
    const selfCodes = [110];
    if (!this.anonymous) selfCodes.push(100);
    if (this.config.archiving) selfCodes.push(170);
    if (isNew) selfCodes.push(201);
    if (rewritten) selfCodes.push(210);
    this.broadcastPresence(occupant, { selfCodes, onlyTo: existing ? [from.full] : undefined });
    await this.service.hooks.fire('room:joined', { room: this, occupant, jid: from, stanza });
  }

  private changeNick(occupant: Occupant, from: Jid, nick: string, stanza: Element): void {
    // Its own nick in another case is not a conflict.
    const holder = this.occupants.get(nick);
    if (holder && holder !== occupant) throw new StanzaError('conflict', 'that nickname is in use');
    const owner = this.nickOwner(nick);
    if (owner && owner !== from.bare) throw new StanzaError('conflict', 'that nickname is registered by another user');
    if (occupant.sessions.size > 1) throw new StanzaError('not-acceptable', 'leave from your other resources before changing nickname');
    // Old nick goes unavailable with 303 and the new nick, then the new nick appears.
    this.broadcastPresence(occupant, { unavailable: true, codes: [303], newNick: nick, selfCodes: [110] });
    this.occupants.delete(occupant.nick);
    occupant.nick = nick;
    occupant.sessions.set(from.full, stanza);
    this.occupants.set(nick, occupant);
    this.broadcastPresence(occupant, { selfCodes: [110] });
  }

  private updatePresence(occupant: Occupant, from: Jid, stanza: Element): void {
    occupant.sessions.set(from.full, stanza);
    this.broadcastPresence(occupant, { selfCodes: [110] });
  }

  /** One session leaves; the occupant leaves with its last session. */
  leaveSession(occupant: Occupant, from: Jid, removal: Removal): void {
    occupant.sessions.delete(from.full);
    this.bySession.delete(from.full);
    this.service.trackSession(this, from.full, false);
    if (occupant.sessions.size > 0) {
      this.sendPresenceTo(occupant, from.full, occupant, [110], true, removal);
      this.broadcastPresence(occupant, { selfCodes: [110] });
      return;
    }
    this.removeOccupant(occupant, removal, [from.full]);
  }

  /** Removes an occupant with all its sessions, telling everyone (and it) why. */
  removeOccupant(occupant: Occupant, removal: Removal, alreadyGone: string[] = []): void {
    if (this.occupants.get(occupant.nick) !== occupant) return;
    occupant.role = 'none';
    this.broadcastPresence(occupant, { unavailable: true, codes: removal.codes, selfCodes: [110], removal, extraSelf: alreadyGone });
    this.occupants.delete(occupant.nick);
    for (const full of occupant.sessions.keys()) {
      this.bySession.delete(full);
      this.service.trackSession(this, full, false);
    }
    occupant.sessions.clear();
    this.service.hooks.emit('room:occupant-left', { room: this, occupant, reason: removal.reason });
    this.service.maybeDispose(this);
  }

  private async deliveryFailed(occupant: Occupant, from: Jid, error: Element): Promise<void> {
    await this.service.hooks.fire('room:delivery-failed', { room: this, occupant, jid: from, error });
  }

  /**
   * Sends `subject`'s presence to every occupant session, computing each variant once:
   * with or without the real JID, and the self-presence with its status codes.
   */
  broadcastPresence(
    subject: Occupant,
    opts: {
      unavailable?: boolean;
      codes?: number[];
      selfCodes?: number[];
      newNick?: string;
      removal?: Removal;
      onlyTo?: string[];
      /** Sessions that already left but still get the self-presence. */
      extraSelf?: string[];
    },
  ): void {
    const cache = new Map<string, Prepared>();
    // The real JID others may be shown: a session still here, else the one that just left.
    const realJid = subject.sessions.keys().next().value ?? opts.extraSelf?.[0];
    const variant = (withJid: boolean, self: boolean, sessionJid?: string) => {
      const key = `${withJid}|${self}|${sessionJid ?? ''}`;
      let p = cache.get(key);
      if (!p) {
        const codes = [...(opts.codes ?? []), ...(self ? (opts.selfCodes ?? []) : [])];
        p = new Prepared(this.presenceOf(subject, { withJid: withJid ? (sessionJid ?? realJid) : undefined, codes, unavailable: opts.unavailable, newNick: opts.newNick, removal: opts.removal }));
        cache.set(key, p);
      }
      return p;
    };
    const broadcastRoles = new Set(this.config.presenceBroadcast);
    const targets = opts.onlyTo ? opts.onlyTo.map((f) => [f, this.bySession.get(f)] as const) : [...this.bySession.entries()];
    for (const [full, recipient] of targets) {
      if (!recipient) continue;
      const self = recipient === subject;
      if (!self && !broadcastRoles.has(subject.role === 'none' ? 'participant' : subject.role)) continue;
      const withJid = self || this.seesRealJids(recipient);
      const p = variant(withJid, self, self ? full : undefined);
      this.deliver(full, p);
    }
    for (const full of opts.extraSelf ?? []) this.deliver(full, variant(true, true, full));
  }

  /** The presence of one occupant to one session, for the join roster. */
  private sendPresenceTo(subject: Occupant, to: string, recipient: Occupant, codes: number[], unavailable = false, removal?: Removal): void {
    const self = subject === recipient;
    const withJid = self || this.seesRealJids(recipient);
    const el = this.presenceOf(subject, { withJid: withJid ? (self ? to : [...subject.sessions.keys()][0]) : undefined, codes, unavailable, removal });
    this.deliver(to, new Prepared(el));
  }

  presenceOf(
    occupant: Occupant,
    opts: { withJid?: string; codes: number[]; unavailable?: boolean; newNick?: string; removal?: Removal },
  ): Element {
    const attrs: Record<string, string> = { from: this.occupantJid(occupant.nick) };
    if (opts.unavailable) attrs.type = 'unavailable';
    const p = xml('presence', attrs);
    const source = opts.unavailable ? opts.removal?.presence : occupant.presence;
    for (const c of presencePayload(source)) {
      if (!opts.unavailable || c.name === 'status') p.cnode(cloneElement(c));
    }
    p.cnode(
      mucUserX(
        {
          affiliation: this.affiliation(occupant.bare),
          role: opts.unavailable ? 'none' : occupant.role,
          jid: opts.withJid,
          nick: opts.newNick,
          actor: opts.removal?.actor,
          reason: opts.removal?.text,
        },
        opts.codes,
      ),
    );
    p.cnode(occupantIdEl(occupant));
    return p;
  }

  // ------------------------------------------------------------------ messages

  async handleMessage(stanza: Element, from: Jid, nick: string): Promise<void> {
    const type = (stanza.attrs.type as string | undefined) ?? 'normal';
    const sender = this.bySession.get(from.full);
    if (type === 'error') {
      if (sender) await this.deliveryFailed(sender, from, stanza);
      return;
    }
    if (nick) {
      if (type === 'groupchat') throw new StanzaError('bad-request', 'groupchat messages go to the room, not to an occupant');
      return this.privateMessage(stanza, from, nick, sender);
    }
    if (type === 'groupchat') {
      if (!sender) throw new StanzaError('not-acceptable', 'join the room before sending to it');
      return this.groupchat(stanza, sender, from);
    }
    // Invitations, declines and voice requests are features; anything else is refused.
    if (await this.service.hooks.fire('room:direct-message', { room: this, occupant: sender, from, stanza })) return;
    throw new StanzaError('bad-request', 'only groupchat messages can be sent to the room');
  }

  private async groupchat(stanza: Element, sender: Occupant, from: Jid): Promise<void> {
    // A feature that returns true took the message over (a subject change, for instance).
    if (await this.service.hooks.fire('room:pre-message', { room: this, occupant: sender, stanza })) return;
    const stanzaId = ulid();
    const out = xml('message', { from: this.occupantJid(sender.nick), type: 'groupchat' });
    if (stanza.attrs.id) out.attrs.id = stanza.attrs.id;
    if (stanza.attrs['xml:lang']) out.attrs['xml:lang'] = stanza.attrs['xml:lang'];
    for (const c of stanza.children) {
      if (typeof c === 'string') continue;
      // Ids claimed by=this room, and occupant ids, come only from the room (XEP-0359, XEP-0421).
      if (c.name === 'stanza-id' && c.attrs.xmlns === NS.SID && parseJid(c.attrs.by as string | undefined)?.full === this.jid.bare) continue;
      if (c.name === 'occupant-id' && c.attrs.xmlns === NS.OCCUPANT_ID) continue;
      out.cnode(c);
    }
    out.c('stanza-id', { xmlns: NS.SID, id: stanzaId, by: this.jid.bare });
    out.cnode(occupantIdEl(sender));
    const message = { room: this, occupant: sender, from, stanza: out, stanzaId, body: out.getChildText('body') };
    // The echo's stanza-id promises that history has the message: it goes out after the commit.
    // The room takes its next stanza meanwhile; its later output waits behind this message.
    const committed = this.service.hooks.fire('room:commit-message', message);
    void this.gate.after(committed, (err) => {
      if (err) return this.service.refuse(stanza, err, this.jid);
      this.broadcastMessage(out);
      this.service.hooks.emit('room:message', message);
    });
  }

  /** Sends to every occupant session one of two forms: `withJid` to those who may see real JIDs, `without` to the others. */
  broadcastByVisibility(withJid: Prepared, without: Prepared): void {
    for (const [full, viewer] of this.bySession) this.deliver(full, this.seesRealJids(viewer) ? withJid : without);
  }

  /** Groupchat fan-out: one serialization, every occupant session (the sender's too). */
  broadcastMessage(el: Element): void {
    const p = new Prepared(el);
    for (const full of this.bySession.keys()) this.deliver(full, p);
  }

  private privateMessage(stanza: Element, from: Jid, nick: string, sender: Occupant | undefined): void {
    if (!sender) throw new StanzaError('not-acceptable', 'join the room before sending private messages');
    const target = this.occupants.get(nick);
    if (!target) throw new StanzaError('item-not-found', 'no such occupant');
    const allow = this.config.allowPm;
    const ok = allow === 'anyone' || (allow === 'participants' && sender.role !== 'visitor') || (allow === 'moderators' && sender.role === 'moderator');
    if (!ok) throw new StanzaError('forbidden', 'private messages are not allowed in this room');
    const out = xml('message', { ...stanza.attrs, from: this.occupantJid(sender.nick) });
    delete out.attrs.to;
    for (const c of stanza.children) if (typeof c !== 'string') out.cnode(c);
    out.c('x', { xmlns: NS.MUC_USER });
    const p = new Prepared(out);
    for (const full of target.sessions.keys()) this.deliver(full, p);
  }

  // ------------------------------------------------------------------ admin

  /**
   * Records an affiliation without saving or telling anyone; a ban or a lost membership also
   * frees the reserved nick (XEP-0045 9.1). Returns the affiliation it replaced. Callers save,
   * then call applyAffiliation(); setAffiliation() does all three.
   */
  recordAffiliation(bare: string, aff: Affiliation, reason?: string): Affiliation {
    const before = this.affiliation(bare);
    if (aff === 'none') delete this.record.affiliations[bare];
    else this.record.affiliations[bare] = aff;
    if (aff === 'none' || aff === 'outcast') this.setRegisteredNick(bare, undefined);
    // A ban keeps its reason (for the ban list) until the affiliation changes again.
    if (aff === 'outcast' && reason) (this.record.reasons ??= {})[bare] = reason;
    else if (this.record.reasons) delete this.record.reasons[bare];
    // A new affiliation starts from its default role on the next visit.
    this.rememberedRoles.delete(bare);
    return before;
  }

  /** The reason recorded with the ban of `bare`, if any. */
  banReason(bare: string): string | undefined {
    return this.record.reasons?.[bare];
  }

  /**
   * Brings the present occupant of `bare` in line with its (already recorded) affiliation: a ban
   * removes it (301), losing membership of a members-only room removes it (321, with no
   * de-affiliation presence first, XEP-0045 9.4), anything else broadcasts its new presence
   * (110 to itself). A gained affiliation never lowers the role (a moderator granted membership
   * stays moderator); a lost one resets the role to the default of the new affiliation.
   */
  applyAffiliation(bare: string, before: Affiliation, actor?: Occupant, reason?: string): void {
    // A bare domain entry (no local part) is a ban of the whole domain: it removes the users of
    // that domain who have no affiliation of their own; lifting it changes nobody present.
    if (!bare.includes('@')) {
      if (this.affiliation(bare) !== 'outcast') return;
      for (const occupant of [...this.occupants.values()]) {
        if ((occupant.bare === bare || occupant.bare.endsWith(`@${bare}`)) && this.affiliation(occupant.bare) === 'outcast') {
          this.removeOccupant(occupant, { reason: 'ban', codes: [301], actor: actor?.nick, text: reason });
        }
      }
      return;
    }
    const aff = this.affiliation(bare);
    let present = false;
    for (const occupant of [...this.occupants.values()]) {
      if (occupant.bare !== bare) continue;
      present = true;
      if (aff === 'outcast') {
        this.removeOccupant(occupant, { reason: 'ban', codes: [301], actor: actor?.nick, text: reason });
      } else if (aff === 'none' && this.config.membersOnly) {
        this.removeOccupant(occupant, { reason: 'affiliation', codes: [321], actor: actor?.nick, text: reason });
      } else {
        const wasModerator = occupant.role === 'moderator';
        const role = this.defaultRole(aff);
        if (AFFILIATION_RANK[aff] < AFFILIATION_RANK[before] || ROLE_RANK[role] > ROLE_RANK[occupant.role]) occupant.role = role;
        this.broadcastPresence(occupant, { selfCodes: [110], removal: { reason: 'affiliation', codes: [], actor: actor?.nick, text: reason } });
        if (wasModerator !== (occupant.role === 'moderator')) this.resyncRealJids(occupant);
      }
    }
    if (aff !== before) this.service.hooks.emit('room:affiliation-changed', { room: this, bare, before, after: aff, present, actor, reason });
  }

  /** Changes an affiliation, updating the roles of present occupants (XEP-0045 9.x, 10.x). */
  async setAffiliation(bare: string, aff: Affiliation, actor?: Occupant, reason?: string): Promise<void> {
    const before = this.recordAffiliation(bare, aff, reason);
    await this.save();
    this.applyAffiliation(bare, before, actor, reason);
    this.service.hooks.emit('room:changed', { room: this });
  }

  /**
   * Changes a role (XEP-0045 8.x, 9.6, 9.7): none kicks (307), anything else broadcasts the new
   * presence, with the actor and reason, and 110 to the occupant itself. Permission checks are
   * the caller's (src/muc/admin.ts).
   */
  setRole(occupant: Occupant, role: Role, actor?: Occupant, reason?: string): void {
    if (role === 'none') {
      this.removeOccupant(occupant, { reason: 'kick', codes: [307], actor: actor?.nick, text: reason });
      return;
    }
    const wasModerator = occupant.role === 'moderator';
    // Voice revoked from, or granted to, an unaffiliated user is remembered for its next visit
    // to this room while moderated (XEP-0045 8.3, 8.4 SHOULD; see entryRole).
    if (this.affiliation(occupant.bare) === 'none') {
      if (role === 'visitor') this.rememberedRoles.set(occupant.bare, 'visitor');
      else if (occupant.role === 'visitor') this.rememberedRoles.set(occupant.bare, 'participant');
    }
    occupant.role = role;
    this.broadcastPresence(occupant, { selfCodes: [110], removal: { reason: 'leave', codes: [], actor: actor?.nick, text: reason } });
    if (wasModerator !== (role === 'moderator')) this.resyncRealJids(occupant);
  }

  /**
   * In a semi-anonymous room only moderators see real JIDs, so an occupant that gained or lost
   * moderator status gets everyone else's presence again, with or without them (as Prosody does).
   */
  private resyncRealJids(occupant: Occupant): void {
    if (!this.anonymous) return;
    const broadcastRoles = new Set(this.config.presenceBroadcast);
    for (const full of occupant.sessions.keys()) {
      for (const other of this.occupants.values()) {
        if (other !== occupant && broadcastRoles.has(other.role)) this.sendPresenceTo(other, full, occupant, []);
      }
    }
  }

  /**
   * The bare JID that registered `nick` here, if any (the first in `record.nicks` order, should
   * two hold it). Answered from an index kept beside `record.nicks`, so a join or a registration
   * does not scan every registered nick.
   */
  nickOwner(nick: string): string | undefined {
    let index = this.nickIndex;
    if (!index || index.nicks !== this.record.nicks) index = this.indexNicks();
    const key = nickKey(nick);
    const bare = index.owners.get(key);
    const held = bare === undefined ? undefined : this.record.nicks[bare];
    if (bare === undefined || (held !== undefined && nickKey(held) === key)) return bare;
    // record.nicks was changed without setRegisteredNick: index it again.
    return this.indexNicks().owners.get(key);
  }

  /** Registers (or, with undefined, drops) the reserved nick of `bare`; callers save the record. */
  setRegisteredNick(bare: string, nick: string | undefined): void {
    const nicks = this.record.nicks;
    const before = nicks[bare];
    if (before === nick) return;
    if (nick === undefined) delete nicks[bare];
    else nicks[bare] = nick;
    const index = this.nickIndex;
    if (!index || index.nicks !== nicks) return;
    // The index counts comparison forms: a change of case alone leaves it as it is.
    const beforeKey = before === undefined ? undefined : nickKey(before);
    const key = nick === undefined ? undefined : nickKey(nick);
    if (beforeKey === key) return;
    if (beforeKey !== undefined) {
      const holders = (index.holders.get(beforeKey) ?? 1) - 1;
      if (holders === 0) {
        index.holders.delete(beforeKey);
        index.owners.delete(beforeKey);
      } else {
        index.holders.set(beforeKey, holders);
        // Another bare JID holds it too: which one comes first is in the record's order.
        if (index.owners.get(beforeKey) === bare) this.nickIndex = null;
      }
    }
    if (key !== undefined && this.nickIndex) {
      const holders = index.holders.get(key) ?? 0;
      index.holders.set(key, holders + 1);
      if (holders === 0) index.owners.set(key, bare);
      // A new key goes last, behind the present holder; an existing key keeps its place.
      else if (before !== undefined) this.nickIndex = null;
    }
  }

  private indexNicks(): NickIndex {
    const owners = new Map<string, string>();
    const holders = new Map<string, number>();
    for (const [bare, n] of Object.entries(this.record.nicks)) {
      const key = nickKey(n);
      if (!owners.has(key)) owners.set(key, bare);
      holders.set(key, (holders.get(key) ?? 0) + 1);
    }
    this.nickIndex = { nicks: this.record.nicks, owners, holders };
    return this.nickIndex;
  }

  async save(): Promise<void> {
    await this.service.save(this);
  }

  /** Sends a message from the room itself (no nick) to every occupant. */
  broadcastFromRoom(children: Element[], type = 'groupchat'): void {
    const el = xml('message', { from: this.jid.bare, type, id: ulid() });
    for (const c of children) el.cnode(c);
    this.broadcastMessage(el);
  }

  /** Looks up the occupant of a real JID (exact session, else any session of that user). */
  occupantOf(jid: Jid): Occupant | undefined {
    const exact = this.bySession.get(jid.full);
    if (exact) return exact;
    for (const o of this.occupants.values()) if (o.bare === jid.bare) return o;
    return undefined;
  }
}

export function nickOf(to: string): string {
  const j = parseJid(to);
  return j?.resource ?? '';
}

