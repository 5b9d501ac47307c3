import type { Clock } from "./clock.js";

export interface BucketSpec {
  /** Tokens available at once (the bucket's size). */
  burst: number;
  /** Tokens added per second. */
  perSecond: number;
}

export interface TakeResult {
  ok: boolean;
  /** Whole tokens left after this take. */
  remaining: number;
  /** When refused: milliseconds until one token is available. */
  retryAfterMs: number;
}

/**
 * The simulator's own token bucket, as services such as EC2 describe theirs: a bucket of `burst`
 * tokens refilled continuously at `perSecond`. Kept separate from the client-side limiter in
 * `@cloudadmin/paging` on purpose: the simulator must model the service, not our client.
 */
export class SimTokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    readonly spec: BucketSpec,
    private readonly clock: Clock,
  ) {
    this.tokens = spec.burst;
    this.last = clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.spec.burst, this.tokens + ((now - this.last) / 1000) * this.spec.perSecond);
    this.last = now;
  }

  take(n = 1): TakeResult {
    this.refill();
    if (this.tokens >= n) {
      this.tokens -= n;
      return { ok: true, remaining: Math.floor(this.tokens), retryAfterMs: 0 };
    }
    const missing = n - this.tokens;
    return { ok: false, remaining: 0, retryAfterMs: Math.ceil((missing / this.spec.perSecond) * 1000) };
  }

  /** Empties the bucket (a throttling burst). */
  drain(): void {
    this.refill();
    this.tokens = 0;
  }
}

/**
 * A fixed-window quota (ARG's "15 queries per 5 seconds"): `limit` requests per window, the window
 * starting at the first request after the previous one ended.
 */
export class SimFixedWindow {
  private windowStart = Number.NEGATIVE_INFINITY;
  private used = 0;
  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly clock: Clock,
  ) {}

  take(): TakeResult & { resetsAfterMs: number } {
    const now = this.clock.now();
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.used = 0;
    }
    const resetsAfterMs = Math.max(0, this.windowStart + this.windowMs - now);
    if (this.used < this.limit) {
      this.used++;
      return { ok: true, remaining: this.limit - this.used, retryAfterMs: 0, resetsAfterMs };
    }
    return { ok: false, remaining: 0, retryAfterMs: resetsAfterMs, resetsAfterMs };
  }
}
