import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressLimit } from '../../src/core/address-limit.ts';

test('AddressLimit: at most max slots a minute per IP, taken before the check', () => {
  let now = 1_000_000;
  const t = new AddressLimit(3, { now: () => now });
  // Three attempts in flight at once: a fourth is refused before any of them is settled.
  for (let i = 0; i < 3; i++) assert.ok(t.reserve('1.1.1.1'));
  assert.equal(t.reserve('1.1.1.1'), null);
  assert.ok(t.reserve('2.2.2.2'));
  now += 59_999;
  assert.equal(t.reserve('1.1.1.1'), null);
  now += 1;
  assert.ok(t.reserve('1.1.1.1'));
});

test('AddressLimit: a released slot is given back once, only in its own window; old entries are purged; 0 disables', () => {
  let now = 0;
  const t = new AddressLimit(2, { now: () => now });
  const a = t.reserve('a')!;
  assert.ok(t.reserve('a'));
  assert.equal(t.reserve('a'), null);
  a();
  a(); // a second release gives nothing more back
  assert.ok(t.reserve('a'));
  assert.equal(t.reserve('a'), null);

  // A slot of an ended window does not free one in the next.
  const old = t.reserve('o')!;
  now += 60_000;
  t.reserve('o');
  t.reserve('o');
  old();
  assert.equal(t.reserve('o'), null);

  for (let i = 0; i < 1000; i++) t.reserve(`10.0.${i >> 8}.${i & 255}`);
  assert.ok(t.size >= 1000);
  now += 60_000;
  t.reserve('b');
  assert.equal(t.size, 1);

  const off = new AddressLimit(0, { now: () => now });
  for (let i = 0; i < 10; i++) assert.ok(off.reserve('c'));
  assert.equal(off.size, 0);
});

test('AddressLimit: exempt addresses are never limited', () => {
  const t = new AddressLimit(1, { now: () => 0, exempt: (ip) => ip.startsWith('127.') });
  for (let i = 0; i < 5; i++) assert.ok(t.reserve('127.0.0.1'));
  assert.ok(t.reserve('192.0.2.1'));
  assert.equal(t.reserve('192.0.2.1'), null);
  assert.equal(t.size, 1);
});
