import { resourcepart } from '../core/jid.ts';
import { nickname, nicknameKey } from '../core/precis.ts';

/**
 * Room nicknames, in one place: the PRECIS Nickname profile (RFC 8266, which replaced the
 * RFC 7700 that XEP-0045 points room nicks to). A nick is enforced once, where it enters the
 * room (join, nick change, registration, an admin's affiliation item), keeping its case; nicks
 * are compared through their RFC 8266 comparison form, so `Ａlice`, `alice` and `ALICE` are one
 * nick.
 */

/**
 * The nick as the room uses it, or undefined when the Nickname profile refuses it (ignorable,
 * bidi and control characters, variation selectors, spaces only). It is also the resourcepart of
 * the occupant JID, so it must be one (RFC 7622: at most 1023 UTF-8 octets).
 */
export function enforceNick(raw: string): string | undefined {
  const nick = nickname(raw);
  return nick !== undefined && resourcepart(nick) === nick ? nick : undefined;
}

/** The form in which two nicks are compared. */
export const nickKey = nicknameKey;

/**
 * Values by nick, found however the nick is cased or width-mapped. Iterates the nicks as they
 * were set (keys) and the values in insertion order, as a Map does.
 */
export class NickMap<V> {
  private readonly byKey = new Map<string, V>();
  private readonly nicks = new Map<string, string>();

  get size(): number {
    return this.byKey.size;
  }

  get(nick: string): V | undefined {
    return this.byKey.get(nickKey(nick));
  }

  has(nick: string): boolean {
    return this.byKey.has(nickKey(nick));
  }

  set(nick: string, value: V): this {
    const key = nickKey(nick);
    this.byKey.set(key, value);
    this.nicks.set(key, nick);
    return this;
  }

  delete(nick: string): boolean {
    const key = nickKey(nick);
    this.nicks.delete(key);
    return this.byKey.delete(key);
  }

  values(): IterableIterator<V> {
    return this.byKey.values();
  }

  keys(): IterableIterator<string> {
    return this.nicks.values();
  }
}
