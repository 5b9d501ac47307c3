import { AbortedError } from "@cloudadmin/errors";
import type { Timer } from "@cloudadmin/paging";

/** setTimeout's largest delay, which the run uses for "until the signal aborts". */
export const FOREVER_MS = 2 ** 31 - 1;

/**
 * A fake clock that only the code under test moves: each wait it asks for is recorded in `slept`
 * and moves the clock by exactly that much, at once. A wait of {@link FOREVER_MS} (holding until
 * aborted) stays pending until its signal aborts. `advance` stands for time the work itself takes.
 */
export class SteppingTimer implements Timer {
  readonly slept: number[] = [];
  constructor(public time = 0) {}
  now = (): number => this.time;
  sleep = (ms: number, signal?: AbortSignal): Promise<void> => {
    this.slept.push(ms);
    if (signal?.aborted) return Promise.reject(new AbortedError());
    if (ms >= FOREVER_MS) {
      return new Promise((_, reject) => {
        signal?.addEventListener("abort", () => reject(new AbortedError()), { once: true });
      });
    }
    this.time += ms;
    return Promise.resolve();
  };
  advance(ms: number): void {
    this.time += ms;
  }
}
