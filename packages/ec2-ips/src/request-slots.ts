import { AbortedError } from "@cloudadmin/errors";

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Bounds the requests in flight across the whole run. Two queues: follow-up requests (the next
 * page of a listing already under way, credentials an account waits on) go before new work, so
 * the few account-regions that need several pages are not left for the very end.
 *
 * One abort listener for the whole queue (thousands of requests may wait; a listener each would
 * make every add and remove on the signal linear in the queue's length).
 */
export class RequestSlots {
  private active = 0;
  private readonly urgent: Waiter[] = [];
  private readonly normal: Waiter[] = [];

  constructor(
    private readonly limit: number,
    private readonly signal: AbortSignal,
  ) {
    signal.addEventListener(
      "abort",
      () => {
        const error = new AbortedError(undefined, { cause: signal.reason });
        for (const w of [...this.urgent.splice(0), ...this.normal.splice(0)]) w.reject(error);
      },
      { once: true },
    );
  }

  async run<T>(urgent: boolean, fn: () => Promise<T>): Promise<T> {
    await this.acquire(urgent);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private acquire(urgent: boolean): Promise<void> {
    if (this.signal.aborted)
      return Promise.reject(new AbortedError(undefined, { cause: this.signal.reason }));
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) =>
      (urgent ? this.urgent : this.normal).push({ resolve, reject }),
    );
  }

  private release(): void {
    const next = this.urgent.shift() ?? this.normal.shift();
    if (next) next.resolve();
    else this.active--;
  }
}
