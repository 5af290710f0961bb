import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveCredentials, type StoredCredentials } from '../../src/stream/sasl/credentials.ts';
import type { CredentialLookup, SaslStep } from '../../src/stream/sasl/mechanism.ts';
import { PlainMechanism } from '../../src/stream/sasl/plain.ts';

const creds: StoredCredentials = await deriveCredentials('pencil', 1024);
const looked: string[] = [];
const lookup: CredentialLookup = async (u) => (looked.push(u), u === 'user' ? creds : undefined);

const plain = (authzid: string, authcid: string, password: string, domain = 'example.com') =>
  new PlainMechanism(lookup, { domain }).step(Buffer.from(`${authzid}\0${authcid}\0${password}`, 'utf8'));
const condition = (s: SaslStep) => (s.kind === 'failure' ? s.condition : s.kind);

test('PLAIN: correct password succeeds with the normalized username', async () => {
  assert.deepEqual(await plain('', 'user', 'pencil'), { kind: 'success', username: 'user' });
  looked.length = 0;
  assert.deepEqual(await plain('', 'USER', 'pencil'), { kind: 'success', username: 'user' });
  assert.deepEqual(looked, ['user']);
});

test('PLAIN: wrong password and unknown user are both not-authorized', async () => {
  assert.deepEqual(await plain('', 'user', 'pencil2'), { kind: 'failure', condition: 'not-authorized' });
  assert.deepEqual(await plain('', 'nobody', 'pencil'), { kind: 'failure', condition: 'not-authorized' });
  assert.deepEqual(await plain('', 'user', 'bad\u0007'), { kind: 'failure', condition: 'not-authorized' });
});

test('PLAIN: authzid must be empty or the own bare JID', async () => {
  assert.equal(condition(await plain('user@example.com', 'user', 'pencil')), 'success');
  assert.equal(condition(await plain('User@EXAMPLE.com', 'user', 'pencil')), 'success');
  assert.equal(condition(await plain('admin@example.com', 'user', 'pencil')), 'invalid-authzid');
  assert.equal(condition(await plain('user@other.org', 'user', 'pencil')), 'invalid-authzid');
  assert.equal(condition(await plain('user@example.com/res', 'user', 'pencil')), 'invalid-authzid');
  assert.equal(condition(await plain('not a jid@@', 'user', 'pencil')), 'invalid-authzid');
  // Authorization is only judged after authentication.
  assert.equal(condition(await plain('admin@example.com', 'user', 'wrong')), 'not-authorized');
});

test('PLAIN: malformed messages', async () => {
  const m = (data: Buffer | string) =>
    new PlainMechanism(lookup).step(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  for (const bad of ['user\0pencil', '\0user\0pencil\0', '\0\0pencil', '\0user\0', 'no-nul']) {
    assert.equal(condition(await m(bad)), 'malformed-request', JSON.stringify(bad));
  }
  assert.equal(condition(await m(`\0${'u'.repeat(256)}\0pencil`)), 'malformed-request');
  assert.equal(condition(await m(Buffer.from([0, 0x75, 0xff, 0, 0x70]))), 'malformed-request');
  assert.equal(condition(await m('\0user\u0007\0pencil')), 'malformed-request');
});

test('PLAIN: empty initial response, then credentials; no step after completion', async () => {
  const m = new PlainMechanism(lookup);
  assert.equal(m.name, 'PLAIN');
  assert.deepEqual(await m.step(Buffer.alloc(0)), { kind: 'challenge', data: Buffer.alloc(0) });
  assert.equal(condition(await m.step(Buffer.from('\0user\0pencil'))), 'success');
  assert.equal(condition(await m.step(Buffer.from('\0user\0pencil'))), 'malformed-request');

  const twice = new PlainMechanism(lookup);
  await twice.step(Buffer.alloc(0));
  assert.equal(condition(await twice.step(Buffer.alloc(0))), 'malformed-request');
});

test('PLAIN: lookup errors are temporary failures', async () => {
  const m = new PlainMechanism(async () => Promise.reject(new Error('db down')));
  assert.equal(condition(await m.step(Buffer.from('\0user\0pencil'))), 'temporary-auth-failure');
});
