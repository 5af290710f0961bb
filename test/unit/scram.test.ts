import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import {
  deriveCredentials,
  fakeCredentials,
  scramCredential,
  verifyPassword,
  type ScramHash,
  type StoredCredentials,
} from '../../src/stream/sasl/credentials.ts';
import { MECHANISMS, createMechanism, type CredentialLookup, type SaslStep } from '../../src/stream/sasl/mechanism.ts';
import { ScramMechanism } from '../../src/stream/sasl/scram.ts';

const b = (s: string) => Buffer.from(s, 'utf8');
const text = (step: SaslStep) => (step.kind === 'failure' ? '' : (step.data?.toString('utf8') ?? ''));

// RFC 5802 §5 and RFC 7677 §3 example exchanges (user "user", password "pencil").
const VECTORS = {
  'SCRAM-SHA-1': {
    salt: 'QSXCR+Q6sek8bf92',
    clientFirst: 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL',
    serverNonce: '3rfcNHYJY1ZVvWVs7j',
    serverFirst: 'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
    clientFinal: 'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
    serverFinal: 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=',
  },
  'SCRAM-SHA-256': {
    salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
    clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
    serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
    serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    clientFinal:
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
  },
} as const;

const HASHES = Object.keys(VECTORS) as ScramHash[];

const rfcCreds: StoredCredentials = {
  'SCRAM-SHA-1': await scramCredential('SCRAM-SHA-1', 'pencil', Buffer.from(VECTORS['SCRAM-SHA-1'].salt, 'base64'), 4096),
  'SCRAM-SHA-256': await scramCredential('SCRAM-SHA-256', 'pencil', Buffer.from(VECTORS['SCRAM-SHA-256'].salt, 'base64'), 4096),
};
const lookup: CredentialLookup = async (u) => (u === 'user' ? rfcCreds : undefined);

function server(hash: ScramHash, opts: { domain?: string; lookup?: CredentialLookup } = {}) {
  return new ScramMechanism(hash, opts.lookup ?? lookup, { nonce: () => VECTORS[hash].serverNonce, domain: opts.domain });
}

/** A real SCRAM client computation, for cases the RFC vectors do not cover. */
function clientFinal(hash: ScramHash, password: string, gs2: string, clientFirstBare: string, serverFirst: string) {
  const algo = hash === 'SCRAM-SHA-1' ? 'sha1' : 'sha256';
  const attrs = Object.fromEntries(serverFirst.split(',').map((a) => [a[0], a.slice(2)]));
  const salted = pbkdf2Sync(password, Buffer.from(attrs.s!, 'base64'), Number(attrs.i), algo === 'sha1' ? 20 : 32, algo);
  const clientKey = createHmac(algo, salted).update('Client Key').digest();
  const storedKey = createHash(algo).update(clientKey).digest();
  const withoutProof = `c=${Buffer.from(gs2).toString('base64')},r=${attrs.r}`;
  const sig = createHmac(algo, storedKey).update(`${clientFirstBare},${serverFirst},${withoutProof}`).digest();
  const proof = Buffer.from(clientKey.map((x, i) => x ^ sig[i]!));
  return `${withoutProof},p=${proof.toString('base64')}`;
}

for (const hash of HASHES) {
  const v = VECTORS[hash];

  test(`${hash}: RFC test vector exchange`, async () => {
    const m = server(hash);
    const first = await m.step(b(v.clientFirst));
    assert.equal(first.kind, 'challenge');
    assert.equal(text(first), v.serverFirst);
    const final = await m.step(b(v.clientFinal));
    assert.equal(final.kind, 'success');
    assert.equal(final.kind === 'success' && final.username, 'user');
    assert.equal(text(final), v.serverFinal);
    // Nothing may follow a completed exchange.
    const after = await m.step(b(v.clientFinal));
    assert.equal(after.kind, 'failure');
  });

  test(`${hash}: wrong proof is not-authorized`, async () => {
    const m = server(hash);
    await m.step(b(v.clientFirst));
    const bad = v.clientFinal.replace(/p=(.)/, (_, c: string) => `p=${c === 'A' ? 'B' : 'A'}`);
    assert.deepEqual(await m.step(b(bad)), { kind: 'failure', condition: 'not-authorized' });
  });

  test(`${hash}: unknown user looks like a wrong password`, async () => {
    const m = server(hash);
    const first = await m.step(b('n,,n=nobody,r=abcdef'));
    assert.equal(first.kind, 'challenge');
    assert.match(text(first), /^r=abcdef[^,]+,s=[A-Za-z0-9+/=]+,i=4096$/);
    // Same salt on a second attempt, so probing twice does not reveal the fake.
    const again = await server(hash).step(b('n,,n=nobody,r=abcdef'));
    assert.equal(text(again), text(first));
    const final = clientFinal(hash, 'pencil', 'n,,', 'n=nobody,r=abcdef', text(first));
    assert.deepEqual(await m.step(b(final)), { kind: 'failure', condition: 'not-authorized' });
  });

  test(`${hash}: nonce mismatch fails`, async () => {
    const m = server(hash);
    await m.step(b(v.clientFirst));
    const res = await m.step(b(v.clientFinal.replace(v.serverNonce, 'x' + v.serverNonce.slice(1))));
    assert.equal(res.kind, 'failure');
    assert.equal(res.kind === 'failure' && res.condition, 'not-authorized');
  });

  test(`${hash}: random server nonce extends the client nonce`, async () => {
    const m = new ScramMechanism(hash, lookup);
    const first = text(await m.step(b('n,,n=user,r=clientnonce')));
    const nonce = /^r=([^,]+),/.exec(first)![1]!;
    assert.ok(nonce.startsWith('clientnonce') && nonce.length > 'clientnonce'.length + 16);
    const final = clientFinal(hash, 'pencil', 'n,,', 'n=user,r=clientnonce', first);
    const res = await m.step(b(final));
    assert.equal(res.kind, 'success');
  });
}

