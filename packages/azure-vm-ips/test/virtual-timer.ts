import { AbortedError } from "@cloudadmin/errors";
import type { Timer } from "@cloudadmin/paging";

/**
 * A virtual clock for tests that run the job against the simulator: the job's waits (quota
 * windows, Retry-After, back-off) and the simulator's quota windows both read this clock, and a
 * wait ends as soon as the process has been quiet for `quietMs` of real time, by moving the clock
 * to that wait's end. So a run that waits out five quota windows of 1 s takes milliseconds, and
 * the test asserts on what the job decided (the simulator's counts, `slept`), never on timings.
 *
 * Waits longer than `maxJumpMs` are the per-request timeouts of requests in flight (give the job a
 * `timeoutMs` above it). While one is pending the clock stands still: time must not pass between
 * the moment the job sends a query and the moment the simulator counts it against the quota, and a
 * request the simulator is still answering must not time out because the clock ran ahead.
 */
export class VirtualTimer implements Timer {
  time = 1_000_000;
  /** Every wait asked for, in ms. */
  readonly slept: number[] = [];
  private sleepers: Array<{ at: number; resolve: () => void }> = [];
  private idle: NodeJS.Timeout | undefined;

  constructor(
    private readonly quietMs = 5,
    private readonly maxJumpMs = 60_000,
  ) {}

  now = (): number => this.time;

  /** The simulator's clock: the same time. */
  readonly clock = { now: () => this.time, date: () => new Date(Date.UTC(2026, 11, 4) + this.time) };

  sleep = (ms: number, signal?: AbortSignal): Promise<void> => {
    this.slept.push(ms);
    if (signal?.aborted) return Promise.reject(new AbortedError());
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const entry = { at: this.time + ms, resolve };
      this.sleepers.push(entry);
      signal?.addEventListener(
        "abort",
        () => {
          this.sleepers = this.sleepers.filter((s) => s !== entry);
          reject(new AbortedError());
        },
        { once: true },
      );
      this.schedule();
    });
  };

  private schedule(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.tick(), this.quietMs);
    this.idle.unref();
  }

  private tick(): void {
    if (this.sleepers.some((s) => s.at - this.time > this.maxJumpMs)) {
      this.schedule();
      return;
    }
    let next: { at: number; resolve: () => void } | undefined;
    for (const s of this.sleepers)
      if (s.at - this.time <= this.maxJumpMs && (!next || s.at < next.at)) next = s;
    if (!next) return;
    this.time = Math.max(this.time, next.at);
    // Every wait that ends by then ends now (many waiters often wait for the same window's end).
    const due = this.sleepers.filter((s) => s.at <= this.time);
    this.sleepers = this.sleepers.filter((s) => s.at > this.time);
    for (const s of due) s.resolve();
    this.schedule();
  }
}
