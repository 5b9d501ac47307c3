/** One JSON line of `npm run bench` (SPEC section 8). */
export interface BenchResult {
  scenario: string;
  wallMs: number;
  /** max(boundModelMs, boundCpuMs): the shortest time any client could take here. */
  lowerBoundMs: number;
  /** Critical path and quota schedule under the simulator's latency and rate-limit model. */
  boundModelMs: number;
  /** requests / the highest request rate the same SDK client reaches on trivial requests. */
  boundCpuMs: number;
  ratioToBound: number;
  baselineMs: number;
  speedupVsBaseline: number;
  requests: number;
  throttled: number;
  retries: number;
  correct: boolean;
  /** Anything else the scenario wants to report (subset sizes, bytes, ...). */
  [extra: string]: unknown;
}

export interface BenchContext {
  /** Progress lines for people (stderr). */
  log(message: string): void;
  /** Aborted when the run is interrupted. */
  signal: AbortSignal;
}

export interface Scenario {
  /** The name used on the command line and in the JSON line (`ec2-org`). */
  name: string;
  /** One line on what it measures. */
  description: string;
  run(ctx: BenchContext): Promise<BenchResult>;
}
