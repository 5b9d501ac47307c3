import type { Timer } from "@cloudadmin/paging";
import { MAX_TIMER_MS } from "./options.js";

/** How blocks are spaced: evenly over `rampMs` (when the number of blocks is known), or `delayMs` apart. */
interface Pacing {
  rampMs: number;
  delayMs: number;
  /** Blocks the ramp spreads (a cap, or what the target needs); null when unknown. */
  plannedBlocks: number | null;
  /** When allocation started, on the run's clock. */
  startedAt: number;
}

/**
 * When block `index` (from 0) is due, on the run's clock. A ramp puts block i at
 * `startedAt + rampMs * (i + 1) / plannedBlocks`, so the last block lands at the ramp's end and the
 * time spent allocating and touching is absorbed rather than added (blocks past the plan are due at
 * once). A delay waits `delayMs` before every block but the first.
 */
export function blockDueAt(pacing: Pacing, index: number, now: number): number {
  const { rampMs, plannedBlocks, delayMs, startedAt } = pacing;
  if (rampMs > 0 && plannedBlocks !== null && plannedBlocks > 0) {
    return startedAt + (rampMs * Math.min(index + 1, plannedBlocks)) / plannedBlocks;
  }
  return index > 0 ? now + delayMs : now;
}

/** Waits on the timer until `at` or until the signal aborts (which ends the wait without an error). */
export async function pauseUntil(timer: Timer, at: number, signal: AbortSignal | undefined): Promise<void> {
  for (let left = at - timer.now(); left > 0 && !signal?.aborted; left = at - timer.now()) {
    await pause(timer, Math.min(left, MAX_TIMER_MS), signal);
  }
}

/** Waits until the signal aborts (forever without one); the pending timer keeps the process alive. */
export async function pauseUntilAborted(timer: Timer, signal: AbortSignal | undefined): Promise<void> {
  while (!signal?.aborted) await pause(timer, MAX_TIMER_MS, signal);
}

/** One wait of `ms` on the timer; an abort ends it early, without an error. */
export async function pause(timer: Timer, ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (!(ms > 0) || signal?.aborted) return;
  try {
    await timer.sleep(ms, signal);
  } catch (error) {
    if (!signal?.aborted) throw error;
  }
}

/** Settles with the promise, or resolves as soon as the signal aborts. */
export function untilAborted(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
