/**
 * `@cloudadmin/paging`: continuation-token pagination, bounded concurrency over async iterables,
 * a shared budget of requests in flight (`Slots`), a token-bucket rate limiter fed from server headers, and retry with full-jitter backoff.
 *
 * @example
 * ```ts
 * import { flatMapConcurrent, paginate, retry } from "@cloudadmin/paging";
 * for await (const vm of flatMapConcurrent(batches, (b) => paginate((t) => retry(() => query(b, t))),
 *   { concurrency: 3 })) console.log(vm);
 * ```
 */
export { paginate, collect } from "./paginate.js";
export type { Page, PaginateOptions } from "./paginate.js";
export { flatMapConcurrent, mapConcurrent } from "./concurrency.js";
export type { ConcurrencyOptions } from "./concurrency.js";
export { Slots } from "./slots.js";
export type { AcquireOptions, SlotsOptions } from "./slots.js";
export { TokenBucket } from "./rate-limiter.js";
export type { TokenBucketOptions } from "./rate-limiter.js";
export { retry, parseRetryAfter, retryAfterFromHeaders, backoffDelay, isTransientError } from "./retry.js";
export type { RetryOptions, HeaderSource } from "./retry.js";
export { withTimeout, DEFAULT_TIMEOUT_MS } from "./timeout.js";
export type { WithTimeoutOptions } from "./timeout.js";
export type { JobOptions } from "./job-options.js";
export { shardOf, parseShard } from "./shard.js";
export type { Shard } from "./shard.js";
export { sleep, realTimer } from "./sleep.js";
export type { Timer } from "./sleep.js";
