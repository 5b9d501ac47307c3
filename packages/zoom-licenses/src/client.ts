import type { ZoomTokenProvider } from "@cloudadmin/auth";
import {
  AbortedError,
  AuthError,
  CloudAdminError,
  RemoteError,
  ThrottledError,
  isAbortError,
} from "@cloudadmin/errors";
import { TokenBucket, type Timer, parseRetryAfter, realTimer } from "@cloudadmin/paging";
import type { ZoomUser } from "./types.js";

/** Zoom's rate-limit categories ("Rate Limit Label" in the API reference). */
export type RateLimitCategory = "Light" | "Medium" | "Heavy";

/** Per-second limits per category for Zoom's plans (Zoom's rate-limits page). */
export const ZOOM_PLAN_RATES: Record<"free" | "pro" | "business", Record<RateLimitCategory, number>> = {
  free: { Light: 4, Medium: 2, Heavy: 1 },
  pro: { Light: 30, Medium: 20, Heavy: 10 },
  business: { Light: 80, Medium: 60, Heavy: 40 },
};

export const DEFAULT_API_URL = "https://api.zoom.us/v2";

/** What the client tells the caller about each request (progress, statistics). */
export type ZoomRequestEvent =
  | { kind: "response"; category: RateLimitCategory; status: number }
  | {
      kind: "throttled";
      category: RateLimitCategory;
      type: "QPS" | "Daily-limit";
      retryAfterMs: number | undefined;
    }
  | { kind: "retry"; category: RateLimitCategory; attempt: number; delayMs: number; reason: string }
  | { kind: "token-refresh" }
  | { kind: "page-token-expired" };

export interface ZoomClientOptions {
  tokenProvider: ZoomTokenProvider;
  /** `https://api.zoom.us/v2` by default. */
  apiUrl?: string;
  fetch?: typeof fetch;
  /**
   * The account's plan, which sets the starting per-second pace per category (default `business`).
   * No Zoom API tells a Server-to-Server app its plan; a lower real limit is learnt from the first
   * 429's `X-RateLimit-Limit` and the pace drops to it.
   */
  plan?: keyof typeof ZOOM_PLAN_RATES;
  /** Overrides of the per-second pace per category. */
  rates?: Partial<Record<RateLimitCategory, number>>;
  /** Share of the limit to use (default 0.95: room for other apps on the account and for clock skew). */
  headroom?: number;
  /** Retries for throttling and transient errors per request (default 6). */
  maxRetries?: number;
  /** Per-request timeout in ms (default 30 s). */
  timeoutMs?: number;
  onEvent?: (event: ZoomRequestEvent) => void;
  timer?: Timer;
  /** Uniform [0, 1) source for backoff jitter (default Math.random). */
  random?: () => number;
}

export interface ZoomClientStats {
  requests: number;
  throttled: number;
  retries: number;
}

export interface ListUsersOptions {
  status?: "active" | "inactive" | "pending";
  /** 1..300 (default 300, Zoom's maximum). */
  pageSize?: number;
  signal?: AbortSignal;
  /** After each page: its number and size. */
  onPage?: (page: number, size: number) => void;
}

interface ZoomErrorBody {
  code?: number;
  message?: string;
}

/**
 * A small typed Zoom API client over `fetch`: bearer tokens from a {@link ZoomTokenProvider}
 * (refetched once on a 401), client-side pacing per rate-limit category, and retries that honour
 * `Retry-After` in seconds or as a date, and back off with jitter when it is missing. A daily-limit
 * 429 is not retried: it throws `ThrottledError` with code `ERR_QUOTA_EXHAUSTED`.
 */
export class ZoomClient {
  private readonly apiUrl: string;
  private readonly doFetch: typeof fetch;
  private readonly timer: Timer;
  private readonly random: () => number;
  private readonly headroom: number;
  private readonly buckets = new Map<RateLimitCategory, TokenBucket>();
  private readonly rates: Record<RateLimitCategory, number>;
  private staleToken: string | undefined;
  private readonly counters: ZoomClientStats = { requests: 0, throttled: 0, retries: 0 };

  constructor(private readonly options: ZoomClientOptions) {
    this.apiUrl = (options.apiUrl ?? DEFAULT_API_URL).replace(/\/+$/, "");
    this.doFetch = options.fetch ?? fetch;
    this.timer = options.timer ?? realTimer;
    this.random = options.random ?? Math.random;
    this.headroom = options.headroom ?? 0.95;
    this.rates = { ...ZOOM_PLAN_RATES[options.plan ?? "business"], ...options.rates };
  }

  stats(): ZoomClientStats {
    return { ...this.counters };
  }

