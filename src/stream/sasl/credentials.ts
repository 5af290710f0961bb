import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { TextDecoder, promisify } from 'node:util';
import saslprep from '@mongodb-js/saslprep';
import { parseJid } from '../../core/jid.ts';

/** Salted SCRAM credentials for one hash (RFC 5802): never the password itself. */
export interface ScramCredential {
  /** base64 */
  salt: string;
  iterations: number;
  /** base64 H(ClientKey) */
  storedKey: string;
  /** base64 HMAC(SaltedPassword, "Server Key") */
  serverKey: string;
}

export type ScramHash = 'SCRAM-SHA-1' | 'SCRAM-SHA-256';

export type StoredCredentials = Record<ScramHash, ScramCredential>;

const pbkdf2Async = promisify(pbkdf2);

/** Node digest name and output length for each SCRAM hash. */
export const SCRAM_DIGEST: Record<ScramHash, { algo: 'sha1' | 'sha256'; size: number }> = {
  'SCRAM-SHA-1': { algo: 'sha1', size: 20 },
  'SCRAM-SHA-256': { algo: 'sha256', size: 32 },
};

export function hmac(hash: ScramHash, key: Buffer, data: string | Buffer): Buffer {
  return createHmac(SCRAM_DIGEST[hash].algo, key).update(data).digest();
}

export function digest(hash: ScramHash, data: Buffer): Buffer {
  return createHash(SCRAM_DIGEST[hash].algo).update(data).digest();
}

/**
 * Strict UTF-8 decoding: SASL payloads with invalid UTF-8 are malformed, not silently repaired,
 * and a leading U+FEFF is a character of the name (refused by PRECIS), not a byte-order mark to drop.
 */
export function decodeUtf8(data: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(data);
  } catch {
    return undefined;
  }
}

/**
 * An authorization identity may only name the authenticated account itself (no proxy
 * authorization): its bare JID on the served domain. Without a known domain, none is accepted.
 */
export function authzidAllowed(authzid: string, username: string, domain: string | undefined): boolean {
  if (authzid === '') return true;
  const jid = parseJid(authzid);
  const own = domain === undefined ? undefined : parseJid(domain);
  return !!jid && !!own && !jid.resource && jid.local === username && jid.domain === own.domain;
}

/**
 * RFC 5802 §3 key derivation for one hash; the password must already be SASLprepped. Passwords
 * stay on SASLprep (RFC 5802 §2.2's Normalize), not OpaqueString: see src/core/precis.ts.
 */
export async function scramCredential(
  hash: ScramHash,
  preppedPassword: string,
  salt: Buffer,
  iterations: number,
): Promise<ScramCredential> {
  const { algo, size } = SCRAM_DIGEST[hash];
  const salted = await pbkdf2Async(preppedPassword, salt, iterations, size, algo);
  const clientKey = hmac(hash, salted, 'Client Key');
  return {
    salt: salt.toString('base64'),
    iterations,
    storedKey: digest(hash, clientKey).toString('base64'),
    serverKey: hmac(hash, salted, 'Server Key').toString('base64'),
  };
}

/** Builds stored credentials for a new password; throws if SASLprep rejects the password. */
export async function deriveCredentials(password: string, iterations = 4096): Promise<StoredCredentials> {
  const prepped = saslprep(password);
  const [sha1, sha256] = await Promise.all([
    scramCredential('SCRAM-SHA-1', prepped, randomBytes(16), iterations),
    scramCredential('SCRAM-SHA-256', prepped, randomBytes(16), iterations),
  ]);
  return { 'SCRAM-SHA-1': sha1, 'SCRAM-SHA-256': sha256 };
}

/** Checks a plaintext password (SASL PLAIN) against the stored SCRAM-SHA-256 keys. */
export async function verifyPassword(creds: StoredCredentials, password: string): Promise<boolean> {
  let prepped: string;
  try {
    prepped = saslprep(password);
  } catch {
    return false;
  }
  const stored = creds['SCRAM-SHA-256'];
  const fresh = await scramCredential('SCRAM-SHA-256', prepped, Buffer.from(stored.salt, 'base64'), stored.iterations);
  const a = Buffer.from(fresh.storedKey, 'base64');
  const b = Buffer.from(stored.storedKey, 'base64');
  return a.length === b.length && timingSafeEqual(a, b);
}

// Per-process secret: fake credentials stay stable for a username (repeated probes see the same
// salt) but cannot be predicted from outside, so they look like a real account's.
const FAKE_SECRET = randomBytes(32);

/**
 * Credentials for a username that has no account, so the exchange looks like a real one.
 * The keys are random-looking HMAC outputs: no password can match them, and no PBKDF2 is needed.
 */
export function fakeCredentials(username: string, iterations = 4096): StoredCredentials {
  const part = (label: string, len: number) =>
    createHmac('sha256', FAKE_SECRET).update(`${label}\0${username}`).digest().subarray(0, len).toString('base64');
  const one = (hash: ScramHash): ScramCredential => ({
    salt: part(`${hash} salt`, 16),
    iterations,
    storedKey: part(`${hash} stored`, SCRAM_DIGEST[hash].size),
    serverKey: part(`${hash} server`, SCRAM_DIGEST[hash].size),
  });
  return { 'SCRAM-SHA-1': one('SCRAM-SHA-1'), 'SCRAM-SHA-256': one('SCRAM-SHA-256') };
}
