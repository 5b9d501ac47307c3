import { type Timer, realTimer } from "./sleep.js";

export interface TokenBucketOptions {
  /** Tokens available at once. */
  capacity: number;
  /** Tokens added per second (continuous refill). */
  refillPerSecond: number;
  /** Tokens at start (default: capacity). */
  initial?: number;
  timer?: Timer;
}

/**
 * A client-side token bucket. `take()` waits until a token is available (FIFO, so callers are
 * served in order and none starves). `update()` feeds it from the server's own accounting
 * (ARG's `x-ms-user-quota-remaining`/`-resets-after`, Zoom's `X-RateLimit-Remaining`), so several
 * processes sharing one quota, or a quota already partly spent, are respected.
 *
 * Hand-written: the maintained limiters (bottleneck, p-throttle, limiter) cannot be corrected from
 * server headers at run time and do not take an AbortSignal per wait.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private capacity: number;
  private refillPerSecond: number;
  /** When the server said the quota is spent: no token before this time. */
  private blockedUntil = 0;
  private readonly timer: Timer;
  private queue: Promise<void> = Promise.resolve();
  /** Total milliseconds callers spent waiting for a token (progress: "throttling waits"). */
  waitedMs = 0;

  constructor(options: TokenBucketOptions) {
    if (!(options.capacity > 0) || !(options.refillPerSecond > 0)) {
      throw new RangeError("a token bucket needs a capacity and refill rate above 0");
    }
    this.capacity = options.capacity;
    this.refillPerSecond = options.refillPerSecond;
    this.timer = options.timer ?? realTimer;
    this.tokens = options.initial ?? options.capacity;
    this.last = this.timer.now();
  }

  private refill(now: number): void {
    if (now < this.blockedUntil) {
      this.last = now;
      return;
    }
    const from = Math.max(this.last, this.blockedUntil);
    this.tokens = Math.min(this.capacity, this.tokens + ((now - from) / 1000) * this.refillPerSecond);
    this.last = now;
  }

  /** Tokens available now (fractional). */
  available(): number {
    this.refill(this.timer.now());
    return this.tokens;
  }

  /** Takes one token if available now; never waits. */
  tryTake(n = 1): boolean {
    this.refill(this.timer.now());
    if (this.tokens >= n) {
      this.tokens -= n;
      return true;
    }
    return false;
  }

  /** Waits for `n` tokens and takes them. Rejects with AbortedError if `signal` aborts while waiting. */
  take(n = 1, signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => this.takeNow(n, signal));
    // The next caller waits for this one whether it succeeds or is aborted.
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async takeNow(n: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = this.timer.now();
      this.refill(now);
      if (this.tokens >= n) {
        this.tokens -= n;
        return;
      }
      const waitMs =
        now < this.blockedUntil
          ? this.blockedUntil - now
          : Math.ceil(((n - this.tokens) / this.refillPerSecond) * 1000);
      this.waitedMs += waitMs;
      await this.timer.sleep(waitMs, signal);
    }
  }

  /**
   * Corrects the bucket from what the server said: `remaining` requests allowed before the quota
   * resets in `resetInMs`. The bucket never holds more than the server allows; when the server
   * says 0, no token is handed out before the reset.
   */
  update(state: { remaining: number; resetInMs: number; limit?: number }): void {
    const now = this.timer.now();
    this.refill(now);
    if (state.limit !== undefined && state.limit > 0 && state.resetInMs > 0) {
      this.capacity = state.limit;
    }
    if (state.remaining <= 0) {
      this.tokens = 0;
      this.blockedUntil = Math.max(this.blockedUntil, now + state.resetInMs);
      return;
    }
    this.tokens = Math.min(this.tokens, state.remaining);
  }

  /** Changes the refill rate (a service announced a different limit). */
  setRate(refillPerSecond: number, capacity = this.capacity): void {
    this.refill(this.timer.now());
    this.refillPerSecond = refillPerSecond;
    this.capacity = capacity;
    this.tokens = Math.min(this.tokens, capacity);
  }
}
