/**
 * A room's output, in the order the room decided it. A groupchat message is broadcast only once
 * the archive has committed it (its stanza-id promises history has it), but the room does not
 * wait for that commit before taking its next stanza: that would cost one fsync per message.
 * Instead the message's release waits here, and whatever the room sends after it (presence of a
 * join or a leave, the next message) waits behind it, so occupants see events in the order the
 * room took them. With nothing pending, output goes straight out.
 */
export class OutputGate {
  private tail: Promise<void> = Promise.resolve();
  /** Steps on the chain not yet run. */
  private waiting = 0;
  /** A release is running: what it sends is its own output, not output to queue behind it. */
  private releasing = false;

  /** True when output may go out now. */
  get open(): boolean {
    return this.waiting === 0 || this.releasing;
  }

  /** Resolves once everything held so far has run. */
  idle(): Promise<void> {
    return this.tail;
  }

  /** Runs `send` now when the gate is open, else after everything held before it. */
  send(send: () => void): void {
    if (this.open) return send();
    void this.chain(() => this.release(send));
  }

  /**
   * Holds later output until `commit` settles, then runs `release` with the commit's failure
   * (null when it succeeded). Resolves once `release` has run.
   */
  after(commit: Promise<unknown>, release: (err: unknown) => void): Promise<void> {
    return this.chain(() =>
      commit.then(
        () => this.release(() => release(null)),
        (err: unknown) => this.release(() => release(err ?? new Error('commit failed'))),
      ),
    );
  }

  private release(fn: () => void): void {
    this.releasing = true;
    try {
      fn();
    } finally {
      this.releasing = false;
    }
  }

  private chain(step: () => void | Promise<void>): Promise<void> {
    this.waiting++;
    // A step's own failure (a bug in a release) must not stop the output behind it.
    const run = this.tail.then(step).then(
      () => void this.waiting--,
      () => void this.waiting--,
    );
    this.tail = run;
    return run;
  }
}
