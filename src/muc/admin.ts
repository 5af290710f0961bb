import { parseJid, type Jid } from '../core/jid.ts';
import { enforceNick } from './nick.ts';
import { xml, type Element } from '../xml/element.ts';
import { StanzaError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';
import type { Occupant } from './occupant.ts';
import type { Room } from './room.ts';
import type { MucService } from './service.ts';
import { AFFILIATION_RANK, type Affiliation, type Role } from './types.ts';

const AFFILIATIONS: readonly string[] = ['owner', 'admin', 'member', 'none', 'outcast'];
const ROLES: readonly string[] = ['moderator', 'participant', 'visitor', 'none'];
/** Lists that can be requested ("a service does not maintain a none list", XEP-0045 5.2). */
const AFFILIATION_LISTS: readonly string[] = ['owner', 'admin', 'member', 'outcast'];
const ROLE_LISTS: readonly string[] = ['moderator', 'participant', 'visitor'];

const isPrivileged = (aff: Affiliation) => aff === 'owner' || aff === 'admin';

type Change =
  | { kind: 'role'; target: Occupant; role: Role; reason?: string }
  | { kind: 'affiliation'; bare: string; affiliation: Affiliation; nick?: string; reason?: string };

/**
 * muc#admin (XEP-0045 sections 8 to 10): role changes by nick (kick, voice, moderator status),
 * affiliation changes by bare JID (ban, member, admin, owner, none), several items in one IQ
 * (validated all together: one refused item refuses the whole IQ, nothing changes), and the
 * role and affiliation lists.
 */
export function installAdmin(muc: MucService): void {
  muc.roomIq.on('set', 'query', NS.MUC_ADMIN, async ({ room, from, payload, sendResult }) => {
    const items = payload.getChildren('item');
    if (items.length === 0) throw new StanzaError('bad-request', 'an <item/> is required');
    const actor = room.occupantOf(from);
    const changes = items.map((item) => parseChange(muc, room, from, actor, item));
    checkWholeRequest(room, changes);

    // Affiliations are stored before the requester hears of success; roles live in memory.
    const before = new Map<Change, Affiliation>();
    let affiliationsChanged = false;
    for (const c of changes) {
      if (c.kind !== 'affiliation') continue;
      before.set(c, room.recordAffiliation(c.bare, c.affiliation, c.reason));
      if (c.nick === '') room.setRegisteredNick(c.bare, undefined);
      else if (c.nick !== undefined) room.setRegisteredNick(c.bare, c.nick);
      affiliationsChanged = true;
    }
    if (affiliationsChanged) await room.save();

    // "The service MUST then inform the moderator of success", then the presence updates follow.
    sendResult?.();
    for (const c of changes) {
      if (c.kind === 'affiliation') {
        room.applyAffiliation(c.bare, before.get(c)!, actor, c.reason);
      } else if (room.occupants.get(c.target.nick) === c.target && c.target.role !== c.role) {
        // (An earlier item of the same IQ may have removed the occupant already.)
        room.setRole(c.target, c.role, actor, c.reason);
      }
    }
    if (affiliationsChanged) muc.hooks.emit('room:changed', { room });
    return undefined;
  });

  muc.roomIq.on('get', 'query', NS.MUC_ADMIN, ({ room, from, payload }) => {
    const items = payload.getChildren('item');
    if (items.length === 0) throw new StanzaError('bad-request', 'an <item/> with an affiliation or a role is required');
    const query = xml('query', { xmlns: NS.MUC_ADMIN });
    for (const item of items) {
      const affiliation = item.attrs.affiliation as string | undefined;
      const role = item.attrs.role as string | undefined;
      if ((affiliation === undefined) === (role === undefined)) throw new StanzaError('bad-request', 'ask for either an affiliation or a role');
      if (affiliation !== undefined) affiliationList(room, from, affiliation, query);
      else roleList(room, from, role!, query);
    }
    return query;
  });
}

// ------------------------------------------------------------------ set

function parseChange(muc: MucService, room: Room, from: Jid, actor: Occupant | undefined, item: Element): Change {
  const affiliation = item.attrs.affiliation as string | undefined;
  const role = item.attrs.role as string | undefined;
  const reason = item.getChildText('reason') ?? undefined;
  // XEP-0045 17.4: one item changes either the affiliation or the role, never both.
  if (affiliation !== undefined && role !== undefined) throw new StanzaError('bad-request', 'an item changes either an affiliation or a role, not both');
  if (affiliation === undefined && role === undefined) throw new StanzaError('bad-request', 'an item needs an affiliation or a role');
  if (role !== undefined) {
    if (!ROLES.includes(role)) throw new StanzaError('bad-request', `unknown role ${role}`);
    const target = roleTarget(room, actor, item);
    checkRoleChange(room, from, actor, target, role as Role);
    return { kind: 'role', target, role: role as Role, reason };
  }
  if (!AFFILIATIONS.includes(affiliation!)) throw new StanzaError('bad-request', `unknown affiliation ${affiliation}`);
  const aff = affiliation as Affiliation;
  // Who may not change affiliations at all learns nothing more.
  if (!isPrivileged(room.affiliation(from.bare))) throw new StanzaError('forbidden', 'only admins and owners may change affiliations');
  const { bare, nick } = affiliationTarget(room, item);
  checkAffiliationChange(muc, room, from, bare, aff);
  return { kind: 'affiliation', bare, affiliation: aff, nick: aff === 'none' || aff === 'outcast' ? undefined : nick, reason };
}

/** The occupant a role item names: by nick (XEP-0045 17.4), or by the JID of one of its sessions. */
function roleTarget(room: Room, actor: Occupant | undefined, item: Element): Occupant {
  // Who may not change roles at all learns nothing about who is here.
  if (!actor || actor.role !== 'moderator') throw new StanzaError('forbidden', 'only moderators may change roles');
  const nick = item.attrs.nick as string | undefined;
  if (nick !== undefined) {
    const target = room.occupants.get(nick);
    if (!target) throw new StanzaError('item-not-found', `there is no occupant ${nick} in this room`);
    return target;
  }
  const jidAttr = item.attrs.jid as string | undefined;
  if (jidAttr === undefined) throw new StanzaError('bad-request', 'a role item needs the nick of the occupant');
  const jid = parseJid(jidAttr);
  if (!jid) throw new StanzaError('jid-malformed', `${jidAttr} is not a valid JID`);
  const target = jid.resource ? room.bySession.get(jid.full) : [...room.occupants.values()].find((o) => o.bare === jid.bare);
  if (!target) throw new StanzaError('item-not-found', `${jid.full} is not in this room`);
  return target;
}

/**
 * Who may give whom which role (XEP-0045 5.1.3, 8.2 to 8.4, 9.6, 9.7); throws when refused.
 * Also used for voice requests (src/muc/moderated.ts).
 */
export function checkRoleChange(room: Room, from: Jid, actor: Occupant | undefined, target: Occupant, role: Role): void {
  if (!actor || actor.role !== 'moderator') throw new StanzaError('forbidden', 'only moderators may change roles');
  if (role === target.role) return; // nothing changes
  const actorAff = room.affiliation(from.bare);
  const targetAff = room.affiliation(target.bare);
  const actorRank = AFFILIATION_RANK[actorAff];
  const targetRank = AFFILIATION_RANK[targetAff];

  if (role === 'none') {
    // 8.2: a moderator MAY be refused kicking itself, with conflict.
    if (target.bare === from.bare) throw new StanzaError('conflict', 'you cannot kick yourself');
    // 8.2: "A user cannot be kicked by a moderator with a lower affiliation"; admins and owners
    // only by a higher one (an owner may kick an admin; nobody kicks an owner).
    if (targetRank > actorRank || (isPrivileged(targetAff) && targetRank >= actorRank)) {
      throw new StanzaError('not-allowed', `you cannot kick a user whose affiliation (${targetAff}) is ${targetRank > actorRank ? 'above' : 'equal to'} yours`);
    }
    // 5.1.3: a moderator is kicked only by an admin or owner.
    if (target.role === 'moderator' && !isPrivileged(actorAff)) throw new StanzaError('not-allowed', 'only admins and owners may kick a moderator');
    return;
  }
  // 8.4, 9.7: "a service MUST NOT allow the voice privileges of an admin or owner to be removed by
  // anyone", nor their moderator status; their role follows their affiliation.
  if (isPrivileged(targetAff)) throw new StanzaError('not-allowed', `the role of an ${targetAff} cannot be changed`);
  if (role === 'moderator' || target.role === 'moderator') {
    // 9.6, 9.7 (admin use cases): only admins and owners grant or revoke moderator status.
    if (!isPrivileged(actorAff)) throw new StanzaError('forbidden', 'only admins and owners may grant or revoke moderator status');
    return;
  }
  // 8.4: "A moderator MUST NOT be able to revoke voice from a user whose affiliation is at or
  // above the moderator's level." Granting voice (8.3) is open to every moderator.
  if (role === 'visitor' && targetRank >= actorRank) throw new StanzaError('not-allowed', 'you cannot revoke voice from a user of your affiliation or above');
}

/** The bare JID an affiliation item names (a full JID counts as its bare JID, XEP-0045 10.3). */
function affiliationTarget(room: Room, item: Element): { bare: string; nick?: string } {
  const jidAttr = item.attrs.jid as string | undefined;
  const nick = item.attrs.nick as string | undefined;
  if (jidAttr !== undefined) {
    const jid = parseJid(jidAttr);
    if (!jid) throw new StanzaError('jid-malformed', `${jidAttr} is not a valid JID`);
    // A nick given with the JID is registered for it ('' drops the registration): enforced as a join's.
    if (!nick) return { bare: jid.bare, nick };
    const enforced = enforceNick(nick);
    if (enforced === undefined) throw new StanzaError('jid-malformed', `${nick} is not an allowed nickname`);
    return { bare: jid.bare, nick: enforced };
  }
  // Some clients name a present occupant by nick only (Prosody accepts it too).
  if (nick === undefined) throw new StanzaError('bad-request', 'an affiliation item needs the bare JID of the user');
  const occupant = room.occupants.get(nick);
  if (!occupant) throw new StanzaError('item-not-found', `there is no occupant ${nick} in this room`);
  return { bare: occupant.bare };
}

/** Who may give whom which affiliation (XEP-0045 5.2, 9.1 to 9.5, 10.3 to 10.8). */
function checkAffiliationChange(muc: MucService, room: Room, from: Jid, bare: string, aff: Affiliation): void {
  const actorAff = room.affiliation(from.bare);
  const targetAff = room.affiliation(bare);
  // 9.1: "If an admin or owner attempts to ban himself, the service MUST deny the request and
  // return a <conflict/> error."
  if (aff === 'outcast' && bare === from.bare) throw new StanzaError('conflict', 'you cannot ban yourself');
  if (muc.isAdmin(bare) && aff !== 'owner') throw new StanzaError('not-allowed', 'service administrators own every room');
  if (actorAff === 'owner') return;
  // Admins from here on. 9.1: "a user cannot be banned by an admin with a lower affiliation",
  // and only an owner bans an admin (5.2.2).
  if (aff === 'outcast' && isPrivileged(targetAff)) throw new StanzaError('not-allowed', `an admin cannot ban an ${targetAff}`);
  // 10.5, 10.8: only owners edit the owner and admin lists.
  if (isPrivileged(aff) || isPrivileged(targetAff)) throw new StanzaError('forbidden', 'only owners may grant or revoke admin and owner status');
}

/** Checks on the request as a whole, after each item passed on its own. */
function checkWholeRequest(room: Room, changes: Change[]): void {
  // Every room keeps an owner (XEP-0045 10.6): a change that would leave none is a conflict.
  const after = new Map(Object.entries(room.record.affiliations));
  for (const c of changes) if (c.kind === 'affiliation') after.set(c.bare, c.affiliation);
  const owners = (m: Map<string, string>) => [...m.values()].filter((a) => a === 'owner').length;
  if (owners(after) === 0 && owners(new Map(Object.entries(room.record.affiliations))) > 0) {
    throw new StanzaError('conflict', 'the room would be left without an owner');
  }
  // A reserved nick that belongs to somebody else cannot be given (XEP-0045 9.3).
  for (const c of changes) {
    if (c.kind !== 'affiliation' || !c.nick) continue;
    const holder = room.nickOwner(c.nick);
    const present = room.occupants.get(c.nick);
    if ((holder !== undefined && holder !== c.bare) || (present && present.bare !== c.bare)) {
      throw new StanzaError('conflict', `the nickname ${c.nick} belongs to another user`);
    }
  }
}

// ------------------------------------------------------------------ get

/**
 * The owner, admin, member and ban lists (XEP-0045 9.2, 9.5, 10.5, 10.8): admins and owners may
 * read the member and ban lists; the owner and admin lists are for owners, and for admins too in
 * non-anonymous rooms (v1.35: "In non-anonymous rooms, the service MAY process the request"); a
 * member may read the member list of a non-anonymous room (9.5), not of a semi-anonymous one.
 */
function affiliationList(room: Room, from: Jid, affiliation: string, query: Element): void {
  if (!AFFILIATION_LISTS.includes(affiliation)) throw new StanzaError('bad-request', `there is no ${affiliation} list`);
  const mine = room.affiliation(from.bare);
  const allowed =
    mine === 'owner' ||
    (mine === 'admin' && (affiliation === 'member' || affiliation === 'outcast' || !room.anonymous)) ||
    (mine === 'member' && affiliation === 'member' && !room.anonymous);
  if (!allowed) throw new StanzaError('forbidden', `you may not see the ${affiliation} list of this room`);
  for (const [bare, aff] of Object.entries(room.record.affiliations)) {
    if (aff !== affiliation) continue;
    // 17.4: affiliation items carry the bare JID and the nick (not for outcasts), never a role.
    const attrs: Record<string, string> = { affiliation: aff, jid: bare };
    if (aff !== 'outcast') {
      const nick = room.record.nicks[bare] ?? [...room.occupants.values()].find((o) => o.bare === bare)?.nick;
      if (nick) attrs.nick = nick;
    }
    const el = query.c('item', attrs);
    // 9.2: the ban list gives the reason of each ban.
    const reason = aff === 'outcast' ? room.banReason(bare) : undefined;
    if (reason) el.c('reason').t(reason);
  }
}

/**
 * The moderator, participant (voice) and visitor lists (XEP-0045 8.5, 9.8): a moderator asks for
 * the voice and visitor lists; the moderator list belongs to the admin use cases, so it is for
 * admins and owners. Items carry nick, role, affiliation and full JID (17.4).
 */
function roleList(room: Room, from: Jid, role: string, query: Element): void {
  if (!ROLE_LISTS.includes(role)) throw new StanzaError('bad-request', `there is no ${role} list`);
  if (role === 'moderator') {
    if (!isPrivileged(room.affiliation(from.bare))) throw new StanzaError('forbidden', 'only admins and owners may see the moderator list');
  } else if (room.occupantOf(from)?.role !== 'moderator') {
    throw new StanzaError('forbidden', `only moderators may see the ${role} list`);
  }
  for (const occupant of room.occupants.values()) {
    if (occupant.role !== role) continue;
    const jid = occupant.sessions.keys().next().value;
    query.c('item', { affiliation: room.affiliation(occupant.bare), ...(jid ? { jid } : {}), nick: occupant.nick, role: occupant.role });
  }
}
