import { AbortedError } from "@cloudadmin/errors";

/**
 * Bounds the requests in flight across the whole run. Two queues: follow-up requests (the next
 * page of a listing already under way, credentials an account waits on) go before new work, so
 * the few account-regions that need several pages are not left for the very end.
 */
export class RequestSlots {
  private active = 0;
  private readonly urgent: Array<() => void> = [];
  private readonly normal: Array<() => void> = [];
  constructor(private readonly limit: number) {}

  async run<T>(urgent: boolean, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    await this.acquire(urgent, signal);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private acquire(urgent: boolean, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(new AbortedError(undefined, { cause: signal.reason }));
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const queue = urgent ? this.urgent : this.normal;
      const onAbort = () => {
        const i = queue.indexOf(grant);
        if (i >= 0) queue.splice(i, 1);
        reject(new AbortedError(undefined, { cause: signal?.reason }));
      };
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      queue.push(grant);
    });
  }

  private release(): void {
    const next = this.urgent.shift() ?? this.normal.shift();
    if (next) next();
    else this.active--;
  }
}