  private bucket(category: RateLimitCategory): TokenBucket {
    let bucket = this.buckets.get(category);
    if (!bucket) {
      const rate = this.rates[category] * this.headroom;
      // Half a second's worth at once: the server's bucket holds a full second, so the other half
      // absorbs arrival jitter.
      bucket = new TokenBucket({
        capacity: Math.max(1, Math.floor(rate / 2)),
        refillPerSecond: rate,
        timer: this.timer,
      });
      this.buckets.set(category, bucket);
    }
    return bucket;
  }

  /** Lowers the pace of `category` to what the server says its limit is. */
  private learnLimit(category: RateLimitCategory, limit: number | undefined): void {
    const current = this.rates[category];
    const next =
      limit !== undefined && limit > 0 && limit < current
        ? limit
        : limit === undefined
          ? current / 2
          : current;
    if (next >= current) return;
    this.rates[category] = Math.max(0.5, next);
    const rate = this.rates[category] * this.headroom;
    this.bucket(category).setRate(rate, Math.max(1, Math.floor(rate / 2)));
  }

  private emit(event: ZoomRequestEvent): void {
    this.options.onEvent?.(event);
  }

  /**
   * One API call with pacing, auth and retries. Returns the parsed JSON body (or null for 204).
   * Throws RemoteError (with Zoom's `code` as remoteCode) for answers retrying cannot fix.
   */
  async request<T>(
    method: string,
    path: string,
    category: RateLimitCategory,
    init: { body?: unknown; signal?: AbortSignal; scope?: string } = {},
  ): Promise<T | null> {
    const maxRetries = this.options.maxRetries ?? 6;
    let refreshedAfter401 = false;
    for (let attempt = 0; ; attempt++) {
      init.signal?.throwIfAborted();
      await this.bucket(category).take(1, init.signal);
      let token: string;
      try {
        token = await this.options.tokenProvider.getToken(init.signal);
      } catch (error) {
        // The token endpoint being briefly down is worth a retry; refused credentials are not.
        if (
          init.signal?.aborted ||
          !(error instanceof CloudAdminError) ||
          !error.retryable ||
          attempt >= maxRetries
        ) {
          throw error;
        }
        await this.backoff(category, attempt, undefined, `token: ${error.message}`, init.signal);
        continue;
      }
      const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 30_000);
      let res: Response;
      this.counters.requests++;
      try {
        res = await this.doFetch(`${this.apiUrl}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            accept: "application/json",
            ...(init.body === undefined ? {} : { "content-type": "application/json" }),
          },
          body: init.body === undefined ? undefined : JSON.stringify(init.body),
          signal: init.signal ? AbortSignal.any([init.signal, timeout]) : timeout,
        });
      } catch (cause) {
        if (init.signal?.aborted) throw new AbortedError(undefined, { cause });
        const reason = isAbortError(cause) ? "timed out" : (cause as Error).message;
        if (attempt >= maxRetries) {
          throw new RemoteError(`Zoom ${method} ${path.split("?")[0]} failed: ${reason}`, {
            cause,
            scope: init.scope,
            code: isAbortError(cause) ? "ERR_TIMEOUT" : "ERR_REMOTE",
          });
        }
        await this.backoff(category, attempt, undefined, `network: ${reason}`, init.signal);
        continue;
      }
      this.emit({ kind: "response", category, status: res.status });
      if (res.status === 204) {
        await res.body?.cancel();
        return null;
      }
      const text = await res.text();
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = { message: text.slice(0, 200) };
      }
      if (res.ok) return body as T;
      const err = (body ?? {}) as ZoomErrorBody;
      const message = err.message ?? res.statusText;
      if (res.status === 401) {
        if (!refreshedAfter401) {
          refreshedAfter401 = true;
          // One new token per expiry, however many requests saw the 401 at once.
          if (this.staleToken !== token) {
            this.staleToken = token;
            this.options.tokenProvider.invalidate();
            this.emit({ kind: "token-refresh" });
          }
          continue;
        }
        throw new AuthError(
          `Zoom refused the access token (${message}); check the app's scopes and credentials`,
          {
            code: "ERR_AUTH",
            status: 401,
            remoteCode: err.code === undefined ? undefined : String(err.code),
            scope: init.scope,
          },
        );
      }
      if (res.status === 429) {
        const type = this.throttleType(res, message);
        const retryAfterMs = parseRetryAfter(res.headers.get("retry-after"), this.timer.now());
        this.counters.throttled++;
        this.emit({ kind: "throttled", category, type, retryAfterMs });
        if (type === "Daily-limit") {
          throw new ThrottledError(
            `Zoom's daily ${category} limit is spent (${message}); rerun after ${res.headers.get("retry-after") ?? "00:00 UTC"}`,
            { code: "ERR_QUOTA_EXHAUSTED", status: 429, retryAfterMs, scope: init.scope },
          );
        }
        const limitHeader = Number(res.headers.get("x-ratelimit-limit"));
        this.learnLimit(category, Number.isFinite(limitHeader) && limitHeader > 0 ? limitHeader : undefined);
        if (attempt >= maxRetries) {
          throw new ThrottledError(`Zoom kept throttling ${method} ${path.split("?")[0]}: ${message}`, {
            status: 429,
            retryAfterMs,
            scope: init.scope,
            retryable: false,
          });
        }
        // Everyone waiting on this category pauses, not only this request.
        const pause = retryAfterMs ?? this.jitter(attempt, 1000 / this.rates[category]);
        this.bucket(category).update({ remaining: 0, resetInMs: pause });
        await this.backoff(category, attempt, retryAfterMs, "429", init.signal);
        continue;
      }
      if (res.status >= 500 && attempt < maxRetries) {
        await this.backoff(
          category,
          attempt,
          parseRetryAfter(res.headers.get("retry-after")),
          String(res.status),
          init.signal,
        );
        continue;
      }
      throw new RemoteError(`Zoom ${method} ${path.split("?")[0]} answered ${res.status}: ${message}`, {
        status: res.status,
        remoteCode: err.code === undefined ? undefined : String(err.code),
        scope: init.scope,
        code: res.status === 404 ? "ERR_NOT_FOUND" : "ERR_REMOTE",
      });
    }
  }

  private throttleType(res: Response, message: string): "QPS" | "Daily-limit" {
    const header = res.headers.get("x-ratelimit-type");
    if (header) return /daily/i.test(header) ? "Daily-limit" : "QPS";
    // Zoom sometimes leaves the type out: the message and the reset time still tell.
    if (/daily/i.test(message)) return "Daily-limit";
    const after = parseRetryAfter(res.headers.get("retry-after"), this.timer.now());
    return after !== undefined && after > 60_000 ? "Daily-limit" : "QPS";
  }

  private jitter(attempt: number, baseMs: number): number {
    const ceiling = Math.min(10_000, Math.max(50, baseMs) * 2 ** attempt);
    return ceiling / 2 + this.random() * (ceiling / 2);
  }

  private async backoff(
    category: RateLimitCategory,
    attempt: number,
    retryAfterMs: number | undefined,
    reason: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const delayMs = Math.ceil(retryAfterMs ?? this.jitter(attempt, 200));
    this.counters.retries++;
    this.emit({ kind: "retry", category, attempt: attempt + 1, delayMs, reason });
    await this.timer.sleep(delayMs, signal);
  }

  /**
   * Every user with `status` (default active), page by page (300 per page). A `next_page_token`
   * lives 15 minutes: when Zoom says it expired, the listing starts again and skips users already
   * yielded.
   */
  async *listUsers(options: ListUsersOptions = {}): AsyncGenerator<ZoomUser, void, undefined> {
    const status = options.status ?? "active";
    const pageSize = Math.min(300, Math.max(1, options.pageSize ?? 300));
    const seen = new Set<string>();
    let token = "";
    let page = 0;
    let restarts = 0;
    for (;;) {
      const query = new URLSearchParams({ status, page_size: String(pageSize) });
      if (token) query.set("next_page_token", token);
      let body: { users?: ZoomUser[]; next_page_token?: string } | null;
      try {
        body = await this.request("GET", `/users?${query}`, "Medium", {
          signal: options.signal,
          scope: "users",
        });
      } catch (error) {
        if (
          token &&
          error instanceof RemoteError &&
          error.status === 400 &&
          error.remoteCode === "300" &&
          restarts < 3
        ) {
          restarts++;
          this.emit({ kind: "page-token-expired" });
          token = "";
          continue;
        }
        throw error;
      }
      const users = body?.users ?? [];
      options.onPage?.(++page, users.length);
      for (const user of users) {
        const key = user.id ?? user.email;
        if (seen.has(key)) continue;
        seen.add(key);
        yield user;
      }
      token = body?.next_page_token ?? "";
      if (!token) return;
    }
  }

  /** Changes a user's type (`PATCH /users/{userId}` with `{"type": n}`; 204). */
  async updateUserType(userId: string, type: number, signal?: AbortSignal): Promise<void> {
    await this.request("PATCH", `/users/${encodeURIComponent(userId)}`, "Light", {
      body: { type },
      signal,
      scope: userId,
    });
  }

  /** One user (`GET /users/{userId}`), by id or email. */
  async getUser(userId: string, signal?: AbortSignal): Promise<ZoomUser> {
    const user = await this.request<ZoomUser>("GET", `/users/${encodeURIComponent(userId)}`, "Light", {
      signal,
      scope: userId,
    });
    if (!user) throw new RemoteError(`Zoom returned no body for user ${userId}`, { scope: userId });
    return user;
  }
}

/** A {@link ZoomClient}. */
export function createZoomClient(options: ZoomClientOptions): ZoomClient {
  return new ZoomClient(options);
}