test('SCRAM: "y" gs2 flag accepted, "p=" channel binding rejected', async () => {
  const m = server('SCRAM-SHA-256');
  const first = text(await m.step(b('y,,n=user,r=nonce1')));
  const final = clientFinal('SCRAM-SHA-256', 'pencil', 'y,,', 'n=user,r=nonce1', first);
  assert.equal((await m.step(b(final))).kind, 'success');

  const p = await server('SCRAM-SHA-256').step(b('p=tls-exporter,,n=user,r=nonce1'));
  assert.equal(p.kind === 'failure' && p.condition, 'malformed-request');
});

test('SCRAM: c= must echo the gs2 header', async () => {
  const m = server('SCRAM-SHA-256');
  const first = text(await m.step(b('y,,n=user,r=nonce1')));
  const final = clientFinal('SCRAM-SHA-256', 'pencil', 'n,,', 'n=user,r=nonce1', first);
  const res = await m.step(b(final));
  assert.equal(res.kind === 'failure' && res.condition, 'malformed-request');
});

test('SCRAM: username escapes, PRECIS preparation (as a JID localpart) and case folding', async () => {
  const seen: string[] = [];
  const m = server('SCRAM-SHA-256', { lookup: async (u) => (seen.push(u), undefined) });
  await m.step(b('n,,n=A=2Cb=3DcＤ\u00C4,r=n1'));
  assert.deepEqual(seen, ['a,b=cdä']);
  // A space (SASLprep mapped U+00A0 to one) cannot be in a localpart, nor a soft hyphen (SASLprep dropped it).
  for (const bad of ['n,,n=a=2c,r=n1', 'n,,n=a=,r=n1', 'n,,n=a=41,r=n1', 'n,,n=,r=n1', 'n,,n=a\u0007,r=n1', 'n,,n=c\u00A0d,r=n1', 'n,,n=a\u00ADb,r=n1']) {
    const res = await server('SCRAM-SHA-256').step(b(bad));
    assert.equal(res.kind === 'failure' && res.condition, 'malformed-request', bad);
  }
});

test('SCRAM: authzid must be the own bare JID', async () => {
  const run = async (gs2: string, domain?: string) => {
    const m = server('SCRAM-SHA-256', { domain });
    const first = text(await m.step(b(`${gs2}n=user,r=n1`)));
    return m.step(b(clientFinal('SCRAM-SHA-256', 'pencil', gs2, 'n=user,r=n1', first)));
  };
  assert.equal((await run('n,a=user@example.com,', 'example.com')).kind, 'success');
  assert.equal((await run('n,a=User@Example.COM,', 'example.com')).kind, 'success');
  const other = await run('n,a=admin@example.com,', 'example.com');
  assert.equal(other.kind === 'failure' && other.condition, 'invalid-authzid');
  const noDomain = await run('n,a=user@example.com,');
  assert.equal(noDomain.kind === 'failure' && noDomain.condition, 'invalid-authzid');
});

