/**
 * Typed event bus with priorities, the way Prosody's module:hook works: handlers run from the
 * highest priority down; a handler returning `true` stops the chain (the event was handled).
 * Async handlers are awaited in order, so a feature can veto or rewrite a flow.
 */
export type Handler<P> = (payload: P) => boolean | void | Promise<boolean | void>;

interface Entry<P> {
  handler: Handler<P>;
  priority: number;
}

export class Hooks<Events extends { [K in keyof Events]: unknown }> {
  private readonly table = new Map<keyof Events, Entry<any>[]>();

  on<K extends keyof Events>(event: K, handler: Handler<Events[K]>, priority = 0): () => void {
    const list = this.table.get(event) ?? [];
    const entry = { handler, priority };
    list.push(entry);
    list.sort((a, b) => b.priority - a.priority);
    this.table.set(event, list);
    return () => {
      const current = this.table.get(event);
      if (current) this.table.set(event, current.filter((e) => e !== entry));
    };
  }

  has(event: keyof Events): boolean {
    return (this.table.get(event)?.length ?? 0) > 0;
  }

  /** Runs handlers in priority order; resolves true when one of them claimed the event. */
  async fire<K extends keyof Events>(event: K, payload: Events[K]): Promise<boolean> {
    const list = this.table.get(event);
    if (!list) return false;
    for (const { handler } of list) {
      if ((await handler(payload)) === true) return true;
    }
    return false;
  }

  /** Synchronous variant for hot paths: async handlers are started but not awaited. */
  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const list = this.table.get(event);
    if (!list) return;
    for (const { handler } of list) {
      let r: ReturnType<Handler<Events[K]>>;
      try {
        r = handler(payload);
      } catch (err) {
        // A failing listener must not take down the emitter's caller (a delivery, a close).
        this.onError(err, String(event));
        continue;
      }
      if (r instanceof Promise) r.catch((err) => this.onError(err, String(event)));
      else if (r === true) return;
    }
  }

  onError: (err: unknown, event: string) => void = (err) => {
    queueMicrotask(() => {
      throw err;
    });
  };
}
