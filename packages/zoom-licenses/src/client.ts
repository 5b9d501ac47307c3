import { checkEndpoint, type ZoomTokenProvider } from "@cloudadmin/auth";
import { AuthError, CloudAdminError, RemoteError, ThrottledError } from "@cloudadmin/errors";
import { type JobOptions, type Timer, realTimer, retry, withTimeout } from "@cloudadmin/paging";
import { AimdPacer } from "./pacer.js";
import { classifyThrottle } from "./throttle.js";
import type { ZoomUser } from "./types.js";
import { parseBody, zoomErrorText } from "./zoom-error.js";

/** Zoom's rate-limit categories ("Rate Limit Label" in the API reference). */
export type RateLimitCategory = "Light" | "Medium" | "Heavy";

/** Zoom's plans, as its rate-limits page names them (Business covers Business+, Education...). */
export type ZoomPlan = "free" | "pro" | "business";

/** Documented per-second limits per category for Zoom's plans (developers.zoom.us rate limits). */
export const ZOOM_PLAN_RATES: Record<ZoomPlan, Record<RateLimitCategory, number>> = {
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
      type: "per-second" | "daily";
      /** What told the kind apart: `X-RateLimit-Type`, the message, the wait, or nothing (per-second). */
      decidedBy: "type" | "message" | "retry-after" | "default";
      retryAfterMs: number | undefined;
      /** The category's pace after this 429 (requests per second). */
      rate: number;
    }
  | { kind: "retry"; attempt: number; delayMs: number; reason: string }
  | { kind: "token-refresh" }
  | { kind: "page-token-expired" };

export interface ZoomClientOptions extends Pick<JobOptions, "timeoutMs" | "maxRetries" | "timer" | "random"> {
  tokenProvider: ZoomTokenProvider;
  /** `https://api.zoom.us/v2` by default; https, or plain http on loopback only. */
  apiUrl?: string;
  fetch?: typeof fetch;
  /**
   * The account's plan, whose documented limits are the starting pace per category (default
   * `business`). No Zoom API tells an app its plan: the pace comes down from the 429s themselves.
   */
  plan?: ZoomPlan;
  /** Overrides of the starting per-second pace per category. */
  rates?: Partial<Record<RateLimitCategory, number>>;
  /** Share of the limit to start at (default 0.95: room for other apps on the account). */
  headroom?: number;
  onEvent?: (event: ZoomRequestEvent) => void;
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

/** One HTTP exchange, read whole. */
interface Exchange {
  status: number;
  headers: Headers;
  body: unknown;
  /** When the request left, for the pacer's one-decrease-per-round-trip rule. */
  sentAt: number;
}

interface RequestInit {
  body?: unknown;
  signal?: AbortSignal;
  /** What the request is about, for errors (a user id, `users`). */
  scope?: string;
}

/**
 * A small typed Zoom API client over `fetch`. Each request goes through four steps, one method
 * each: `send` (one paced HTTP exchange under the timeout), `authorised` (the bearer token, with
 * one new token after a 401), `check` (a 429 classified as per-second or daily, other failures as
 * errors) and `request` (paging's `retry` around the rest). A daily-limit 429 is not retried: it
 * throws `ThrottledError` with code `ERR_QUOTA_EXHAUSTED`.
 */
export class ZoomClient {
  private readonly apiUrl: string;
  private readonly doFetch: typeof fetch;
  private readonly timer: Timer;
  private readonly pacers = new Map<RateLimitCategory, AimdPacer>();
  private readonly startRates: Record<RateLimitCategory, number>;
  private staleToken: string | undefined;
  private readonly counters: ZoomClientStats = { requests: 0, throttled: 0, retries: 0 };

