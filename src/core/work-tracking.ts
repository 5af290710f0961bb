/**
 * What a client's stanzas set going: the asynchronous work (storage writes above all) that a
 * stanza started while it was handled. Stream management acknowledges a stanza only once that
 * work has settled, so an `<a h>` never covers a message that is not yet on disk (XEP-0198
 * leaves the answer's timing to the server).
 *
 * Work is registered where it is created, synchronously within the stanza's handling: the
 * router registers each domain handler's promise (which covers every await of that handler),
 * queues register their tasks. So a `<r/>` arriving in the same read as the stanza already sees
 * it. No AsyncLocalStorage: its promise hooks cost every promise of the server (a quarter of
 * the fan-out throughput, measured), and synchronous registration is all this needs.
 */
export class WorkTracker {
  private readonly pending = new Set<Promise<unknown>>();

  add(work: Promise<unknown>): void {
    if (this.pending.has(work)) return;
    this.pending.add(work);
    const done = () => this.pending.delete(work);
    work.then(done, done);
  }

  /** Resolves once every piece of work registered so far has settled (failures included: they were answered). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}

/** The tracker of the stanza being handled right now (synchronously), if any. */
let current: WorkTracker | null = null;

/** Runs `fn` (the synchronous part of handling one stanza) with `tracker` collecting the work it starts. */
export function runTracked<T>(tracker: WorkTracker, fn: () => T): T {
  const outer = current;
  current = tracker;
  try {
    return fn();
  } finally {
    current = outer;
  }
}

/**
 * Registers `work` with the stanza being handled, when called synchronously within its
 * handling (elsewhere it does nothing); returns `work` unchanged.
 */
export function trackWork<T>(work: Promise<T>): Promise<T> {
  current?.add(work);
  return work;
}
