import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseJid } from '../core/jid.ts';
import { defaultAppServerDomain, defaultConfig, defaultMucDomain } from './defaults.ts';
import { jsonErrorOffset, lineAndColumn } from './json-position.ts';
import { LOG_LEVELS, type Config, type LogLevel } from './types.ts';


/** An invalid configuration: `errors` holds one message per problem, each naming its field. */
export class ConfigError extends Error {
  readonly errors: readonly string[];
  /** The file (or other source) the configuration came from, when known. */
  readonly source: string | undefined;

  constructor(errors: readonly string[], source?: string) {
    const prefix = source ? `${source}: ` : '';
    super(
      errors.length === 1
        ? `${prefix}${errors[0]}`
        : `${prefix}${errors.length} configuration errors:\n${errors.map((e) => `  - ${e}`).join('\n')}`,
    );
    this.name = 'ConfigError';
    this.errors = errors;
    this.source = source;
  }
}

/** Command-line overrides, applied on top of the file. */
export interface ConfigFlags {
  domain?: string;
  dataDir?: string;
  c2sPort?: number;
  httpPort?: number;
  /** Listen address for both c2s and http (`0.0.0.0` in containers). */
  host?: string;
  /** `--unlocked-rooms`: muc.unlockedByDefault. */
  unlockedRooms?: boolean;
  /** Overrides `log.level`. */
  logLevel?: string;
}

export interface ValidateOptions {
  /** Relative paths in `raw` (dataDir, tls files) are resolved against this folder. */
  baseDir?: string;
  /** Named in the ConfigError (usually the file path). */
  source?: string;
}

// ---------------------------------------------------------------------------------------------
// Reading

/**
 * Reads and parses a JSON config file. Throws a ConfigError naming the path when the file
 * cannot be read or is not valid JSON. With `missingOk`, a missing file yields `undefined`.
 */
export async function loadConfigFile(path: string, opts: { missingOk?: boolean } = {}): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (opts.missingOk && e.code === 'ENOENT') return undefined;
    const why =
      e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'is a directory' : e.message;
    throw new ConfigError([`cannot read config file ${path}: ${why}`]);
  }
  const json = text.replace(/^\uFEFF/, '');
  try {
    return JSON.parse(json) as unknown;
  } catch (err) {
    const { line, column } = lineAndColumn(json, Math.max(0, jsonErrorOffset(json)));
    // V8's own position (given for some errors only) and its quote of the text say less than line and column.
    const why = (err as Error).message.replace(/ in JSON at position \d+.*$/s, '').replace(/, ".*" is not valid JSON$/s, '');
    throw new ConfigError([`config file ${path} is not valid JSON at line ${line}, column ${column}: ${why}`]);
  }
}

// ---------------------------------------------------------------------------------------------
// Field checks

const INVALID = Symbol('invalid');
type Invalid = typeof INVALID;

interface Ctx {
  errors: string[];
  /** Paths of the values found invalid: cross-field checks leave them out (already reported). */
  invalid: Set<string>;
  baseDir: string | undefined;
}

/** Validates one value found at `path`; returns the normalized value or INVALID (after pushing errors). */
type Check<T> = (value: unknown, path: string, ctx: Ctx) => T | Invalid;

type Schema<T> = {
  [K in keyof T]-?: Check<T[K]> | (T[K] extends Record<string, unknown> ? Schema<T[K]> : never);
};

function fail(ctx: Ctx, path: string, msg: string): Invalid {
  ctx.errors.push(`${path}: ${msg}`);
  ctx.invalid.add(path);
  return INVALID;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'object') return 'an object';
  return String(v);
}

function int(min: number, max?: number): Check<number> {
  const want = max === undefined ? `must be an integer >= ${min}` : `must be an integer from ${min} to ${max}`;
  return (v, path, ctx) =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min && (max === undefined || v <= max)
      ? v
      : fail(ctx, path, `${want} (got ${describe(v)})`);
}

const port = int(0, 65535);

function nullable<T>(check: Check<T>, what: string): Check<T | null> {
  return (v, path, ctx) => {
    if (v === null) return null;
    const errs: string[] = [];
    const r = check(v, path, { ...ctx, errors: errs });
    if (r === INVALID) return fail(ctx, path, `must be null or ${what} (got ${describe(v)})`);
    return r;
  };
}

