/** Per-connection limits on output the peer has not read yet (see docs/configuration.md). */
export interface BackpressureOptions {
  /** Unsent output (queued here and in the socket's buffer) beyond which the peer counts as gone. */
  maxPendingOutputBytes: number;
  /** Seconds output may wait without any of it reaching the kernel before the peer counts as gone. */
  sendTimeoutSeconds: number;
}

/**
 * Watches one connection's unsent output. A client that stops reading would otherwise make the
 * server buffer everything sent to it: over the high-water mark, or when nothing of what waits
 * has been taken by the kernel for the send timeout (as Prosody's `send_timeout`), `onBacklog`
 * is called once and the stream layer drops or hibernates the session.
 */
export class OutputWatch {
  private timer: NodeJS.Timeout | null = null;
  private lastProgress = Date.now();
  private tripped = false;
  /** Allowance above the high-water mark for a resend the client asked for, until it drained. */
  private extra = 0;

  constructor(
    private readonly opts: BackpressureOptions,
    /** Bytes not yet handed to the kernel (approximately: UTF-16 units of the queued text). */
    private readonly pending: () => number,
    private readonly onBacklog: (reason: string) => void,
  ) {}

  /** Output was just handed to the socket. */
  wrote(): void {
    if (this.tripped) return;
    const n = this.pending();
    if (n > this.opts.maxPendingOutputBytes + this.extra) {
      return this.trip(`more than ${this.opts.maxPendingOutputBytes} bytes of output are waiting for the client to read them`);
    }
    if (n > 0 && !this.timer) {
      this.lastProgress = Date.now();
      this.arm(this.opts.sendTimeoutSeconds * 1000);
    }
  }

  /** A write completed (the kernel took that chunk): the peer is reading, however slowly. */
  readonly progress = (): void => {
    this.lastProgress = Date.now();
    if (this.extra === 0 && !this.timer) return;
    const n = this.pending();
    if (n <= this.opts.maxPendingOutputBytes) this.extra = 0;
    if (n === 0) this.clear();
  };

  /** The next `bytes` of output (an XEP-0198 resend on resumption) may exceed the mark once. */
  allow(bytes: number): void {
    this.extra += bytes;
  }

  stop(): void {
    this.tripped = true;
    this.clear();
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.tripped || this.pending() === 0) return;
      const idle = Date.now() - this.lastProgress;
      const limit = this.opts.sendTimeoutSeconds * 1000;
      if (idle >= limit) this.trip(`no output has drained for ${this.opts.sendTimeoutSeconds} s`);
      else this.arm(limit - idle);
    }, ms);
    this.timer.unref();
  }

  private clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private trip(reason: string): void {
    this.stop();
    this.onBacklog(reason);
  }
}
