import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { BlockList, isIP } from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { generate } from 'selfsigned';
import { ConfigError } from '../config/load.ts';
import type { Config } from '../config/types.ts';

export interface TlsMaterial {
  /** PEM private key */
  key: string;
  /** PEM certificate (chain) */
  cert: string;
}

/** Where the generated certificate lives, under the data folder. */
export function selfSignedPaths(dataDir: string): { dir: string; key: string; cert: string } {
  const dir = join(dataDir, 'tls');
  return { dir, key: join(dir, 'selfsigned.key'), cert: join(dir, 'selfsigned.crt') };
}

/** The names a generated certificate covers: the domain, its services, and loopback. */
export function selfSignedNames(config: Config): string[] {
  const names = [config.domain, config.muc.domain, config.appServer.domain, 'localhost', '127.0.0.1', '::1'];
  return [...new Set(names.filter((n): n is string => typeof n === 'string' && n.length > 0))];
}

const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
const VALID_FOR_DAYS = 5 * 365;

/**
 * Checks the configured PEM files (`tls.certFile`/`tls.keyFile`): both readable, a certificate,
 * an unencrypted private key, and the key the certificate's. Every problem is reported, each
 * naming its field; null when no files are configured (a self-signed certificate is used).
 */
export async function checkConfiguredTls(config: Config): Promise<{ material: TlsMaterial | null; errors: string[] }> {
  const { certFile, keyFile } = config.tls;
  if (certFile === null && keyFile === null) return { material: null, errors: [] };
  const errors: string[] = [];
  const fail = (message: string) => {
    errors.push(message);
    return undefined;
  };
  if (certFile === null || keyFile === null) {
    fail(certFile === null ? 'tls.certFile: must be set when tls.keyFile is set' : 'tls.keyFile: must be set when tls.certFile is set');
  }
  const [cert, key] = await Promise.all([
    certFile === null ? undefined : readPem(certFile, 'tls.certFile').catch((err: Error) => fail(err.message)),
    keyFile === null ? undefined : readPem(keyFile, 'tls.keyFile').catch((err: Error) => fail(err.message)),
  ]);
  let x509: X509Certificate | undefined;
  if (cert !== undefined) {
    try {
      x509 = new X509Certificate(cert);
    } catch (err) {
      fail(`tls.certFile: ${certFile} does not hold a PEM certificate (${(err as Error).message})`);
    }
  }
  let privateKey;
  if (key !== undefined) {
    try {
      privateKey = createPrivateKey(key);
    } catch (err) {
      fail(`tls.keyFile: ${keyFile} does not hold an unencrypted PEM private key (${(err as Error).message})`);
    }
  }
  if (x509 && privateKey && !x509.checkPrivateKey(privateKey)) {
    fail(`tls.keyFile: the key in ${keyFile} does not match the certificate in ${certFile}`);
  }
  if (errors.length > 0 || cert === undefined || key === undefined) return { material: null, errors };
  return { material: { key, cert }, errors };
}

/** The configured certificate and key (throws a ConfigError listing every problem), or null when none is configured. */
export async function loadConfiguredTls(config: Config): Promise<TlsMaterial | null> {
  const { material, errors } = await checkConfiguredTls(config);
  if (errors.length > 0) throw new ConfigError(errors);
  return material;
}

async function readPem(path: string, field: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'is a directory' : e.message;
    throw new Error(`${field}: cannot read ${path}: ${why}`);
  }
}

/**
 * The self-signed certificate used when no files are configured: kept in `<dataDir>/tls/` and
 * reused on later starts as long as it still covers the configured names and is not about to
 * expire (otherwise it is regenerated).
 */
export async function loadOrCreateSelfSigned(config: Config): Promise<TlsMaterial> {
  const paths = selfSignedPaths(config.dataDir);
  const names = selfSignedNames(config);
  const existing = await readExisting(paths);
  if (existing && usable(existing, names)) return existing;

  try {
    await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new Error(`cannot create ${paths.dir} for the self-signed certificate: ${(err as Error).message}`);
  }
  const now = new Date();
  const pems = await generate([{ name: 'commonName', value: config.domain }], {
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 3600 * 1000),
    notAfterDate: new Date(now.getTime() + VALID_FOR_DAYS * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: names.map((n) => (isIP(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n })),
      },
    ],
  });
  const material = { key: pems.private, cert: pems.cert };
  // Write beside and rename, so a crash never leaves half a key; the key is private (0600).
  const tmpKey = `${paths.key}.${process.pid}.tmp`;
  const tmpCert = `${paths.cert}.${process.pid}.tmp`;
  try {
    await writeFile(tmpKey, material.key, { mode: 0o600 });
    await chmod(tmpKey, 0o600);
    await writeFile(tmpCert, material.cert, { mode: 0o644 });
    await rename(tmpKey, paths.key);
    await rename(tmpCert, paths.cert);
  } catch (err) {
    throw new Error(`cannot write the self-signed certificate to ${paths.dir}: ${(err as Error).message}`);
  }
  return material;
}

async function readExisting(paths: { key: string; cert: string }): Promise<TlsMaterial | undefined> {
  try {
    const [key, cert] = await Promise.all([readFile(paths.key, 'utf8'), readFile(paths.cert, 'utf8')]);
    return { key, cert };
  } catch {
    return undefined;
  }
}

/** The stored certificate parses, matches its key, is valid for a while yet and names every host. */
function usable(material: TlsMaterial, names: string[]): boolean {
  try {
    const x509 = new X509Certificate(material.cert);
    if (!x509.checkPrivateKey(createPrivateKey(material.key))) return false;
    if (Date.parse(x509.validTo) - Date.now() < RENEW_BEFORE_MS) return false;
    const san = (x509.subjectAltName ?? '').split(',').map((s) => s.trim());
    const dns = san.filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4).toLowerCase());
    const ips = new BlockList();
    for (const s of san) {
      if (!s.startsWith('IP Address:')) continue;
      const ip = s.slice('IP Address:'.length);
      const family = isIP(ip);
      if (family !== 0) ips.addAddress(ip, family === 4 ? 'ipv4' : 'ipv6');
    }
    return names.every((n) => {
      const family = isIP(n);
      return family === 0 ? dns.includes(n.toLowerCase()) : ips.check(n, family === 4 ? 'ipv4' : 'ipv6');
    });
  } catch {
    return false;
  }
}

/** A secure context for TLS servers and STARTTLS upgrades (TLS 1.2 and later). */
export function createSecureContext(material: TlsMaterial): tls.SecureContext {
  return tls.createSecureContext({ key: material.key, cert: material.cert, minVersion: 'TLSv1.2' });
}
