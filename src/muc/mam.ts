import { randomUUID } from 'node:crypto';
import { parseJid, type Jid } from '../core/jid.ts';
import { nickKey } from './nick.ts';
import { RoomArchive, parseArchived, type ArchivedMessage } from '../store/archive.ts';
import { cloneElement, formValues, xml, type Element } from '../xml/element.ts';
import { StanzaError } from '../xml/errors.ts';
import { NS } from '../xml/ns.ts';
import type { MucService } from './service.ts';
import type { Room } from './room.ts';
import { AFFILIATION_RANK } from './types.ts';

const MAM_EXTENDED = `${NS.MAM}#extended`;
const XDATA_VALIDATE = 'http://jabber.org/protocol/xdata-validate';
/** Page size when the client gives no RSM <max/>. */
export const MAM_DEFAULT_MAX = 50;
/** Largest page the room sends, whatever the client asks for. */
export const MAM_MAX = 100;

/** XEP-0082 DateTime (the profile XEP-0313 requires for start and end). */
const DATETIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

interface Criteria {
  start?: number;
  end?: number;
  afterId?: string;
  beforeId?: string;
  ids?: string[];
  match?: (m: ArchivedMessage) => boolean;
  max: number;
  /** RSM <before/>: the page is taken from the newest end. */
  backwards: boolean;
  flip: boolean;
}

/**
 * XEP-0313 on rooms: groupchat messages with a body are archived when the room's
 * muc#roomconfig_enablearchiving is on; occupants (and, for members-only rooms, members) query
 * the room's bare JID with a data form and RSM paging. Result ids are the stanza-ids occupants
 * saw live.
 */