const bool: Check<boolean> = (v, path, ctx) =>
  typeof v === 'boolean' ? v : fail(ctx, path, `must be true or false (got ${describe(v)})`);

function oneOf<T extends string>(...values: T[]): Check<T> {
  const quoted = values.map((x) => JSON.stringify(x));
  const want = quoted.length === 2 ? `${quoted[0]} or ${quoted[1]}` : `one of ${quoted.join(', ')}`;
  return (v, path, ctx) =>
    typeof v === 'string' && (values as string[]).includes(v) ? (v as T) : fail(ctx, path, `must be ${want} (got ${describe(v)})`);
}

const anyString: Check<string> = (v, path, ctx) =>
  typeof v === 'string' ? v : fail(ctx, path, `must be a string (got ${describe(v)})`);

/** A bearer token: long enough not to be guessed, and nothing that would not survive a header or a URL. */
const token: Check<string> = (v, path, ctx) =>
  typeof v === 'string' && /^[\x21-\x7e]{16,}$/.test(v) ? v : fail(ctx, path, `must be a string of 16 or more visible ASCII characters (got ${describe(v)})`);

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** Normalized (IDNA, lower-case) domain name, or undefined when it is not one. */
export function normalizeDomain(s: string): string | undefined {
  const jid = parseJid(s);
  if (!jid || jid.local || jid.resource || jid.bare !== jid.domain) return undefined;
  const d = jid.domain;
  if (d.length > 253 || !d.split('.').every((l) => LABEL.test(l))) return undefined;
  return d;
}

const domainName: Check<string> = (v, path, ctx) => {
  const d = typeof v === 'string' ? normalizeDomain(v) : undefined;
  return d ?? fail(ctx, path, `must be a domain name such as "example.com" (got ${describe(v)})`);
};

/** A service domain in a file: a domain, `null` (derived from `domain`) or `false` (disabled). */
const DERIVE = Symbol('derive');
function serviceDomain(prefix: string): Check<string | null> {
  return (v, path, ctx) => {
    if (v === null) return DERIVE as unknown as string;
    if (v === false) return null;
    const d = typeof v === 'string' ? normalizeDomain(v) : undefined;
    return (
      d ??
      fail(ctx, path, `must be a domain name, null (use ${prefix}.<domain>) or false (disable the service) (got ${describe(v)})`)
    );
  };
}

const HOSTNAME = /^(?=.{1,253}$)[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?(\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)*$/;
const listenHost: Check<string> = (v, path, ctx) =>
  typeof v === 'string' && (isIP(v) !== 0 || HOSTNAME.test(v))
    ? v
    : fail(ctx, path, `must be an IP address or host name to listen on, such as "127.0.0.1" or "0.0.0.0" (got ${describe(v)})`);

function isIpOrCidr(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash === -1) return isIP(s) !== 0;
  const family = isIP(s.slice(0, slash));
  const bits = s.slice(slash + 1);
  if (family === 0 || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

function arrayOf<T>(item: Check<T>): Check<T[]> {
  return (v, path, ctx) => {
    if (!Array.isArray(v)) return fail(ctx, path, `must be an array (got ${describe(v)})`);
    const out: T[] = [];
    let bad = false;
    v.forEach((x, i) => {
      const r = item(x, `${path}[${i}]`, ctx);
      if (r === INVALID) bad = true;
      else if (!out.includes(r)) out.push(r);
    });
    return bad ? INVALID : out;
  };
}

const ipOrCidr: Check<string> = (v, path, ctx) =>
  typeof v === 'string' && isIpOrCidr(v)
    ? v
    : fail(ctx, path, `must be an IP address or CIDR range such as "10.0.0.0/8" (got ${describe(v)})`);

const bareJid: Check<string> = (v, path, ctx) => {
  const jid = typeof v === 'string' ? parseJid(v) : undefined;
  return jid && jid.local && !jid.resource && normalizeDomain(jid.domain)
    ? jid.bare
    : fail(ctx, path, `must be a bare JID such as "admin@example.com" (got ${describe(v)})`);
};

function resolvePath(p: string, ctx: Ctx): string {
  return ctx.baseDir && !isAbsolute(p) ? resolve(ctx.baseDir, p) : p;
}

const dirPath: Check<string> = (v, path, ctx) =>
  typeof v === 'string' && v.length > 0 && !v.includes('\0')
    ? resolvePath(v, ctx)
    : fail(ctx, path, `must be a non-empty path (got ${describe(v)})`);

const filePath: Check<string | null> = (v, path, ctx) => {
  if (v === null) return null;
  return typeof v === 'string' && v.length > 0 && !v.includes('\0')
    ? resolvePath(v, ctx)
    : fail(ctx, path, `must be null or the path of a PEM file (got ${describe(v)})`);
};

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.length > 0;
  } catch {
    return false;
  }
}

