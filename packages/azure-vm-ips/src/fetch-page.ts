import type { QueryRequest, QueryResponse, ResourceGraphClient } from "@azure/arm-resourcegraph";
import {
  AbortedError,
  AuthError,
  CloudAdminError,
  RemoteError,
  ThrottledError,
  isAbortError,
} from "@cloudadmin/errors";
import { type Timer, retry, retryAfterFromHeaders, withTimeout } from "@cloudadmin/paging";
import { type QuotaPacer, type QuotaReading, parseResetsAfter } from "./pacer.js";

type Headers = { get(name: string): string | undefined };

/** What one answer said besides its rows. */
export interface PageAnswer {
  response: QueryResponse;
  /** `x-ms-tenant-subscription-limit-hit: true`: ARG read only the first 10,000 subscriptions. */
  subscriptionLimitHit: boolean;
  /** Whether the answer carried the quota headers. */
  quotaHeaders: boolean;
}

export interface FetchStats {
  throttled: number;
  retries: number;
}

export interface PageFetcherOptions {
  client: ResourceGraphClient;
  pacer: QuotaPacer;
  timer: Timer;
  random: () => number;
  timeoutMs: number;
  maxRetries: number;
  signal: AbortSignal;
  stats: FetchStats;
  onRetry?: () => void;
}

function quotaFrom(headers: Headers | undefined): QuotaReading | undefined {
  if (!headers) return undefined;
  const remaining = Number.parseInt(headers.get("x-ms-user-quota-remaining") ?? "", 10);
  const resetsAfterMs = parseResetsAfter(headers.get("x-ms-user-quota-resets-after"));
  if (Number.isNaN(remaining) || resetsAfterMs === undefined) return undefined;
  return { remaining, resetsAfterMs };
}

/** ARG's error details (`InvalidQuery`, `RateLimiting`...) joined into one readable sentence. */
function argMessage(error: { message?: string; details?: unknown }): { code?: string; text: string } {
  const body = error.details as
    | { error?: { code?: string; message?: string; details?: Array<{ code?: string; message?: string }> } }
    | undefined;
  const details = body?.error?.details ?? [];
  const parts = details.map((d) => `${d.code ?? "Error"}: ${d.message ?? ""}`.trim());
  return {
    code: details[0]?.code ?? body?.error?.code,
    text: parts.length > 0 ? parts.join("; ") : (error.message ?? "unknown error"),
  };
}

/** Maps an SDK failure to our error classes, keeping what the service said. */
export function toArgError(error: unknown, scope: string, now: number): CloudAdminError {
  if (error instanceof CloudAdminError) {
    if (error.scope === undefined) {
      return new CloudAdminError(error.code, error.message, {
        cause: error.cause,
        scope,
        phase: "resources-query",
        retryable: error.retryable,
      });
    }
    return error;
  }
  const e = error as {
    statusCode?: number;
    code?: string;
    message?: string;
    details?: unknown;
    response?: { headers?: Headers };
  };
  const status = e.statusCode;
  const { code, text } = argMessage(e);
  const base = { cause: error, scope, phase: "resources-query", status, remoteCode: code };
  if (status === 429) {
    const headers = e.response?.headers;
    return new ThrottledError(`Resource Graph throttled the query (${text})`, {
      ...base,
      retryAfterMs: headers ? retryAfterFromHeaders((n) => headers.get(n), now) : undefined,
    });
  }
  if (status === 401)
    return new AuthError(
      `Resource Graph refused the credential (${text}); check the token or sign in again`,
      base,
    );
  if (status === 403) {
    return new AuthError(`the principal may not read ${scope} (${text}); assign it Reader on that scope`, {
      ...base,
      code: "ERR_ACCESS_DENIED",
    });
  }
  if (status === 400) return new RemoteError(`Resource Graph rejected the query for ${scope}: ${text}`, base);
  if (status !== undefined && status !== 408 && status < 500)
    return new RemoteError(`Resource Graph answered ${status} for ${scope}: ${text}`, base);
  const network = status === undefined ? ` (${e.code ?? "network error"}: ${e.message ?? ""})` : "";
  return new RemoteError(
    `Resource Graph failed for ${scope}${status ? ` with ${status}` : ""}: ${status ? text : ""}${network}`.trim(),
    { ...base, retryable: true },
  );
}

/**
 * Fetching under the quota: one page through the pacer, under the per-request timeout, retried by
 * paging's `retry` (429s wait in the pacer for the quota window; 5xx, timeouts and dropped
 * connections back off with full jitter).
 */
export function createPageFetcher(options: PageFetcherOptions) {
  const { client, pacer, timer, signal, stats } = options;
  return async function fetchPage(request: QueryRequest, label: string): Promise<PageAnswer> {
    return retry(
      async () => {
        const ticket = await pacer.acquire(signal);
        let headers: Headers | undefined;
        try {
          const response = await withTimeout(
            (attemptSignal) =>
              client.resources(request, {
                abortSignal: attemptSignal,
                onResponse: (raw) => {
                  headers = raw.headers;
                },
              }),
            { timeoutMs: options.timeoutMs, signal, timer, what: `the Resource Graph query for ${label}` },
          );
          const reading = quotaFrom(headers);
          pacer.observe(ticket, reading);
          return {
            response,
            subscriptionLimitHit: headers?.get("x-ms-tenant-subscription-limit-hit") === "true",
            quotaHeaders: reading !== undefined,
          };
        } catch (raw) {
          const rawHeaders = headers ?? (raw as { response?: { headers?: Headers } }).response?.headers;
          if (signal.aborted || (isAbortError(raw) && !(raw instanceof CloudAdminError))) {
            pacer.observe(ticket, undefined);
            throw raw instanceof AbortedError ? raw : new AbortedError(undefined, { cause: raw });
          }
          const error = toArgError(raw, label, timer.now());
          if (error instanceof ThrottledError) {
            stats.throttled++;
            pacer.throttled(ticket, quotaFrom(rawHeaders), error.retryAfterMs, options.random);
          } else pacer.observe(ticket, quotaFrom(rawHeaders));
          throw error;
        }
      },
      {
        maxRetries: options.maxRetries,
        baseDelayMs: 500,
        maxDelayMs: 20_000,
        signal,
        timer,
        random: options.random,
        // A 429's wait (quota window, Retry-After) is the pacer's: retry adds only its jitter.
        retryAfterMs: () => undefined,
        onRetry: () => {
          stats.retries++;
          options.onRetry?.();
        },
      },
    );
  };
}

export type FetchPage = ReturnType<typeof createPageFetcher>;