  constructor(private readonly options: ZoomClientOptions) {
    this.apiUrl = checkEndpoint(options.apiUrl ?? DEFAULT_API_URL, "the Zoom API URL (apiUrl)")
      .toString()
      .replace(/\/+$/, "");
    this.doFetch = options.fetch ?? fetch;
    this.timer = options.timer ?? realTimer;
    this.startRates = { ...ZOOM_PLAN_RATES[options.plan ?? "business"], ...options.rates };
  }

  stats(): ZoomClientStats {
    return { ...this.counters };
  }

  /** The current pace of a category (requests per second), as learnt from the 429s so far. */
  rate(category: RateLimitCategory): number {
    return this.pacer(category).currentRate();
  }

  private pacer(category: RateLimitCategory): AimdPacer {
    let pacer = this.pacers.get(category);
    if (!pacer) {
      pacer = new AimdPacer(this.startRates[category] * (this.options.headroom ?? 0.95), this.timer);
      this.pacers.set(category, pacer);
    }
    return pacer;
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
    init: RequestInit = {},
  ): Promise<T | null> {
    return retry(
      async () => {
        const exchange = await this.authorised(method, path, category, init);
        return this.check(exchange, method, path, category, init.scope) as T | null;
      },
      {
        maxRetries: this.options.maxRetries ?? 5,
        timer: this.timer,
        ...(this.options.random ? { random: this.options.random } : {}),
        ...(init.signal ? { signal: init.signal } : {}),
        onRetry: ({ attempt, delayMs, error }) => {
          this.counters.retries++;
          this.emit({ kind: "retry", attempt, delayMs, reason: (error as Error).message });
        },
      },
    );
  }

  /** One paced exchange under the timeout. Network failures and timeouts are retryable. */
  private async send(
    method: string,
    path: string,
    category: RateLimitCategory,
    token: string,
    init: RequestInit,
  ): Promise<Exchange> {
    const sentAt = await this.pacer(category).take(init.signal);
    this.counters.requests++;
    const what = `Zoom ${method} ${path.split("?")[0]}`;
    const exchange = await withTimeout(
      async (signal) => {
        let res: Response;
        try {
          res = await this.doFetch(`${this.apiUrl}${path}`, {
            method,
            headers: {
              authorization: `Bearer ${token}`,
              accept: "application/json",
              ...(init.body === undefined ? {} : { "content-type": "application/json" }),
            },
            body: init.body === undefined ? undefined : JSON.stringify(init.body),
            signal,
          });
        } catch (cause) {
          if (signal.aborted) throw cause;
          throw new RemoteError(`${what} failed: ${(cause as Error).message}`, {
            cause,
            scope: init.scope,
            retryable: true,
          });
        }
        const text = res.status === 204 ? "" : await res.text();
        if (res.status === 204) await res.body?.cancel();
        return { status: res.status, headers: res.headers, body: parseBody(text), sentAt };
      },
      {
        ...(this.options.timeoutMs === undefined ? {} : { timeoutMs: this.options.timeoutMs }),
        ...(init.signal ? { signal: init.signal } : {}),
        timer: this.timer,
        what,
      },
    );
    this.emit({ kind: "response", category, status: exchange.status });
    return exchange;
  }

  /** Sends with the current token; on a 401 fetches one new token (once per expiry) and sends again. */
  private async authorised(
    method: string,
    path: string,
    category: RateLimitCategory,
    init: RequestInit,
  ): Promise<Exchange> {
    const token = await this.options.tokenProvider.getToken(init.signal);
    const first = await this.send(method, path, category, token, init);
    if (first.status !== 401) return first;
    // One new token per expiry, however many requests saw the 401 at once.
    if (this.staleToken !== token) {
      this.staleToken = token;
      this.options.tokenProvider.invalidate();
      this.emit({ kind: "token-refresh" });
    }
    const second = await this.send(
      method,
      path,
      category,
      await this.options.tokenProvider.getToken(init.signal),
      init,
    );
    if (second.status !== 401) return second;
    const { code, text } = zoomErrorText(second.body, "401 Unauthorized");
    throw new AuthError(`Zoom refused the access token (${text}); check the app's scopes and credentials`, {
      status: 401,
      remoteCode: code,
      scope: init.scope,
    });
  }