/** An absolute URI with a scheme (`xmpp:`, `mailto:`, `https:`, ...), as XEP-0157 lists them. */
const uri: Check<string> = (v, path, ctx) => {
  if (typeof v === 'string' && /^[a-z][a-z0-9+.-]*:\S+$/i.test(v)) {
    try {
      new URL(v);
      return v;
    } catch {
      /* not a URI: fall through */
    }
  }
  return fail(ctx, path, `must be a URI such as "xmpp:admin@example.org" or "mailto:abuse@example.org" (got ${describe(v)})`);
};

const httpUrl: Check<string> = (v, path, ctx) =>
  typeof v === 'string' && isHttpUrl(v) ? v : fail(ctx, path, `must be an http:// or https:// URL (got ${describe(v)})`);

const webhookMap: Check<Record<string, string>> = (v, path, ctx) => {
  if (!isPlainObject(v)) return fail(ctx, path, `must be an object mapping node names to http(s) URLs (got ${describe(v)})`);
  const out: Record<string, string> = {};
  let bad = false;
  for (const [node, url] of Object.entries(v)) {
    if (node.length === 0) {
      fail(ctx, `${path}[""]`, 'node names must not be empty');
      bad = true;
      continue;
    }
    const r = httpUrl(url, `${path}.${node}`, ctx);
    if (r === INVALID) bad = true;
    else out[node] = r;
  }
  return bad ? INVALID : out;
};

// ---------------------------------------------------------------------------------------------
// Schema: every key of Config (the mapped type makes a missing key a compile error).