export function installMam(muc: MucService): void {
  const archive = new RoomArchive(muc.ctx.store, (err, what) => muc.ctx.log.error({ err }, what));
  muc.archive = archive;

  muc.roomFeatures.push((room) => (room.config.archiving ? [NS.MAM, MAM_EXTENDED] : []));

  // Archived before the broadcast (see 'room:commit-message'): an echo whose stanza-id history
  // will never show is worse than no echo. The archive logs the failed write; the sender is told.
  muc.hooks.on('room:commit-message', async ({ room, occupant, from, stanza, stanzaId }) => {
    if (!room.config.archiving || !stanza.getChild('body')) return;
    try {
      await archive.append(room.jid.bare, stanzaId, { xml: archivable(stanza).toString(), nick: occupant.nick, jid: from.bare });
    } catch (err) {
      throw err instanceof StanzaError ? err : new StanzaError('internal-server-error', 'the message could not be archived', 'wait');
    }
  });

  // A brand-new room starts with an empty archive, even if a room of that name left one behind
  // (e.g. a temporary room whose deletion was cut short by a shutdown). Loaded rooms are persistent.
  muc.hooks.on('room:created', ({ room }) => {
    if (!room.config.persistent) void archive.removeRoom(room.jid.bare);
  });
  muc.hooks.on('room:destroyed', ({ room }) => void archive.removeRoom(room.jid.bare));

  muc.roomIq.on('get', 'query', NS.MAM, ({ room, from }) => {
    checkAccess(room, from);
    return xml('query', { xmlns: NS.MAM }, queryForm());
  });

  muc.roomIq.on('get', 'metadata', NS.MAM, async ({ room, from }) => {
    checkAccess(room, from);
    const md = xml('metadata', { xmlns: NS.MAM });
    const edges = await archive.edges(room.jid.bare);
    if (edges) {
      md.c('start', { id: edges.first.id, timestamp: stamp(edges.first.time) });
      md.c('end', { id: edges.last.id, timestamp: stamp(edges.last.time) });
    }
    return md;
  });

  muc.roomIq.on('set', 'query', NS.MAM, async ({ room, from, payload }) => {
    checkAccess(room, from);
    const roomJid = room.jid.bare;
    const c = parseCriteria(room, from, payload);
    for (const id of [c.afterId, c.beforeId, ...(c.ids ?? [])]) {
      if (id !== undefined && !(await archive.has(roomJid, id))) throw new StanzaError('item-not-found', `no message ${id} in this archive`);
    }

    let items: ArchivedMessage[];
    let complete: boolean;
    if (c.ids) {
      const found = (await Promise.all(c.ids.map((id) => archive.entry(roomJid, id)))).filter((m): m is ArchivedMessage => m !== null);
      const unique = [...new Map(found.map((m) => [m.id, m])).values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const matching = unique.filter((m) => inTime(m, c) && (!c.match || c.match(m)));
      items = c.backwards ? matching.slice(Math.max(0, matching.length - c.max)) : matching.slice(0, c.max);
      complete = items.length === matching.length;
    } else {
      ({ items, complete } = await archive.query(roomJid, {
        start: c.start,
        end: c.end,
        afterId: c.afterId,
        beforeId: c.beforeId,
        match: c.match,
        limit: c.max,
        reverse: c.backwards,
      }));
    }

    // Results go out through the router before the IQ result that ends the query.
    const queryid = payload.attrs.queryid as string | undefined;
    const realJids = seesRealJids(room, from);
    const order = c.flip ? [...items].reverse() : items;
    for (const m of order) muc.ctx.router.route(resultMessage(room, from, m, queryid, realJids));

    const set = xml('set', { xmlns: NS.RSM });
    if (items.length > 0) {
      set.c('first').t(items[0]!.id);
      set.c('last').t(items[items.length - 1]!.id);
    }
    return xml('fin', { xmlns: NS.MAM, complete: String(complete) }, set);
  });
}

/** The message as archived: any muc#user payload is the room's to add, not the sender's. */
function archivable(stanza: Element): Element {
  if (!stanza.children.some((c) => typeof c !== 'string' && c.name === 'x' && c.attrs.xmlns === NS.MUC_USER)) return stanza;
  const copy = cloneElement(stanza);
  copy.children = copy.children.filter((c) => typeof c === 'string' || !(c.name === 'x' && c.attrs.xmlns === NS.MUC_USER));
  return copy;
}

function resultMessage(room: Room, to: Jid, m: ArchivedMessage, queryid: string | undefined, realJids: boolean): Element {
  const original = parseArchived(m.xml);
  // XEP-0313 MUC archives: the forwarded message has no 'to', its 'from' is the occupant JID.
  original.attrs.xmlns = NS.CLIENT;
  delete original.attrs.to;
  if (realJids) original.c('x', { xmlns: NS.MUC_USER }).c('item', { jid: m.jid });
  return xml(
    'message',
    { from: room.jid.bare, to: to.full, id: randomUUID() },
    xml(
      'result',
      { xmlns: NS.MAM, ...(queryid !== undefined ? { queryid } : {}), id: m.id },
      xml('forwarded', { xmlns: NS.FORWARD }, xml('delay', { xmlns: NS.DELAY, stamp: stamp(m.time) }), original),
    ),
  );
}

/**
 * Who may read a room's archive: whoever may enter it (XEP-0313 MUC archives). Owners of a
 * locked room only; no outcasts; affiliated users of members-only rooms; occupants or affiliated
 * users of password-protected rooms; anyone else in open rooms.
 */
function checkAccess(room: Room, from: Jid): void {
  const aff = room.affiliation(from.bare);
  if (room.locked && aff !== 'owner') throw new StanzaError('item-not-found', 'no such room');
  if (!room.config.archiving) throw new StanzaError('service-unavailable', 'this room keeps no archive');
  if (aff === 'outcast') throw new StanzaError('forbidden', 'you are banned from this room');
  const affiliated = AFFILIATION_RANK[aff] >= AFFILIATION_RANK.member;
  if (room.config.membersOnly && !affiliated) throw new StanzaError('forbidden', 'only members may read the archive of this room');
  if (room.config.password && !affiliated && !room.occupantOf(from)) throw new StanzaError('forbidden', 'enter the room to read its archive');
}

/** Real JIDs are shown to everyone in non-anonymous rooms, else to moderators and admins. */
function seesRealJids(room: Room, from: Jid): boolean {
  if (!room.anonymous) return true;
  const aff = room.affiliation(from.bare);
  if (aff === 'owner' || aff === 'admin') return true;
  return room.occupantOf(from)?.role === 'moderator';
}

function parseCriteria(room: Room, from: Jid, payload: Element): Criteria {
  const c: Criteria = { max: MAM_DEFAULT_MAX, backwards: false, flip: payload.getChild('flip-page') !== undefined };
  const form = payload.getChild('x', NS.DATA);
  if (form) {
    const type = form.attrs.type as string | undefined;
    if (type !== undefined && type !== 'submit') throw new StanzaError('bad-request', 'the query form must be of type submit');
    const values = formValues(form);
    for (const [name, vals] of values) {
      const one = vals[0] ?? '';
      switch (name) {
        case 'FORM_TYPE':
          if (one !== NS.MAM) throw new StanzaError('bad-request', `FORM_TYPE must be ${NS.MAM}`);
          break;
        case 'start':
          if (one) c.start = parseStamp(one, 'start');
          break;
        case 'end':
          if (one) c.end = parseStamp(one, 'end');
          break;
        case 'with':
          if (one) c.match = withFilter(room, from, one);
          break;
        case 'after-id':
        case `{${NS.MAM}}after-id`:
          if (one) c.afterId = one;
          break;
        case 'before-id':
        case `{${NS.MAM}}before-id`:
          if (one) c.beforeId = one;
          break;
        case 'ids':
        case `{${NS.MAM}}ids`:
          c.ids = vals.filter((v) => v !== '');
          break;
        default:
          throw new StanzaError('feature-not-implemented', `unknown query field ${name}`);
      }
    }
  }

  const set = payload.getChild('set', NS.RSM);
  if (set) {
    const maxText = set.getChildText('max');
    if (maxText !== null) {
      const n = Number(maxText.trim());
      if (maxText.trim() === '' || !Number.isInteger(n) || n < 0) throw new StanzaError('bad-request', 'RSM max must be a whole number');
      c.max = n;
    }
    const after = set.getChildText('after')?.trim();
    if (after) c.afterId = c.afterId === undefined || after > c.afterId ? after : c.afterId;
    const before = set.getChild('before');
    if (before) {
      // <before/> alone asks for the last page; with an id, the page just before it.
      c.backwards = true;
      const id = before.text().trim();
      if (id) c.beforeId = c.beforeId === undefined || id < c.beforeId ? id : c.beforeId;
    }
  }
  c.max = Math.min(c.max, MAM_MAX);
  return c;
}

/**
 * 'with': the room's own JID with a nick matches that nick; any other JID matches the sender's
 * real bare JID, for those allowed to know it (XEP-0313: not visitors of semi-anonymous rooms).
 */
function withFilter(room: Room, from: Jid, value: string): (m: ArchivedMessage) => boolean {
  const jid = parseJid(value);
  if (!jid) throw new StanzaError('jid-malformed', 'with must be a JID');
  if (jid.bare === room.jid.bare) {
    if (!jid.resource) return () => true;
    const key = nickKey(jid.resource);
    return (m) => nickKey(m.nick) === key;
  }
  if (!seesRealJids(room, from)) throw new StanzaError('forbidden', 'real JIDs are only visible to moderators in this room');
  return (m) => m.jid === jid.bare;
}

function inTime(m: ArchivedMessage, c: Criteria): boolean {
  return (c.start === undefined || m.time >= Math.ceil(c.start)) && (c.end === undefined || m.time <= Math.floor(c.end));
}

/** A XEP-0082 DateTime in milliseconds (fractions below a millisecond kept). */
function parseStamp(s: string, field: string): number {
  const m = DATETIME.exec(s.trim());
  const base = m ? Date.parse(`${m[1]}${m[3]}`) : NaN;
  if (!m || Number.isNaN(base)) throw new StanzaError('bad-request', `${field} must be a date and time like 2024-01-31T12:00:00Z`);
  return base + (m[2] ? Number(`0${m[2]}`) * 1000 : 0);
}

function stamp(ms: number): string {
  return new Date(ms).toISOString();
}

/** The fields a query may use (XEP-0313 4.1.5). */
function queryForm(): Element {
  const x = xml('x', { xmlns: NS.DATA, type: 'form' });
  x.c('field', { type: 'hidden', var: 'FORM_TYPE' }).c('value').t(NS.MAM);
  x.c('field', { type: 'jid-single', var: 'with' });
  x.c('field', { type: 'text-single', var: 'start' });
  x.c('field', { type: 'text-single', var: 'end' });
  x.c('field', { type: 'text-single', var: 'before-id' });
  x.c('field', { type: 'text-single', var: 'after-id' });
  x.c('field', { type: 'list-multi', var: 'ids' }).c('validate', { xmlns: XDATA_VALIDATE, datatype: 'xs:string' }).c('open');
  return x;
}
