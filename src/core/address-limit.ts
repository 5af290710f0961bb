import type { Config } from '../config/types.ts';
import { addressMatcher } from '../transport/connection.ts';

const WINDOW_MS = 60_000;
/** Hard cap on tracked IPs so a flood from many addresses cannot exhaust memory. */
const MAX_ENTRIES = 100_000;

/**
 * A fixed one-minute window of attempts per client IP: failed logins, in-band registrations,
 * room creations.
 *
 * An attempt takes its slot with `reserve()` before any asynchronous work (a password check, a
 * password hash, a store write), synchronously, so parallel connections cannot all pass the
 * limit while that work runs: at most `maxPerMinute` per address and window, however many
 * arrive at once. An attempt that should not count (a login that succeeded, a registration
 * that failed) gives its own slot back with the function `reserve()` returned; only that slot,
 * so one success does not wipe the count of others from the same address.
 * A maxPerMinute of 0 (or less) disables the limit; `exempt` addresses are never limited.
 */
export class AddressLimit {
  // Map keeps insertion order; an entry is re-inserted whenever its window restarts, so the
  // oldest windows are always at the front and purging can stop at the first live one.
  private readonly windows = new Map<string, { start: number; used: number }>();

  private readonly limit: () => number;
  private readonly now: () => number;
  private readonly exempt: (ip: string) => boolean;

  constructor(
    /** A number, or a function read at each attempt (a config reload may change it). */
    maxPerMinute: number | (() => number),
    opts: { now?: () => number; exempt?: (ip: string) => boolean } = {},
  ) {
    this.limit = typeof maxPerMinute === 'number' ? () => maxPerMinute : maxPerMinute;
    this.now = opts.now ?? (() => Date.now());
    this.exempt = opts.exempt ?? (() => false);
  }

  /**
   * Takes a slot for one attempt from `ip`; null when its window is used up. The returned
   * function gives the slot back (once) for an attempt that should not count.
   */
  reserve(ip: string): (() => void) | null {
    const max = this.limit();
    if (max <= 0 || this.exempt(ip)) return () => {};
    this.purge();
    let w = this.windows.get(ip);
    if (w && w.used >= max) return null;
    if (w) w.used++;
    else {
      w = { start: this.now(), used: 1 };
      this.windows.set(ip, w);
      if (this.windows.size > MAX_ENTRIES) this.windows.delete(this.windows.keys().next().value!);
    }
    const window = w;
    let released = false;
    return () => {
      // A slot taken in a window that has ended since is not given to the next one.
      if (released || this.windows.get(ip) !== window) return;
      released = true;
      if (--window.used <= 0) this.windows.delete(ip);
    };
  }

  /** Number of IPs currently tracked (for tests and metrics). */
  get size(): number {
    return this.windows.size;
  }

  private purge(): void {
    const cutoff = this.now() - WINDOW_MS;
    for (const [ip, w] of this.windows) {
      if (w.start > cutoff) break;
      this.windows.delete(ip);
    }
  }
}

/**
 * A limit on creating things (accounts, rooms) per address; `limits.exemptAddresses` are not
 * limited. Both are read from `config` at each attempt, so a config reload applies to the next one.
 */
export function creationLimit(config: Config, perMinute: () => number): AddressLimit {
  let exempt = config.limits.exemptAddresses;
  let matches = addressMatcher(exempt);
  return new AddressLimit(perMinute, {
    exempt: (ip) => {
      // A reload replaces the array: the matcher is rebuilt once per change, not per attempt.
      if (config.limits.exemptAddresses !== exempt) matches = addressMatcher((exempt = config.limits.exemptAddresses));
      return matches(ip);
    },
  });
}
