import { domainToASCII } from 'node:url';
import { opaqueString, usernameCaseMapped, utf8Length } from './precis.ts';

/**
 * A validated JID in its RFC 7622 canonical form: the localpart through PRECIS
 * UsernameCaseMapped, the domain through IDNA (UTS #46) to lower-case ASCII, the resource
 * through PRECIS OpaqueString (case kept).
 */
export interface Jid {
  readonly local: string;
  readonly domain: string;
  readonly resource: string;
  /** local@domain (or domain). */
  readonly bare: string;
  /** bare/resource (or bare). */
  readonly full: string;
}

/** RFC 7622 §3.3.1: besides UsernameCaseMapped's rules, a localpart cannot hold these. */
const LOCAL_FORBIDDEN = /["&'/:<>@]/;
/** Printable ASCII: PRECIS leaves it as is (apart from case), so JIDs in it skip the per-character rules. */
const ASCII_LOCAL = /^[\x21-\x7e]+$/;
const ASCII_RESOURCE = /^[\x20-\x7e]+$/;
const PART_MAX = 1023;

/**
 * Remembers a string function's results: every routed stanza's `to` and `from` are parsed, and a
 * server sees few distinct domains, and few distinct non-ASCII names and nicks, so IDNA and the
 * PRECIS rules run once per string. Bounded: the memo starts over when it fills up, and long
 * strings (rare, and the costliest to keep) are not kept.
 */
function remembered<T>(fn: (s: string) => T, max = 1000): (s: string) => T {
  const memo = new Map<string, T>();
  return (s) => {
    if (s.length > 256) return fn(s);
    if (memo.has(s)) return memo.get(s) as T;
    const out = fn(s);
    if (memo.size >= max) memo.clear();
    memo.set(s, out);
    return out;
  };
}

const toASCII = remembered(domainToASCII);
const preparedLocal = remembered(usernameCaseMapped);
const preparedResource = remembered(opaqueString);

/**
 * The localpart of a JID, and so the username of an account (RFC 6120 §6.3.7: SASL's simple user
 * name is the localpart): UsernameCaseMapped, without RFC 7622's forbidden characters, 1 to 1023
 * octets. Undefined when it cannot be one. IBR, SASL, the CLI and routing all prepare names here.
 */
export function localpart(raw: string): string | undefined {
  const s = ASCII_LOCAL.test(raw) ? raw.toLowerCase() : preparedLocal(raw);
  return s !== undefined && !LOCAL_FORBIDDEN.test(s) && utf8Length(s) <= PART_MAX ? s : undefined;
}

/** RFC 7622 §3.4: a resourcepart is an OpaqueString of 1 to 1023 octets. */
export function resourcepart(raw: string): string | undefined {
  const s = ASCII_RESOURCE.test(raw) ? raw : preparedResource(raw);
  return s !== undefined && utf8Length(s) <= PART_MAX ? s : undefined;
}

function make(local: string, domain: string, resource: string): Jid {
  const bare = local ? `${local}@${domain}` : domain;
  return { local, domain, resource, bare, full: resource ? `${bare}/${resource}` : bare };
}

/** Parses and validates a JID; returns undefined when it is malformed (jid-malformed). */
export function parseJid(input: string | undefined | null): Jid | undefined {
  // Three parts of at most 1023 octets each, and two separators: no more UTF-16 units than that.
  if (!input || input.length > 3 * PART_MAX + 2) return undefined;
  const slash = input.indexOf('/');
  const head = slash === -1 ? input : input.slice(0, slash);
  const at = head.indexOf('@');
  let local = '';
  if (at !== -1) {
    const l = localpart(head.slice(0, at));
    if (l === undefined) return undefined;
    local = l;
  }
  let resource = '';
  if (slash !== -1) {
    const r = resourcepart(input.slice(slash + 1));
    if (r === undefined) return undefined;
    resource = r;
  }
  let domain = at === -1 ? head : head.slice(at + 1);
  if (domain.endsWith('.')) domain = domain.slice(0, -1);
  if (!domain || utf8Length(domain) > PART_MAX || domain.includes('@')) return undefined;
  const ascii = domain.startsWith('[') ? domain : toASCII(domain);
  if (!ascii || /[\s/\\?#]/.test(ascii)) return undefined;
  return make(local, ascii.toLowerCase(), resource);
}

export function jidOf(local: string, domain: string, resource = ''): Jid {
  return make(local, domain, resource);
}

export function bareOf(jid: Jid): Jid {
  return make(jid.local, jid.domain, '');
}
