const WINDOW_MS = 60_000;
/** Hard cap on tracked IPs so a flood from many addresses cannot exhaust memory. */
const MAX_ENTRIES = 100_000;

/**
 * Fixed one-minute window of authentication attempts per client IP.
 *
 * An attempt takes its slot with `reserve()` before the password is checked, synchronously, so
 * parallel connections cannot all pass the check while the (asynchronous) verifications run:
 * at most `maxFailuresPerMinute` checks per address and window, however many arrive at once.
 * An attempt that turns out not to be a wrong password (success, abort, a malformed request)
 * gives its slot back with `release()`; a wrong password keeps it. Only the attempt's own
 * slot is returned, so a valid login does not wipe an attacker's count from the same address.
 * A maxFailuresPerMinute of 0 (or less) disables throttling.
 */
export class AuthThrottle {
  // Map keeps insertion order; an entry is re-inserted whenever its window restarts, so the
  // oldest windows are always at the front and purging can stop at the first live one.
  private readonly windows = new Map<string, { start: number; used: number }>();

  constructor(
    private readonly maxFailuresPerMinute: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /**
   * Takes a slot for one attempt from `ip`; null when its window is used up. The returned
   * function gives the slot back (once) for an attempt that was not a wrong password.
   */
  reserve(ip: string): (() => void) | null {
    if (this.maxFailuresPerMinute <= 0) return () => {};
    this.purge();
    let w = this.windows.get(ip);
    if (w && w.used >= this.maxFailuresPerMinute) return null;
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
