import type { BenchResult } from "./scenario.js";

/** Wall time of `fn` in ms (monotonic clock) and its result. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

/**
 * The highest request rate (requests per second) `request` reaches with `concurrency` callers for
 * about `durationMs`, after a short warm-up. Scenarios call it with the same SDK client against the
 * same simulator (zero latency, no limits) and a trivial request, to get `boundCpuMs`.
 */
export async function measureRequestRate(
  request: () => Promise<unknown>,
  options: { concurrency?: number; durationMs?: number; warmupRequests?: number } = {},
): Promise<number> {
  const concurrency = options.concurrency ?? 16;
  const durationMs = options.durationMs ?? 1500;
  for (let i = 0; i < (options.warmupRequests ?? 50); i++) await request();
  let count = 0;
  const start = performance.now();
  const worker = async () => {
    while (performance.now() - start < durationMs) {
      await request();
      count++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (count / (performance.now() - start)) * 1000;
}

export interface ResultInput {
  scenario: string;
  wallMs: number;
  boundModelMs: number;
  /** Requests the run made and the calibrated rate (req/s), for boundCpuMs. */
  requests: number;
  requestRate: number;
  /** CPU any client spends on the bytes it must read (decrypt, decode, parse), added to boundCpuMs. */
  bytesCpuMs?: number;
  /** Baseline time; when it ran on a subset, give the units of both so the ratio is per unit. */
  baselineMs: number;
  baselineUnits?: number;
  units?: number;
  throttled: number;
  retries: number;
  correct: boolean;
  extra?: Record<string, unknown>;
}

const round = (n: number, digits = 0) => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

/** Builds the JSON line: lower bound, ratio to it, and speed-up against the baseline (per unit of work). */
export function benchResult(input: ResultInput): BenchResult {
  const boundCpuMs =
    (input.requestRate > 0 ? (input.requests / input.requestRate) * 1000 : 0) + (input.bytesCpuMs ?? 0);
  const lowerBoundMs = Math.max(input.boundModelMs, boundCpuMs);
  const perUnit =
    input.baselineUnits !== undefined && input.units !== undefined && input.baselineUnits > 0
      ? (input.baselineMs / input.baselineUnits) * input.units
      : input.baselineMs;
  const computed = {
    scenario: input.scenario,
    wallMs: round(input.wallMs),
    lowerBoundMs: round(lowerBoundMs),
    boundModelMs: round(input.boundModelMs),
    boundCpuMs: round(boundCpuMs),
    ratioToBound: lowerBoundMs > 0 ? round(input.wallMs / lowerBoundMs, 3) : 0,
    baselineMs: round(input.baselineMs),
    speedupVsBaseline: input.wallMs > 0 ? round(perUnit / input.wallMs, 2) : 0,
    requests: input.requests,
    throttled: input.throttled,
    retries: input.retries,
    correct: input.correct,
  };
  // A scenario's extra fields follow the SPEC's and can never overwrite a computed one.
  const extra = Object.entries(input.extra ?? {}).filter(([key]) => !(key in computed));
  return { ...computed, ...Object.fromEntries(extra) };
}