const schema: Schema<Config> = {
  domain: domainName,
  dataDir: dirPath,
  admins: arrayOf(bareJid),
  contactAddresses: { abuse: arrayOf(uri), admin: arrayOf(uri), feedback: arrayOf(uri), sales: arrayOf(uri), security: arrayOf(uri), status: arrayOf(uri), support: arrayOf(uri) },
  c2s: {
    host: listenHost,
    port,
    directTlsPort: nullable(port, 'an integer from 0 to 65535'),
    requireTls: bool,
  },
  http: {
    host: listenHost,
    port,
    trustedProxies: arrayOf(ipOrCidr),
  },
  tls: {
    certFile: filePath,
    keyFile: filePath,
  },
  limits: {
    maxStanzaBytes: int(1024, 64 * 1024 * 1024),
    maxDepth: int(4, 10000),
    rateBytesPerSecond: int(1),
    rateBurstBytes: int(1),
    authTimeoutSeconds: int(1, 3600),
    authFailuresPerMinute: int(1),
    exemptAddresses: arrayOf(ipOrCidr),
    maxPendingOutputBytes: int(1024),
    sendTimeoutSeconds: int(1, 86400),
  },
  registration: {
    enabled: bool,
    perAddressPerMinute: int(0),
  },
  streamManagement: {
    resumeTimeoutSeconds: int(0, 86400),
    maxQueue: int(1),
    maxQueueBytes: int(1024),
  },
  ping: {
    idleSeconds: int(0, 86400),
    timeoutSeconds: int(1, 3600),
  },
  muc: {
    domain: serviceDomain('conference'),
    createRooms: oneOf('anyone', 'local', 'admins'),
    unlockedByDefault: bool,
    maxHistoryLength: int(0),
    maxLiveRooms: int(1),
    roomCreationPerAddressPerMinute: int(0),
    defaultRoomConfig: {
      name: anyString,
      description: anyString,
      language: anyString,
      persistent: bool,
      public: bool,
      membersOnly: bool,
      moderated: bool,
      passwordProtected: bool,
      password: anyString,
      whois: oneOf('moderators', 'anyone'),
      // The same bounds as the room form's fields (src/muc/config.ts).
      maxUsers: int(0, 1_000_000),
      historyLength: int(0),
      changeSubject: bool,
      allowInvites: bool,
      allowPm: oneOf('anyone', 'participants', 'moderators', 'none'),
      archiving: bool,
      presenceBroadcast: arrayOf(oneOf('moderator', 'participant', 'visitor', 'none')),
      allowRegister: bool,
      pushPolicy: oneOf('default', 'mentions', 'all'),
    },
  },
  push: {
    mucPolicy: oneOf('mentions', 'all'),
    maxDevices: int(1),
    maxErrors: int(1),
    withSender: bool,
    withBody: bool,
    importantBody: anyString,
    timeoutSeconds: int(1, 3600),
  },
  appServer: {
    domain: serviceDomain('push'),
    keepPerNode: int(1),
    webhook: nullable(httpUrl, 'an http:// or https:// URL'),
    nodeWebhooks: webhookMap,
    httpToken: nullable(token, 'a string of 16 or more visible ASCII characters'),
  },
  log: {
    level: oneOf(...LOG_LEVELS),
  },
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Optimal string alignment distance (a transposition counts as one edit). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

function unknownKey(key: string, known: string[]): string {
  const close = known
    .map((k) => ({ k, d: editDistance(key.toLowerCase(), k.toLowerCase()) }))
    .filter((x) => x.d <= (x.k.length >= 4 ? 2 : 1))
    .sort((x, y) => x.d - y.d)[0];
  return close ? `unknown key (did you mean "${close.k}"?)` : 'unknown key';
}

/** Keys of earlier versions and where they live now. */
const MOVED: Record<string, string> = {
  'muc.historyLength': 'muc.defaultRoomConfig.historyLength',
  'muc.maxUsers': 'muc.defaultRoomConfig.maxUsers',
};

/** Merges `raw` onto `base` along `sch`, validating every value present in `raw`. */
function walk(sch: Record<string, unknown>, raw: unknown, base: Record<string, unknown>, path: string, ctx: Ctx): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (raw !== undefined && !isPlainObject(raw)) {
    fail(ctx, path || '(root)', `must be an object (got ${describe(raw)})`);
    raw = undefined;
  }
  const given = (raw ?? {}) as Record<string, unknown>;
  const known = Object.keys(sch);
  for (const key of Object.keys(given)) {
    if (Object.hasOwn(sch, key)) continue;
    const p = path ? `${path}.${key}` : key;
    ctx.errors.push(`${p}: ${MOVED[p] ? `moved to ${MOVED[p]}` : unknownKey(key, known)}`);
  }
  for (const key of known) {
    const sub = sch[key];
    const p = path ? `${path}.${key}` : key;
    const value = Object.hasOwn(given, key) ? given[key] : undefined;
    if (typeof sub === 'function') {
      if (value === undefined) {
        out[key] = structuredClone(base[key]);
      } else {
        const r = (sub as Check<unknown>)(value, p, ctx);
        out[key] = r === INVALID ? structuredClone(base[key]) : r;
      }
    } else {
      out[key] = walk(sub as Record<string, unknown>, value, base[key] as Record<string, unknown>, p, ctx);
    }
  }
  return out;
}

/** Reports a cross-field problem: `fields` are every field involved, the first one named in `message`. */
type Report = (fields: string[], message: string) => void;

