import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Config } from '../config/types.ts';
import type { Logger } from '../core/logger.ts';
import { isLoopback } from '../transport/connection.ts';

/** Where a generated token is kept, in the data folder. */
export const TOKEN_FILE = 'push-http-token';

/** True when an HTTP listener on `host` is reachable from this machine only. */
export function loopbackOnly(host: string): boolean {
  return host === 'localhost' || (isIP(host) !== 0 && isLoopback(host));
}

/**
 * The token the push inspection endpoints and /metrics require, or null when none is needed: the configured
 * `appServer.httpToken` (always required, even on loopback), else, when the HTTP listener is not
 * loopback-only, one generated at the first start into `<dataDir>/push-http-token` (mode 0600)
 * and logged that once. A loopback-only listener is open to local processes only: no token.
 */
export async function resolveHttpToken(config: Config, log: Logger): Promise<string | null> {
  if (config.appServer.httpToken !== null) return config.appServer.httpToken;
  if (loopbackOnly(config.http.host)) return null;
  const file = join(config.dataDir, TOKEN_FILE);
  try {
    const kept = (await readFile(file, 'utf8')).trim();
    if (kept) {
      log.info({ file }, 'push inspection (/push/notifications, /push/events) and /metrics require the token in this file');
      return kept;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(24).toString('base64url');
  // `wx`: two starts never both write one (the second reads the first's on its next start).
  await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  log.warn({ file, token }, `http.host ${config.http.host} is not loopback: push inspection and /metrics require this token (Authorization: Bearer TOKEN, or ?token=TOKEN); it is shown only this once and kept in the file`);
  return token;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * What the protected HTTP views (push inspection, /metrics) run first: true to serve the
 * request; false when a token is needed and not given, the request then answered 401.
 */
export type RequestGuard = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => boolean;

export function requestGuard(token: string | null): RequestGuard {
  if (token === null) return () => true;
  const check = tokenCheck(token);
  return (req, res, url) => {
    if (check(req, url)) return true;
    const body = JSON.stringify({ error: 'a token is required: Authorization: Bearer TOKEN, or ?token=TOKEN' });
    res.writeHead(401, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      'www-authenticate': 'Bearer realm="mucpush"',
    });
    res.end(body);
    return false;
  };
}

/** Checks a request's `Authorization: Bearer` header or `token` query parameter against `token`. */
export function tokenCheck(token: string): (req: http.IncomingMessage, url: URL) => boolean {
  const want = digest(token);
  return (req, url) => {
    const header = /^Bearer\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
    const given = header ?? url.searchParams.get('token');
    return given !== null && timingSafeEqual(digest(given), want);
  };
}
