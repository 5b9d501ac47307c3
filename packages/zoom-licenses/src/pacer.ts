import { TokenBucket, type Timer } from "@cloudadmin/paging";

/**
 * The pace of one Zoom rate-limit category, converging from the 429s themselves (additive
 * increase, multiplicative decrease, as TCP does with losses).
 *
 * Hand-written because Zoom does not tell a client its per-second limit in a form it can trust:
 * `X-RateLimit-Limit` on a per-second 429 may hold the daily quota (6,000 on a Free account) and
 * `X-RateLimit-Type` may be missing, and no API tells an app its account's plan. So the pace
 * starts from the documented limit of the plan the caller names and:
 * - on a per-second 429 drops to `decrease` times the current rate, at most once per round trip:
 *   requests already sent before the last decrease say nothing new when they come back 429;
 * - after each second of use without a 429 rises by `increaseStep` requests per second, never
 *   above the starting rate;
 * - a `Retry-After` pauses every request of the category, not only the one refused.
 * Guarantees: the rate stays in [`minRate`, starting rate]; `take` waits in FIFO order and honours
 * an AbortSignal (the shared `TokenBucket` does the waiting).
 */
export class AimdPacer {
  private rate: number;
  private readonly maxRate: number;
  private readonly bucket: TokenBucket;
  private lastDecreaseAt = Number.NEGATIVE_INFINITY;
  private lastChangeAt: number;

  constructor(
    startRate: number,
    private readonly timer: Timer,
    private readonly tuning: { decrease: number; increaseStep: number; minRate: number } = {
      decrease: 0.5,
      increaseStep: Math.max(0.5, startRate / 50),
      minRate: 0.5,
    },
  ) {
    this.rate = startRate;
    this.maxRate = startRate;
    this.bucket = new TokenBucket({ capacity: burstOf(startRate), refillPerSecond: startRate, timer });
    this.lastChangeAt = timer.now();
  }

  /** Requests per second allowed now. */
  currentRate(): number {
    return this.rate;
  }

  /** Waits for this category's next slot; returns the instant the request may be sent. */
  async take(signal?: AbortSignal): Promise<number> {
    await this.bucket.take(1, signal);
    return this.timer.now();
  }

  /** A request sent at `sentAt` was answered without a 429. */
  onSuccess(): void {
    const now = this.timer.now();
    if (this.rate >= this.maxRate || now - this.lastChangeAt < 1000) return;
    this.setRate(Math.min(this.maxRate, this.rate + this.tuning.increaseStep), now);
  }

  /**
   * A request sent at `sentAt` was refused with a per-second 429; `pauseMs` (the `Retry-After`,
   * when Zoom sent one) holds every request of the category back.
   */
  onThrottled(sentAt: number, pauseMs: number | undefined): void {
    const now = this.timer.now();
    if (pauseMs !== undefined && pauseMs > 0) this.bucket.update({ remaining: 0, resetInMs: pauseMs });
    if (sentAt < this.lastDecreaseAt) return;
    this.lastDecreaseAt = now;
    this.setRate(Math.max(this.tuning.minRate, this.rate * this.tuning.decrease), now);
  }

  private setRate(rate: number, now: number): void {
    this.rate = rate;
    this.lastChangeAt = now;
    this.bucket.setRate(rate, burstOf(rate));
  }
}

/** A tenth of a second's worth at once: smooth enough that an overshoot costs few 429s. */
function burstOf(rate: number): number {
  return Math.max(1, Math.floor(rate / 10));
}
