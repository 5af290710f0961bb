import { parseJid } from '../core/jid.ts';
import type { Element } from '../xml/element.ts';
import { NS } from '../xml/ns.ts';

export type MucPushPolicy = 'mentions' | 'all';

/** The room's override when it has one, else the server's `push.mucPolicy`. */
export function effectivePolicy(room: 'default' | 'mentions' | 'all' | undefined, server: MucPushPolicy): MucPushPolicy {
  return room === 'mentions' || room === 'all' ? room : server;
}

/** Who a mention may point at: a member's registered (or current) nick in a room, and their bare JID. */
export interface MentionTarget {
  nick: string;
  bare: string;
  /** The room's bare JID. */
  room: string;
}

const WORD = /[\p{L}\p{N}_]/u;

/**
 * Whether a groupchat message mentions the target: an XEP-0372 reference of type `mention`
 * whose URI is the member's JID or their occupant JID, or whose begin/end range (code points,
 * end exclusive) covers their nick (Prosody's reading); or the nick written plainly in the body
 * as a whole word, case-insensitively.
 */
export function mentions(stanza: Element, body: string, target: MentionTarget): boolean {
  let codePoints: string[] | null = null;
  const nickLower = target.nick.toLowerCase();
  for (const ref of stanza.getChildren('reference', NS.REFERENCE)) {
    if (ref.attrs.type !== 'mention') continue;
    const uri = ref.attrs.uri as string | undefined;
    if (uri) {
      const jid = jidOfUri(uri);
      if (jid && (jid.bare === target.bare || (jid.bare === target.room && jid.resource === target.nick))) return true;
    }
    const begin = Number(ref.attrs.begin);
    const end = Number(ref.attrs.end);
    if (ref.attrs.begin !== undefined && ref.attrs.end !== undefined && Number.isInteger(begin) && Number.isInteger(end) && begin >= 0 && end > begin) {
      codePoints ??= Array.from(body);
      if (end > codePoints.length) continue;
      let text = codePoints.slice(begin, end).join('');
      if (text.startsWith('@')) text = text.slice(1);
      if (text.toLowerCase() === nickLower) return true;
    }
  }
  return target.nick.length > 0 && plainMention(body, target.nick);
}

/** The nick appears in the body as a whole word (not inside a longer word), ignoring case. */
export function plainMention(body: string, nick: string): boolean {
  const hay = body.toLowerCase();
  const needle = nick.toLowerCase();
  if (!needle) return false;
  const checkStart = WORD.test(String.fromCodePoint(needle.codePointAt(0)!));
  const last = Array.from(needle).pop()!;
  const checkEnd = WORD.test(last);
  for (let i = hay.indexOf(needle); i !== -1; i = hay.indexOf(needle, i + 1)) {
    if (checkStart && i > 0 && WORD.test(codePointBefore(hay, i))) continue;
    const after = i + needle.length;
    if (checkEnd && after < hay.length && WORD.test(String.fromCodePoint(hay.codePointAt(after)!))) continue;
    return true;
  }
  return false;
}

function codePointBefore(s: string, i: number): string {
  const low = s.charCodeAt(i - 1);
  if (low >= 0xdc00 && low <= 0xdfff && i >= 2) return s.slice(i - 2, i);
  return s.slice(i - 1, i);
}

function jidOfUri(uri: string) {
  if (!uri.startsWith('xmpp:')) return undefined;
  let rest = uri.slice(5);
  if (rest.startsWith('//')) return undefined; // an authority component is not a mention target
  const q = rest.indexOf('?');
  if (q !== -1) rest = rest.slice(0, q);
  try {
    rest = decodeURIComponent(rest);
  } catch {
    return undefined;
  }
  return parseJid(rest);
}

const ENCRYPTED: [string, string][] = [
  ['encrypted', NS.OMEMO],
  ['encrypted', NS.OMEMO2],
  ['openpgp', NS.OX],
  ['x', NS.PGP],
];

/** An end-to-end encrypted payload (OMEMO, OX, legacy PGP): important though the body is a fallback. */
export function isEncrypted(stanza: Element): boolean {
  return ENCRYPTED.some(([name, ns]) => stanza.getChild(name, ns) !== undefined);
}

const CARBONS = 'urn:xmpp:carbons:2';

/**
 * What a message stanza to a user amounts to, for push (mod_cloud_notify's reading): its
 * effective message (a received carbon is unwrapped; a sent carbon is the user's own and
 * never pushes), and whether it is important (non-empty body or encrypted payload).
 */
export function pushableMessage(stanza: Element): { message: Element; body: string | null; important: boolean } | null {
  if (stanza.name !== 'message') return null;
  const type = (stanza.attrs.type as string | undefined) ?? 'normal';
  if (type === 'error' || type === 'headline') return null;
  if (stanza.getChild('sent', CARBONS)) return null;
  let message = stanza;
  const received = stanza.getChild('received', CARBONS);
  if (received) {
    const inner = received.getChild('forwarded', NS.FORWARD)?.getChild('message');
    if (!inner) return null;
    message = inner;
  }
  const bodyText = message.getChildText('body');
  const body = bodyText && bodyText.trim() ? bodyText : null;
  const important = body !== null || isEncrypted(message);
  if (!important) return null;
  return { message, body, important };
}
