const WINDOW_MS = 60_000;
/** Hard cap on tracked IPs so a flood from many addresses cannot exhaust memory. */
const MAX_ENTRIES = 100_000;

/**
 * Fixed one-minute window of failed authentications per client IP.
 * A maxFailuresPerMinute of 0 (or less) disables throttling.
 */
export class AuthThrottle {
  // Map keeps insertion order; an entry is re-inserted whenever its window restarts, so the
  // oldest windows are always at the front and purging can stop at the first live one.
  private readonly windows = new Map<string, { start: number; failures: number }>();

  constructor(
    private readonly maxFailuresPerMinute: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  allowed(ip: string): boolean {
    if (this.maxFailuresPerMinute <= 0) return true;
    this.purge();
    const w = this.windows.get(ip);
    return !w || w.failures < this.maxFailuresPerMinute;
  }

  failed(ip: string): void {
    if (this.maxFailuresPerMinute <= 0) return;
    this.purge();
    const w = this.windows.get(ip);
    if (w) {
      w.failures++;
      return;
    }
    this.windows.set(ip, { start: this.now(), failures: 1 });
    if (this.windows.size > MAX_ENTRIES) this.windows.delete(this.windows.keys().next().value!);
  }

  succeeded(ip: string): void {
    this.windows.delete(ip);
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
