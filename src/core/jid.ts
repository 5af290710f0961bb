import { domainToASCII } from 'node:url';

/** A validated, normalized JID. Local part and domain are lower-cased; resource kept as is. */
export interface Jid {
  readonly local: string;
  readonly domain: string;
  readonly resource: string;
  /** local@domain (or domain). */
  readonly bare: string;
  /** bare/resource (or bare). */
  readonly full: string;
}

// RFC 7622 forbids these in a local part.
const LOCAL_FORBIDDEN = /["&'/:<>@\s\u0000-\u001f\u007f]/;
const CONTROL = /[\u0000-\u001f\u007f]/;

function make(local: string, domain: string, resource: string): Jid {
  const bare = local ? `${local}@${domain}` : domain;
  return { local, domain, resource, bare, full: resource ? `${bare}/${resource}` : bare };
}

/**
 * `domainToASCII` (IDNA), remembered: every routed stanza's `to` and `from` are parsed, and a
 * server sees few distinct domains. Bounded: the memo starts over when it fills up.
 */
const asciiDomains = new Map<string, string>();
const ASCII_DOMAINS_MAX = 1000;
function toASCII(domain: string): string {
  let ascii = asciiDomains.get(domain);
  if (ascii === undefined) {
    ascii = domainToASCII(domain);
    if (asciiDomains.size >= ASCII_DOMAINS_MAX) asciiDomains.clear();
    asciiDomains.set(domain, ascii);
  }
  return ascii;
}

/** Parses and validates a JID; returns undefined when it is malformed (jid-malformed). */
export function parseJid(input: string | undefined | null): Jid | undefined {
  if (!input || input.length > 3071) return undefined;
  const slash = input.indexOf('/');
  const head = slash === -1 ? input : input.slice(0, slash);
  const resource = slash === -1 ? '' : input.slice(slash + 1);
  const at = head.indexOf('@');
  const local = at === -1 ? '' : head.slice(0, at);
  let domain = at === -1 ? head : head.slice(at + 1);
  if (at !== -1 && (local.length === 0 || local.length > 1023 || LOCAL_FORBIDDEN.test(local))) return undefined;
  if (slash !== -1 && (resource.length === 0 || resource.length > 1023 || CONTROL.test(resource))) return undefined;
  if (domain.endsWith('.')) domain = domain.slice(0, -1);
  if (!domain || domain.length > 1023 || domain.includes('@')) return undefined;
  const ascii = domain.startsWith('[') ? domain : toASCII(domain);
  if (!ascii || /[\s/\\?#]/.test(ascii)) return undefined;
  return make(local.normalize('NFKC').toLowerCase(), ascii.toLowerCase(), resource.normalize('NFC'));
}

export function jidOf(local: string, domain: string, resource = ''): Jid {
  return make(local, domain, resource);
}

export function bareOf(jid: Jid): Jid {
  return make(jid.local, jid.domain, '');
}

/** A valid username for an account on this server (local part rules). */
export function isValidLocalpart(s: string): boolean {
  return s.length > 0 && s.length <= 1023 && !LOCAL_FORBIDDEN.test(s);
}
