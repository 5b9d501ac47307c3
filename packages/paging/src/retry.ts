import { AbortedError, CloudAdminError, ThrottledError, isAbortError } from "@cloudadmin/errors";
import { type Timer, realTimer } from "./sleep.js";

/**
 * Parses a `Retry-After` header: delay-seconds (`"120"`, `"1.5"`) or an HTTP date. Returns
 * milliseconds from `now` (never negative), or undefined when absent or unreadable.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Anything that answers a header by name: `Headers`, a plain record (any case), or a getter. */
export type HeaderSource =
  | { get(name: string): string | null | undefined }
  | Record<string, string | string[] | number | undefined>
  | ((name: string) => string | null | undefined);

function headerValue(headers: HeaderSource, name: string): string | undefined {
  if (typeof headers === "function") return headers(name) ?? undefined;
  if (typeof (headers as { get?: unknown }).get === "function") {
    return (headers as { get(n: string): string | null | undefined }).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | string[] | number | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value[0] : value === undefined ? undefined : String(value);
}

/**
 * The delay a response asks for, in ms, from every form services use: `retry-after-ms` and
 * `x-ms-retry-after-ms` (milliseconds, Azure), then `Retry-After` (seconds or an HTTP date).
 * Undefined when none is present or readable.
 */
export function retryAfterFromHeaders(headers: HeaderSource, now: number = Date.now()): number | undefined {
  for (const name of ["retry-after-ms", "x-ms-retry-after-ms"]) {
    const text = headerValue(headers, name)?.trim();
    if (text && /^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text));
  }
  return parseRetryAfter(headerValue(headers, "retry-after"), now);
}

/**
 * The full-jitter backoff delay before retry number `attempt + 1`: uniform in
 * [0, min(cap, base * 2^attempt)), never less than what the server asked for.
 */
export function backoffDelay(
  attempt: number,
  options: { baseDelayMs?: number; maxDelayMs?: number; random?: () => number; askedMs?: number } = {},
): number {
  const ceiling = Math.min(options.maxDelayMs ?? 20_000, (options.baseDelayMs ?? 200) * 2 ** attempt);
  const jittered = (options.random ?? Math.random)() * ceiling;
  return Math.ceil(options.askedMs === undefined ? jittered : Math.max(options.askedMs, jittered));
}

export interface RetryOptions {
  /** Retries after the first attempt (default 5). 0 = no retry. */
  maxRetries?: number;
  /** First backoff ceiling in ms (default 200). */
  baseDelayMs?: number;
  /** Largest backoff ceiling in ms (default 20,000). */
  maxDelayMs?: number;
  /** Whether an error is worth retrying (default: CloudAdminError.retryable, ThrottledError, network errors). */
  isRetryable?: (error: unknown, attempt: number) => boolean;
  /** The server's requested delay in ms, when it said one (default: ThrottledError.retryAfterMs). */
  retryAfterMs?: (error: unknown) => number | undefined;
  /** Called before each wait: attempt number (1 = first retry), the delay and the error. */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  signal?: AbortSignal;
  timer?: Timer;
  /** Uniform [0, 1) source for jitter (default Math.random). */
  random?: () => number;
}

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "ECONNABORTED",
]);

/** The default retry decision: our own retryable errors, throttling, 5xx and dropped connections. */
export function isTransientError(error: unknown): boolean {
  if (error instanceof CloudAdminError) return error.retryable;
  if (typeof error !== "object" || error === null) return false;
  const e = error as {
    code?: unknown;
    statusCode?: unknown;
    status?: unknown;
    cause?: unknown;
    name?: unknown;
  };
  if (typeof e.code === "string" && NETWORK_CODES.has(e.code)) return true;
  const status =
    typeof e.statusCode === "number" ? e.statusCode : typeof e.status === "number" ? e.status : undefined;
  if (status !== undefined) return status === 429 || status === 408 || status >= 500;
  if (e.name === "TypeError" && e.cause) return isTransientError(e.cause); // fetch failed: network error in cause
  return false;
}

/**
 * Calls `fn` until it succeeds, retrying transient errors with exponential backoff and full jitter
 * (delay = random(0, min(maxDelay, base * 2^attempt))), waiting at least what the server asked
 * for in `Retry-After`. After `maxRetries` retries it throws the last error, wrapped so that
 * `cause` is the last error; errors that are not retryable are thrown as they are, at once.
 *
 * @example
 * ```ts
 * const page = await retry((attempt) => client.list(token), { maxRetries: 6, onRetry: () => stats.retries++ });
 * ```
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const maxRetries = options.maxRetries ?? 5;
  const base = options.baseDelayMs ?? 200;
  const cap = options.maxDelayMs ?? 20_000;
  const timer = options.timer ?? realTimer;
  const random = options.random ?? Math.random;
  const isRetryable = options.isRetryable ?? ((e: unknown) => isTransientError(e));
  const retryAfter =
    options.retryAfterMs ?? ((e: unknown) => (e instanceof ThrottledError ? e.retryAfterMs : undefined));
  for (let attempt = 0; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      if (isAbortError(error) || options.signal?.aborted) {
        throw error instanceof AbortedError ? error : new AbortedError(undefined, { cause: error });
      }
      if (!isRetryable(error, attempt)) throw error;
      if (attempt >= maxRetries) {
        const last = error instanceof Error ? error.message : String(error);
        if (error instanceof CloudAdminError) {
          throw new CloudAdminError(error.code, `gave up after ${maxRetries + 1} attempts: ${last}`, {
            cause: error,
            scope: error.scope,
            phase: error.phase,
            status: error.status,
            remoteCode: error.remoteCode,
            retryable: false,
          });
        }
        throw new CloudAdminError("ERR_REMOTE", `gave up after ${maxRetries + 1} attempts: ${last}`, {
          cause: error,
        });
      }
      const asked = retryAfter(error);
      const delayMs = backoffDelay(attempt, {
        baseDelayMs: base,
        maxDelayMs: cap,
        random,
        ...(asked === undefined ? {} : { askedMs: asked }),
      });
      options.onRetry?.({ attempt: attempt + 1, delayMs, error });
      await timer.sleep(delayMs, options.signal);
    }
  }
}
