import { AbortedError } from "@cloudadmin/errors";

export interface SlotsOptions {
  /** Aborting rejects every waiter with `AbortedError`; holders keep their slot until they release it. */
  signal?: AbortSignal;
}

export interface AcquireOptions {
  /** Served before every non-urgent waiter (follow-up work, such as the next page of a listing under way). */
  urgent?: boolean;
}

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * A shared budget of requests in flight: at most `limit` holders at once, waiters served in arrival
 * order, urgent ones first. Unlike `mapConcurrent`, which bounds one loop, one `Slots` can guard
 * every request of a kind wherever it comes from (a per-app photo limit, a run-wide request bound).
 *
 * Written by hand because the maintained pools (p-limit, p-queue) register one abort listener per
 * waiting task: with thousands of waiters, every add and remove on the signal becomes linear in the
 * queue's length. Here one listener serves the whole queue.
 *
 * @example
 * ```ts
 * const slots = new Slots(4, { signal });
 * const photo = await slots.run(() => fetchPhoto(user));
 * const next = await slots.run(() => fetchPage(token), { urgent: true });
 * ```
 */
export class Slots {
  private held = 0;
  private readonly urgent: Waiter[] = [];
  private readonly normal: Waiter[] = [];
  private readonly limit: number;
  private readonly signal: AbortSignal | undefined;

  constructor(limit: number, options: SlotsOptions = {}) {
    this.limit = Math.max(1, Math.floor(limit));
    this.signal = options.signal;
    this.signal?.addEventListener(
      "abort",
      () => {
        const error = new AbortedError(undefined, { cause: this.signal?.reason });
        for (const w of [...this.urgent.splice(0), ...this.normal.splice(0)]) w.reject(error);
      },
      { once: true },
    );
  }

  /** Slots held now. */
  get active(): number {
    return this.held;
  }

  /** Callers waiting for a slot. */
  get waiting(): number {
    return this.urgent.length + this.normal.length;
  }

  /** Resolves when a slot is held; pair every successful acquire with one `release()`. */
  acquire(options: AcquireOptions = {}): Promise<void> {
    if (this.signal?.aborted)
      return Promise.reject(new AbortedError(undefined, { cause: this.signal.reason }));
    if (this.held < this.limit) {
      this.held++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) =>
      (options.urgent ? this.urgent : this.normal).push({ resolve, reject }),
    );
  }

  /** Hands the slot to the next waiter (urgent first), or frees it. */
  release(): void {
    const next = this.urgent.shift() ?? this.normal.shift();
    if (next) next.resolve();
    else if (this.held > 0) this.held--;
  }

  /** `fn` under a slot, released however `fn` ends. */
  async run<T>(fn: () => Promise<T>, options: AcquireOptions = {}): Promise<T> {
    await this.acquire(options);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}
