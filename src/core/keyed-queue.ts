import { trackWork } from './work-tracking.ts';

/**
 * Tasks run one at a time per key, in the order they were queued (per account: storing and
 * delivering its offline messages, its roster). A task's failure goes to its caller only.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => T | Promise<T>): Promise<T> {
    const task = (this.tails.get(key) ?? Promise.resolve()).then(fn);
    const tail = task.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return trackWork(task);
  }

  /** True while tasks of this key are queued: later work for it must queue too to keep order. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }

  /** Resolves once every task queued so far (and any they queued) has run. */
  async drain(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}