test('SCRAM: malformed client-first messages', async () => {
  const cases = [
    'garbage',
    'n,,n=user',
    'x,,n=user,r=n1',
    'n,b=x,n=user,r=n1',
    'n,,m=ext,n=user,r=n1',
    'n,,r=n1,n=user',
    'n,,n=user,r=',
    'n,,n=user,r=n1,extension',
    'n,,n=user\0,r=n1',
  ];
  for (const c of cases) {
    const res = await server('SCRAM-SHA-1').step(b(c));
    assert.equal(res.kind === 'failure' && res.condition, 'malformed-request', c);
  }
  const invalidUtf8 = await server('SCRAM-SHA-1').step(Buffer.from([0x6e, 0x2c, 0x2c, 0x6e, 0x3d, 0xff, 0x2c, 0x72, 0x3d, 0x31]));
  assert.equal(invalidUtf8.kind === 'failure' && invalidUtf8.condition, 'malformed-request');
});

test('SCRAM: malformed client-final messages', async () => {
  const v = VECTORS['SCRAM-SHA-1'];
  const cases = [
    'garbage',
    v.clientFinal.replace('p=', 'q='),
    v.clientFinal.replace(/,p=.*/, ''),
    v.clientFinal.replace('c=biws', 'c=bi!s'),
    v.clientFinal.replace(/p=.*/, 'p=AAAA'), // proof of the wrong length
    v.clientFinal.replace(/p=.*/, 'p=not base64'),
    v.clientFinal.replace('c=biws,', ''),
  ];
  for (const c of cases) {
    const m = server('SCRAM-SHA-1');
    await m.step(b(v.clientFirst));
    const res = await m.step(b(c));
    assert.equal(res.kind === 'failure' && res.condition, 'malformed-request', c);
    // A failed exchange is over.
    assert.equal((await m.step(b(v.clientFinal))).kind, 'failure');
  }
});

test('SCRAM: no initial response gets one empty challenge', async () => {
  const m = server('SCRAM-SHA-1');
  assert.deepEqual(await m.step(Buffer.alloc(0)), { kind: 'challenge', data: Buffer.alloc(0) });
  assert.equal(text(await m.step(b(VECTORS['SCRAM-SHA-1'].clientFirst))), VECTORS['SCRAM-SHA-1'].serverFirst);

  const twice = server('SCRAM-SHA-1');
  await twice.step(Buffer.alloc(0));
  assert.equal((await twice.step(Buffer.alloc(0))).kind, 'failure');
});

test('SCRAM: lookup errors are temporary failures', async () => {
  const m = server('SCRAM-SHA-1', { lookup: async () => Promise.reject(new Error('db down')) });
  const res = await m.step(b('n,,n=user,r=n1'));
  assert.equal(res.kind === 'failure' && res.condition, 'temporary-auth-failure');
});

test('createMechanism and MECHANISMS', () => {
  assert.deepEqual([...MECHANISMS], ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
  for (const name of MECHANISMS) assert.equal(createMechanism(name, lookup)?.name, name);
  assert.equal(createMechanism('DIGEST-MD5', lookup), undefined);
  assert.equal(createMechanism('SCRAM-SHA-256-PLUS', lookup), undefined);
});

test('deriveCredentials + verifyPassword round trip', async () => {
  const creds = await deriveCredentials('s3cr\u00E9t', 4096);
  for (const hash of HASHES) {
    assert.equal(creds[hash].iterations, 4096);
    assert.equal(Buffer.from(creds[hash].salt, 'base64').length, 16);
  }
  assert.notEqual(creds['SCRAM-SHA-1'].salt, creds['SCRAM-SHA-256'].salt);
  assert.equal(await verifyPassword(creds, 's3cr\u00E9t'), true);
  // SASLprep removes soft hyphens ("commonly mapped to nothing").
  assert.equal(await verifyPassword(creds, 's3cr\u00AD\u00E9t'), true);
  assert.equal(await verifyPassword(creds, 's3cret'), false);
  assert.equal(await verifyPassword(creds, 'bad\u0007'), false);
  await assert.rejects(deriveCredentials('bad\u0007'));
  assert.equal(await verifyPassword(fakeCredentials('user'), ''), false);

  // Derived credentials also work for a full SCRAM exchange.
  const m = new ScramMechanism('SCRAM-SHA-1', async () => creds);
  const first = text(await m.step(b('n,,n=alice,r=n1')));
  const res = await m.step(b(clientFinal('SCRAM-SHA-1', 's3cr\u00E9t', 'n,,', 'n=alice,r=n1', first)));
  assert.equal(res.kind === 'success' && res.username, 'alice');
});

test('RFC vector credentials match the RFC-derived keys', () => {
  // Independent check that scramCredential follows RFC 5802 §3.
  const salted = pbkdf2Sync('pencil', Buffer.from(VECTORS['SCRAM-SHA-1'].salt, 'base64'), 4096, 20, 'sha1');
  const clientKey = createHmac('sha1', salted).update('Client Key').digest();
  assert.equal(rfcCreds['SCRAM-SHA-1'].storedKey, createHash('sha1').update(clientKey).digest('base64'));
});
