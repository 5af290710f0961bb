import type { Target } from '../lib/client.ts';
import type { ChildServer } from '../lib/server.ts';

/** What a scenario gets: where the server is, the child when we started it, and the options. */
export interface ScenarioContext {
  target: Target;
  /** The mucpush child started for this scenario; null against an external server. */
  server: ChildServer | null;
  /** The server process to probe for RSS and CPU (the child, or --pid); null when unknown. */
  pid: number | null;
  /** Numeric options from the command line (--duration, --occupants, ...). */
  opt: (name: string, fallback: number) => number;
  log: (msg: string) => void;
}

/** Figures a scenario reports (one JSON line, one RESULTS.md row). */
export type Figures = Record<string, unknown>;

export interface Scenario {
  name: string;
  describe: string;
  /** Extra configuration for the mucpush child (merged onto the bench defaults). */
  config?: Record<string, unknown>;
  run(ctx: ScenarioContext): Promise<Figures>;
}