/** Checks that involve more than one field. */
function crossCheck(c: Config, report: Report): void {
  if ((c.tls.certFile === null) !== (c.tls.keyFile === null)) {
    const missing = c.tls.certFile === null ? 'tls.certFile' : 'tls.keyFile';
    const other = c.tls.certFile === null ? 'tls.keyFile' : 'tls.certFile';
    report([missing, other], `${missing}: must be set when ${other} is set (give both, or neither for a self-signed certificate)`);
  }
  const room = c.muc.defaultRoomConfig;
  if (room.historyLength > c.muc.maxHistoryLength) {
    report(
      ['muc.defaultRoomConfig.historyLength', 'muc.maxHistoryLength'],
      `muc.defaultRoomConfig.historyLength: must not exceed muc.maxHistoryLength (${c.muc.maxHistoryLength})`,
    );
  }
  const passwordFields = ['muc.defaultRoomConfig.password', 'muc.defaultRoomConfig.passwordProtected'];
  if (room.passwordProtected && room.password === '') {
    report(passwordFields, 'muc.defaultRoomConfig.password: must be set when muc.defaultRoomConfig.passwordProtected is true');
  }
  if (!room.passwordProtected && room.password !== '') {
    report(passwordFields.reverse(), 'muc.defaultRoomConfig.passwordProtected: must be true when muc.defaultRoomConfig.password is set');
  }
  if (c.muc.domain !== null && c.muc.domain === c.domain) report(['muc.domain', 'domain'], 'muc.domain: must differ from domain');
  if (c.appServer.domain !== null) {
    if (c.appServer.domain === c.domain) report(['appServer.domain', 'domain'], 'appServer.domain: must differ from domain');
    else if (c.appServer.domain === c.muc.domain) report(['appServer.domain', 'muc.domain'], 'appServer.domain: must differ from muc.domain');
  }
  const wildcard = (h: string) => h === '0.0.0.0' || h === '::';
  const overlap = (a: string, b: string) => a === b || wildcard(a) || wildcard(b);
  const listeners: Array<[string, string, string, number | null]> = [
    ['c2s.port', 'c2s.host', c.c2s.host, c.c2s.port],
    ['c2s.directTlsPort', 'c2s.host', c.c2s.host, c.c2s.directTlsPort],
    ['http.port', 'http.host', c.http.host, c.http.port],
  ];
  for (let i = 0; i < listeners.length; i++) {
    for (let j = 0; j < i; j++) {
      const [na, hna, ha, pa] = listeners[j]!;
      const [nb, hnb, hb, pb] = listeners[i]!;
      if (pa !== null && pa !== 0 && pa === pb && overlap(ha, hb)) report([nb, na, hna, hnb], `${nb}: must differ from ${na} (both are ${pa})`);
    }
  }
}

/** A field (or one inside it, or one containing it) holds a value already reported as invalid. */
function involvesInvalid(fields: string[], invalid: Set<string>): boolean {
  const within = (a: string, b: string) => a === b || a.startsWith(`${b}.`) || a.startsWith(`${b}[`);
  return fields.some((f) => [...invalid].some((p) => within(p, f) || within(f, p)));
}

/**
 * Deep-merges `raw` (the parsed file) onto `base` and validates every field. Unknown keys are
 * errors; every message names its field path. Service domains: a key left out keeps the base's
 * choice (re-derived from the new `domain` when the base's was derived), `null` derives
 * `conference.<domain>` / `push.<domain>`, `false` disables the service (null in Config).
 */
export function validateConfig(raw: unknown, base: Config = defaultConfig(), options: ValidateOptions = {}): Config {
  const { config, errors } = checkConfigValues(raw, base, options);
  if (errors.length > 0) throw new ConfigError(errors, options.source);
  return config;
}

/**
 * validateConfig without the throw: the merged configuration (an invalid value replaced by the
 * base's) and every problem found, field and cross-field ones together.
 */
export function checkConfigValues(raw: unknown, base: Config = defaultConfig(), options: ValidateOptions = {}): { config: Config; errors: string[] } {
  const ctx: Ctx = { errors: [], invalid: new Set(), baseDir: options.baseDir };
  if (raw === undefined || raw === null) raw = {};
  const merged = walk(
    schema as unknown as Record<string, unknown>,
    raw,
    base as unknown as Record<string, unknown>,
    '',
    ctx,
  ) as unknown as Config;

  const given = isPlainObject(raw) ? raw : {};
  const rawMuc = isPlainObject(given['muc']) ? given['muc']['domain'] : undefined;
  const rawApp = isPlainObject(given['appServer']) ? given['appServer']['domain'] : undefined;
  merged.muc.domain = resolveServiceDomain(merged.muc.domain, rawMuc, base.muc.domain, base.domain, merged.domain, defaultMucDomain);
  merged.appServer.domain = resolveServiceDomain(
    merged.appServer.domain,
    rawApp,
    base.appServer.domain,
    base.domain,
    merged.domain,
    defaultAppServerDomain,
  );

  // Reported with the field errors, all at once, except where an invalid field (replaced by
  // its default meanwhile) is involved.
  crossCheck(merged, (fields, message) => {
    if (!involvesInvalid(fields, ctx.invalid)) ctx.errors.push(message);
  });
  return { config: merged, errors: ctx.errors };
}

