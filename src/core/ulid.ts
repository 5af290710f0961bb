import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let used = POOL_BYTES;

/**
 * A float in [0, 1) from one byte of a pooled `crypto.randomFillSync` buffer: ulid needs only
 * 5 bits per character (`floor(x * 32)` is the byte's top 5 bits, uniform), so one system
 * call fills the randomness of 256 ids instead of ulid's default PRNG making one call per
 * character, 16 per id.
 */
export function pooledRandom(): number {
  if (used === POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  return pool[used++]! / 256;
}

/** A monotonic ULID factory (sortable, unique within the process) on the pooled PRNG. */
export function monotonicUlid(): (seedTime?: number) => string {
  return monotonicFactory(pooledRandom);
}
