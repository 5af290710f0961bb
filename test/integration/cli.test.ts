import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generate } from 'selfsigned';
import { AccountStore } from '../../src/store/accounts.ts';
import { Store } from '../../src/store/db.ts';
import { verifyPassword } from '../../src/stream/sasl/credentials.ts';
import { BIN, runCli, type CliResult } from '../helpers/cli.ts';

const EXAMPLE = fileURLToPath(new URL('../../config.example.json', import.meta.url));

type Result = CliResult;

let work: string;

/** Runs `node bin/mucpush.js ...args` from a temporary working directory. */
function run(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<Result> {
  return runCli(args, { ...opts, cwd: work });
}

function assertUserError(r: Result, pattern: RegExp): void {
  assert.notEqual(r.code, 0, `expected a failure, got ${JSON.stringify(r)}`);
  assert.match(r.stderr, /^mucpush: /);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace for user errors');
}

async function withAccounts<T>(dataDir: string, fn: (accounts: AccountStore) => Promise<T>): Promise<T> {
  const store = await Store.open(dataDir);
  try {
    return await fn(new AccountStore(store));
  } finally {
    await store.close();
  }
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'mucpush-cli-'));
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('mucpush check-config', () => {
  it('prints ok for a valid file (the example config)', async () => {
    const r = await run(['check-config', EXAMPLE]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'ok\n');
    assert.equal(r.stderr, '');
  });

  it('prints every error with its field and exits 1', async () => {
    const file = join(work, 'bad.json');
    await writeFile(file, JSON.stringify({ c2s: { port: 70000 }, muc: { domain: true }, colour: 'blue' }));
    const r = await run(['check-config', file]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 3, r.stderr);
    for (const line of lines) assert.ok(line.startsWith(`mucpush: ${file}: `), line);
    assert.match(r.stderr, /c2s\.port: must be an integer from 0 to 65535/);
    assert.match(r.stderr, /muc\.domain: must be a domain name, null .* or false/);
    assert.match(r.stderr, /colour: unknown key/);
  });

  it('names the file when it is not JSON or missing', async () => {
    const file = join(work, 'broken.json');
    await writeFile(file, '{"domain": "example.com",');
    assertUserError(await run(['check-config', file]), new RegExp(`config file ${file} is not valid JSON`));
    assertUserError(await run(['check-config', 'nope.json']), /cannot read config file nope\.json: no such file/);
  });

  it('resolves relative paths from the working directory', async () => {
    await writeFile(join(work, 'rel.json'), '{"domain":"example.com"}');
    const r = await run(['check-config', 'rel.json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'ok\n');
  });

  // Issue 13: everything at once, where a JSON error is, whether the certificate files fit.
  it('reports cross-field errors together with field errors', async () => {
    const file = join(work, 'mixed.json');
    await writeFile(file, JSON.stringify({ c2s: { port: 70000 }, muc: { domain: 'localhost' }, tls: { certFile: 'a.crt' } }));
    const r = await run(['check-config', file]);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 3, r.stderr);
    assert.match(r.stderr, /c2s\.port: must be an integer from 0 to 65535/);
    assert.match(r.stderr, /muc\.domain: must differ from domain/);
    assert.match(r.stderr, /tls\.keyFile: must be set when tls\.certFile is set/);
  });

  it('gives the line and column of a JSON syntax error', async () => {
    const file = join(work, 'syntax.json');
    await writeFile(file, '{\n  "domain": "example.com",\n  "c2s": { "port": 5222, }\n}\n');
    assertUserError(await run(['check-config', file]), new RegExp(`config file ${file} is not valid JSON at line 3, column 26: `));
    // V8 gives no position for this one.
    await writeFile(file, '{"domain": example}');
    assertUserError(await run(['check-config', file]), /is not valid JSON at line 1, column 12: Unexpected token 'e'$/m);
  });

  it('checks that the certificate files exist, hold a certificate and a key, and match', async () => {
    const dir = join(work, 'certs');
    await mkdir(dir, { recursive: true });
    const [a, b] = await Promise.all([1, 2].map(() => generate([{ name: 'commonName', value: 'localhost' }], { keySize: 2048 })));
    await writeFile(join(dir, 'a.crt'), a!.cert);
    await writeFile(join(dir, 'a.key'), a!.private);
    await writeFile(join(dir, 'b.key'), b!.private);
    await writeFile(join(dir, 'junk.crt'), 'not a certificate\n');
    const check = async (tls: Record<string, string>) => {
      const file = join(dir, 'config.json');
      await writeFile(file, JSON.stringify({ tls }));
      return run(['check-config', file]);
    };
    const good = await check({ certFile: 'a.crt', keyFile: 'a.key' });
    assert.equal(good.code, 0, good.stderr);
    assert.equal(good.stdout, 'ok\n');

    const missing = await check({ certFile: 'none.crt', keyFile: 'none.key' });
    assertUserError(missing, new RegExp(`tls\\.certFile: cannot read ${join(dir, 'none.crt')}: no such file`));
    assert.match(missing.stderr, /tls\.keyFile: cannot read .*none\.key: no such file/, 'both files reported at once');
    assertUserError(await check({ certFile: 'junk.crt', keyFile: 'a.key' }), /tls\.certFile: .*junk\.crt does not hold a PEM certificate/);
    assertUserError(await check({ certFile: 'a.crt', keyFile: 'junk.crt' }), /tls\.keyFile: .*junk\.crt does not hold an unencrypted PEM private key/);
    assertUserError(await check({ certFile: 'a.crt', keyFile: 'b.key' }), /tls\.keyFile: the key in .*b\.key does not match the certificate in .*a\.crt/);
  });
});

describe('mucpush account commands', () => {
  let dataDir: string;
  before(async () => {
    dataDir = join(work, 'accounts-db');
  });

  it('adduser creates an account in --data-dir', async () => {
    const r = await run(['adduser', 'alice@localhost', '--password', 'wonderland', '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'added alice@localhost\n');
    const account = await withAccounts(dataDir, (a) => a.get('alice'));
    assert.ok(account);
    assert.equal(account.username, 'alice');
    assert.ok(await verifyPassword(account.credentials, 'wonderland'));
    assert.ok(!(await verifyPassword(account.credentials, 'other')));
  });

  it('adduser of an existing account fails (JIDs are case-insensitive)', async () => {
    assertUserError(
      await run(['adduser', 'Alice@LOCALHOST', '--password', 'x', '--data-dir', dataDir]),
      /alice@localhost already exists/,
    );
  });

  it('adduser reads the password from stdin', async () => {
    const r = await run(['adduser', 'bob@localhost', '--data-dir', dataDir], { input: 'from stdin\nignored\n' });
    assert.equal(r.code, 0, r.stderr);
    const account = await withAccounts(dataDir, (a) => a.get('bob'));
    assert.ok(account && (await verifyPassword(account.credentials, 'from stdin')));
  });

  it('adduser without a password fails', async () => {
    assertUserError(await run(['adduser', 'carol@localhost', '--data-dir', dataDir]), /no password given/);
    assertUserError(await run(['adduser', 'carol@localhost', '--data-dir', dataDir], { input: '\n' }), /must not be empty/);
    assert.equal(await withAccounts(dataDir, (a) => a.exists('carol')), false);
  });

  it('passwd changes the password (flag or stdin)', async () => {
    let r = await run(['passwd', 'alice@localhost', '--data-dir', dataDir], { input: 'new secret\r\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'changed the password of alice@localhost\n');
    let account = await withAccounts(dataDir, (a) => a.get('alice'));
    assert.ok(account && (await verifyPassword(account.credentials, 'new secret')));
    assert.ok(!(await verifyPassword(account.credentials, 'wonderland')));
    r = await run(['passwd', 'alice@localhost', '--password', 'third', '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stderr);
    account = await withAccounts(dataDir, (a) => a.get('alice'));
    assert.ok(account && (await verifyPassword(account.credentials, 'third')));
  });

  it('passwd of an unknown account fails', async () => {
    assertUserError(await run(['passwd', 'nobody@localhost', '--password', 'x', '--data-dir', dataDir]), /nobody@localhost does not exist/);
  });

  it('deluser deletes the account; deleting it again fails', async () => {
    const r = await run(['deluser', 'bob@localhost', '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'deleted bob@localhost\n');
    assert.equal(await withAccounts(dataDir, (a) => a.exists('bob')), false);
    assert.equal(await withAccounts(dataDir, (a) => a.exists('alice')), true);
    assertUserError(await run(['deluser', 'bob@localhost', '--data-dir', dataDir]), /bob@localhost does not exist/);
  });

  it('rejects bad JIDs and other domains', async () => {
    assertUserError(await run(['adduser', 'not a jid', '--password', 'x', '--data-dir', dataDir]), /invalid JID "not a jid"/);
    assertUserError(await run(['adduser', 'localhost', '--password', 'x', '--data-dir', dataDir]), /invalid JID/);
    assertUserError(await run(['adduser', 'a@localhost/res', '--password', 'x', '--data-dir', dataDir]), /invalid JID/);
    assertUserError(await run(['deluser', '@localhost', '--data-dir', dataDir]), /invalid JID/);
    assertUserError(
      await run(['adduser', 'dave@example.com', '--password', 'x', '--data-dir', dataDir]),
      /dave@example\.com is not on this server's domain localhost/,
    );
  });

  it('uses the domain and data folder of --config (relative to the file), or --domain', async () => {
    const confDir = join(work, 'etc');
    await mkdir(confDir, { recursive: true });
    const file = join(confDir, 'config.json');
    await writeFile(file, JSON.stringify({ domain: 'example.com', dataDir: 'db' }));
    const r = await run(['adduser', 'erin@example.com', '--password', 'x', '--config', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await withAccounts(join(confDir, 'db'), (a) => a.exists('erin')), true);
    const other = join(work, 'other-db');
    const r2 = await run(['adduser', 'frank@example.org', '--password', 'x', '--domain', 'example.org', '--data-dir', other]);
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(await withAccounts(other, (a) => a.exists('frank')), true);
  });

  it('defaults to ./data in the working directory', async () => {
    const r = await run(['adduser', 'gina@localhost', '--password', 'x']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await withAccounts(join(work, 'data'), (a) => a.exists('gina')), true);
  });

  it('an explicit --config must exist, $MUCPUSH_CONFIG may be missing', async () => {
    assertUserError(
      await run(['adduser', 'h@localhost', '--password', 'x', '--config', join(work, 'absent.json'), '--data-dir', dataDir]),
      /cannot read config file .*absent\.json: no such file/,
    );
    const r = await run(['adduser', 'h@localhost', '--password', 'x', '--data-dir', dataDir], {
      env: { MUCPUSH_CONFIG: join(work, 'absent.json') },
    });
    assert.equal(r.code, 0, r.stderr);
    const file = join(work, 'env.json');
    await writeFile(file, JSON.stringify({ domain: 'env.example' }));
    const r2 = await run(['adduser', 'i@env.example', '--password', 'x', '--data-dir', dataDir], { env: { MUCPUSH_CONFIG: file } });
    assert.equal(r2.code, 0, r2.stderr);
  });

  it('reports invalid config files', async () => {
    const file = join(work, 'invalid.json');
    await writeFile(file, JSON.stringify({ domain: 'bad domain' }));
    assertUserError(await run(['adduser', 'j@localhost', '--password', 'x', '--config', file]), /invalid\.json: domain: must be a domain name/);
  });

  it('fails clearly while another process holds the database', async () => {
    const store = await Store.open(dataDir);
    try {
      assertUserError(await run(['adduser', 'k@localhost', '--password', 'x', '--data-dir', dataDir]), /in use by another process/);
    } finally {
      await store.close();
    }
  });
});

// Issue 12 item 16: only a held LOCK means "in use"; any other failure on it is named as it is.
describe('mucpush start on a data folder it cannot write', () => {
  it('reports a read-only file system, not "in use by another process"', async (ctx) => {
    // Root ignores permission bits, so a read-only tmpfs stands for a folder the server cannot write.
    const mountPoint = join(work, 'ro-mount');
    await mkdir(mountPoint);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', mountPoint], { stdio: 'pipe' });
    } catch (err) {
      ctx.skip(`cannot mount a tmpfs (needs root): ${(err as Error).message.split('\n')[0]}`);
      return;
    }
    try {
      const r = await run(['start', '--data-dir', mountPoint, '--c2s-port', '0', '--http-port', '0']);
      assertUserError(r, /cannot open the database in .*ro-mount.*LOCK: Read-only file system/);
      assert.doesNotMatch(r.stderr, /in use/);
    } finally {
      execFileSync('umount', ['-l', mountPoint], { stdio: 'pipe' });
    }
  });

  it('reports a LOCK path that is not a file as it is', async () => {
    const dataDir = join(work, 'lock-is-dir');
    await mkdir(join(dataDir, 'LOCK'), { recursive: true });
    const r = await run(['adduser', 'l@localhost', '--password', 'x', '--data-dir', dataDir]);
    assertUserError(r, /LOCK: Is a directory/);
    assert.doesNotMatch(r.stderr, /in use/);
  });
});

describe('mucpush usage errors', () => {
  it('names the flag of a bad value', async () => {
    assertUserError(await run(['start', '--c2s-port', 'abc']), /--c2s-port.*must be an integer from 0 to 65535/);
    assertUserError(await run(['start', '--http-port', '99999']), /--http-port.*must be an integer from 0 to 65535/);
    assertUserError(await run(['start', '--domain', 'bad domain', '--data-dir', join(work, 'x')]), /--domain: must be a domain name/);
  });

  it('rejects unknown commands and missing arguments', async () => {
    assertUserError(await run(['frobnicate']), /unknown command 'frobnicate'/);
    assertUserError(await run(['adduser']), /missing required argument 'jid'/);
  });

  it('--help and --version exit 0', async () => {
    const h = await run(['--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /adduser/);
    const v = await run(['--version']);
    assert.equal(v.code, 0);
    assert.match(v.stdout, /^\d+\.\d+\.\d+/);
  });
});

describe('mucpush start', () => {
  it('fails on a bad certificate file without creating the data folder', async () => {
    const dataDir = join(work, 'never-created');
    const file = join(work, 'bad-cert.json');
    await writeFile(file, JSON.stringify({ dataDir, tls: { certFile: 'missing.crt', keyFile: 'missing.key' } }));
    const r = await run(['start', '--config', file, '--c2s-port', '0', '--http-port', '0']);
    assertUserError(r, /tls\.certFile: cannot read .*missing\.crt: no such file/);
    assert.equal(existsSync(dataDir), false, 'the data folder was not created');
  });

  it('logs one listening line, and stops on SIGTERM with status 0', { timeout: 30_000 }, async () => {
    const dataDir = join(work, 'server-db');
    const env = { ...process.env };
    delete env['MUCPUSH_CONFIG'];
    const child = spawn(process.execPath, [BIN, 'start', '--data-dir', dataDir, '--c2s-port', '0', '--http-port', '0'], {
      cwd: work,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        for (const line of stdout.split('\n')) {
          if (!line.includes('"listening"')) continue;
          try {
            resolve(JSON.parse(line) as Record<string, unknown>);
          } catch {
            // incomplete line: wait for more
          }
        }
      });
      void exited.then((code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
    });
    try {
      assert.equal(listening['msg'], 'listening');
      assert.equal(listening['domain'], 'localhost');
      assert.equal(listening['directTls'], null);
      assert.ok(Number.isInteger(listening['c2s']) && (listening['c2s'] as number) > 0);
      assert.ok(Number.isInteger(listening['http']) && (listening['http'] as number) > 0);
      // While it runs, the account commands go through its admin socket (issue 13).
      const added = await run(['adduser', 'z@localhost', '--password', 'x', '--data-dir', dataDir]);
      assert.equal(added.code, 0, added.stderr);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.filter((l) => l['msg'] === 'listening').length, 1);
    assert.equal(stderr, '');
  });
});