  /** The body of a successful exchange, or the error it stands for (429s also pace the category). */
  private check(
    exchange: Exchange,
    method: string,
    path: string,
    category: RateLimitCategory,
    scope: string | undefined,
  ): unknown {
    const pacer = this.pacer(category);
    if (exchange.status === 429) {
      const { message, text } = zoomErrorText(exchange.body, "429 Too Many Requests");
      const throttle = classifyThrottle(exchange.headers, message, this.timer.now());
      this.counters.throttled++;
      if (throttle.kind === "per-second") pacer.onThrottled(exchange.sentAt, throttle.retryAfterMs);
      this.emit({
        kind: "throttled",
        category,
        type: throttle.kind,
        decidedBy: throttle.decidedBy,
        retryAfterMs: throttle.retryAfterMs,
        rate: pacer.currentRate(),
      });
      if (throttle.kind === "daily") {
        throw new ThrottledError(
          `Zoom's daily ${category} limit is spent (${text}); rerun after ${exchange.headers.get("retry-after") ?? "00:00 UTC"}`,
          { code: "ERR_QUOTA_EXHAUSTED", status: 429, retryAfterMs: throttle.retryAfterMs, scope },
        );
      }
      throw new ThrottledError(`Zoom throttled ${method} ${path.split("?")[0]} (${text})`, {
        status: 429,
        retryAfterMs: throttle.retryAfterMs,
        scope,
      });
    }
    if (exchange.status >= 200 && exchange.status < 300) {
      pacer.onSuccess();
      return exchange.body;
    }
    const { code, text } = zoomErrorText(exchange.body, `HTTP ${exchange.status}`);
    throw new RemoteError(`Zoom ${method} ${path.split("?")[0]} answered ${exchange.status} (${text})`, {
      status: exchange.status,
      remoteCode: code,
      scope,
      code: exchange.status === 404 ? "ERR_NOT_FOUND" : "ERR_REMOTE",
      retryable: exchange.status >= 500,
    });
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
          ...(options.signal ? { signal: options.signal } : {}),
          scope: "users",
        });
      } catch (error) {
        if (token && isExpiredPageToken(error) && restarts < 3) {
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
      ...(signal ? { signal } : {}),
      scope: userId,
    });
  }

  /** One user (`GET /users/{userId}`), by id or email. */
  async getUser(userId: string, signal?: AbortSignal): Promise<ZoomUser> {
    const user = await this.request<ZoomUser>("GET", `/users/${encodeURIComponent(userId)}`, "Light", {
      ...(signal ? { signal } : {}),
      scope: userId,
    });
    if (!user) throw new RemoteError(`Zoom returned no body for user ${userId}`, { scope: userId });
    return user;
  }

  /**
   * One page of one active user, read whole with its headers: what `probeZoomRateLimits` looks at.
   * Paced and authorised like any request, not retried.
   */
  async inspectListUsers(signal?: AbortSignal): Promise<{ status: number; headers: Headers }> {
    const exchange = await this.authorised("GET", "/users?status=active&page_size=1", "Medium", {
      ...(signal ? { signal } : {}),
      scope: "users",
    });
    return { status: exchange.status, headers: exchange.headers };
  }
}

/** Zoom's answer to a `next_page_token` older than 15 minutes: 400 with code 300. */
function isExpiredPageToken(error: unknown): boolean {
  const e = error instanceof CloudAdminError && error.cause instanceof CloudAdminError ? error.cause : error;
  return e instanceof RemoteError && e.status === 400 && e.remoteCode === "300";
}

/** A {@link ZoomClient}; the API URL is checked against the endpoint policy first. */
export function createZoomClient(options: ZoomClientOptions): ZoomClient {
  return new ZoomClient(options);
}