function resolveServiceDomain(
  merged: string | null,
  raw: unknown,
  baseValue: string | null,
  baseDomain: string,
  domain: string,
  derive: (d: string) => string,
): string | null {
  if ((merged as unknown) === DERIVE) return derive(domain);
  if (raw === undefined && baseValue !== null && baseValue === derive(baseDomain)) return derive(domain);
  return merged;
}

// ---------------------------------------------------------------------------------------------
// Flags

/**
 * Applies command-line overrides. When the domain changes, service domains that were derived
 * from the old one (`conference.<old>`, `push.<old>`) follow it. Throws a ConfigError naming the
 * flag on a bad value. Returns a new Config.
 */
export function applyFlags(config: Config, flags: ConfigFlags): Config {
  const c = structuredClone(config);
  const errors: string[] = [];
  if (flags.domain !== undefined) {
    const d = normalizeDomain(flags.domain);
    if (!d) {
      errors.push(`--domain: must be a domain name such as "example.com" (got ${describe(flags.domain)})`);
    } else if (d !== c.domain) {
      if (c.muc.domain !== null && c.muc.domain === defaultMucDomain(c.domain)) c.muc.domain = defaultMucDomain(d);
      if (c.appServer.domain !== null && c.appServer.domain === defaultAppServerDomain(c.domain)) {
        c.appServer.domain = defaultAppServerDomain(d);
      }
      c.domain = d;
    }
  }
  if (flags.dataDir !== undefined) {
    if (flags.dataDir.length === 0 || flags.dataDir.includes('\0')) errors.push('--data-dir: must be a non-empty path');
    else c.dataDir = flags.dataDir;
  }
  const checkPort = (flag: string, v: number | undefined, set: (n: number) => void) => {
    if (v === undefined) return;
    if (Number.isInteger(v) && v >= 0 && v <= 65535) set(v);
    else errors.push(`${flag}: must be an integer from 0 to 65535 (got ${describe(v)})`);
  };
  checkPort('--c2s-port', flags.c2sPort, (n) => (c.c2s.port = n));
  checkPort('--http-port', flags.httpPort, (n) => (c.http.port = n));
  if (flags.host !== undefined) {
    if (isIP(flags.host) !== 0 || HOSTNAME.test(flags.host)) {
      c.c2s.host = flags.host;
      c.http.host = flags.host;
    } else {
      errors.push(`--host: must be an IP address or host name (got ${describe(flags.host)})`);
    }
  }
  if (flags.unlockedRooms) c.muc.unlockedByDefault = true;
  if (flags.logLevel !== undefined) {
    if ((LOG_LEVELS as readonly string[]).includes(flags.logLevel)) c.log.level = flags.logLevel as LogLevel;
    else errors.push(`--log-level: must be one of ${LOG_LEVELS.join(', ')} (got ${describe(flags.logLevel)})`);
  }
  if (errors.length === 0) crossCheck(c, (_fields, message) => errors.push(message));
  if (errors.length > 0) throw new ConfigError(errors);
  return c;
}

// ---------------------------------------------------------------------------------------------
// Everything together, as the CLI does it

export interface LoadConfigOptions {
  /** A config file that must exist. */
  file?: string;
  /** A config file used when present (the implicit path, e.g. from MUCPUSH_CONFIG). */
  optionalFile?: string;
  flags?: ConfigFlags;
}

/**
 * Loads the configuration: defaults, then the file (relative paths in it are resolved against
 * the file's folder), then the flags; finally dataDir and TLS paths are made absolute against
 * the working directory. Returns the config and the file actually read (or null).
 */
export async function loadConfig(opts: LoadConfigOptions = {}): Promise<{ config: Config; file: string | null }> {
  let config = defaultConfig();
  let file: string | null = null;
  const path = opts.file ?? opts.optionalFile;
  if (path !== undefined) {
    const raw = await loadConfigFile(path, { missingOk: opts.file === undefined });
    if (raw !== undefined) {
      config = validateConfig(raw, config, { baseDir: dirname(resolve(path)), source: path });
      file = path;
    }
  }
  if (opts.flags) config = applyFlags(config, opts.flags);
  config.dataDir = resolve(config.dataDir);
  if (config.tls.certFile !== null) config.tls.certFile = resolve(config.tls.certFile);
  if (config.tls.keyFile !== null) config.tls.keyFile = resolve(config.tls.keyFile);
  return { config, file };
}
