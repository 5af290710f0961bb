import type { Logger } from '../core/logger.ts';
import type { PushNotificationRecord } from './app-server.ts';

export interface WebhookOptions {
  /** Tries per notification and URL, the first included. */
  attempts: number;
  /** Delay before the first retry; doubled for each next one (with jitter). */
  baseDelayMs: number;
  /** Per request. */
  timeoutMs: number;
  /** Deliveries waiting or running at once; beyond it new ones are dropped (and logged). */
  maxPending: number;
}

export const DEFAULT_WEBHOOK_OPTIONS: WebhookOptions = { attempts: 6, baseDelayMs: 250, timeoutMs: 10_000, maxPending: 10_000 };

export interface WebhookStats {
  delivered: number;
  retried: number;
  failed: number;
  dropped: number;
}

/**
 * POSTs each notification as JSON to the global webhook and to its node's, in the background:
 * failures (network errors, 5xx, 408, 429) are retried with exponential backoff, nothing ever
 * waits on a webhook, and the backlog is bounded.
 */
export class Webhooks {
  readonly stats: WebhookStats = { delivered: 0, retried: 0, failed: 0, dropped: 0 };
  private pending = 0;
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly aborts = new Set<AbortController>();

  constructor(
    private readonly log: Logger,
    /** Read at each delivery: a config reload may change the URLs. */
    private readonly urls: () => { global: string | null; perNode: Record<string, string> },
    private readonly opts: WebhookOptions = DEFAULT_WEBHOOK_OPTIONS,
  ) {}

  get enabled(): boolean {
    const { global, perNode } = this.urls();
    return global !== null || Object.keys(perNode).length > 0;
  }

  /** Posts `record` (whose JSON the caller may have made already) to its URLs. */
  deliver(record: PushNotificationRecord, json?: string): void {
    if (this.stopped) return;
    const urls = new Set<string>();
    const { global, perNode } = this.urls();
    if (global) urls.add(global);
    const own = perNode[record.node];
    if (own) urls.add(own);
    if (urls.size === 0) return;
    const body = json ?? JSON.stringify(record);
    for (const url of urls) {
      if (this.pending >= this.opts.maxPending) {
        this.stats.dropped++;
        this.log.warn({ url, node: record.node }, 'webhook backlog full: notification not forwarded');
        continue;
      }
      this.pending++;
      this.spawn(url, body, 1);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const a of this.aborts) a.abort();
    this.aborts.clear();
  }

  /** An attempt nobody awaits: a failure outside the one it expects is logged, never left unhandled. */
  private spawn(url: string, body: string, n: number): void {
    this.attempt(url, body, n).catch((err: unknown) => this.log.error({ err, url }, 'webhook delivery failed unexpectedly'));
  }

  private async attempt(url: string, body: string, n: number): Promise<void> {
    if (this.stopped) return void this.pending--;
    const abort = new AbortController();
    this.aborts.add(abort);
    const timer = setTimeout(() => abort.abort(), this.opts.timeoutMs);
    let retry: boolean;
    let why: string;
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: abort.signal });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) {
        this.stats.delivered++;
        this.pending--;
        return;
      }
      retry = res.status >= 500 || res.status === 408 || res.status === 429;
      why = `HTTP ${res.status}`;
    } catch (err) {
      retry = true;
      why = (err as Error).message;
    } finally {
      clearTimeout(timer);
      this.aborts.delete(abort);
    }
    if (this.stopped) return void this.pending--;
    if (!retry || n >= this.opts.attempts) {
      this.stats.failed++;
      this.pending--;
      this.log.warn({ url, attempts: n, error: why }, 'webhook delivery failed');
      return;
    }
    this.stats.retried++;
    const delay = this.opts.baseDelayMs * 2 ** (n - 1) * (0.8 + Math.random() * 0.4);
    this.log.debug({ url, attempt: n, error: why, retryInMs: Math.round(delay) }, 'webhook delivery failed: retrying');
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.spawn(url, body, n + 1);
    }, delay);
    t.unref();
    this.timers.add(t);
  }
}
