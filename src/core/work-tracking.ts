import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What a client's stanzas set going: the asynchronous work (storage writes above all) that a
 * stanza started while it was handled. Stream management acknowledges a stanza only once that
 * work has settled, so an `<a h>` never covers a message that is not yet on disk (XEP-0198
 * leaves the answer's timing to the server).
 *
 * Work is registered where it is created, synchronously within the stanza's handling (the router
 * registers each domain handler's promise, queues register their tasks), so a `<r/>` arriving in
 * the same read as the stanza already sees it.
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
    // Work settling may have started more work in this tracker's context (a write after a read).
    for (let round = 0; this.pending.size > 0 && round < 100; round++) await Promise.allSettled([...this.pending]);
  }

  get size(): number {
    return this.pending.size;
  }
}

const current = new AsyncLocalStorage<WorkTracker>();

/** Runs `fn` (the handling of one stanza) with `tracker` collecting the work it starts. */
export function runTracked<T>(tracker: WorkTracker, fn: () => T): T {
  return current.run(tracker, fn);
}

/** Registers `work` with the stanza being handled, if any; returns it unchanged. */
export function trackWork<T>(work: Promise<T>): Promise<T> {
  current.getStore()?.add(work);
  return work;
}
