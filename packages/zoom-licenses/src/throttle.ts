import { retryAfterFromHeaders } from "@cloudadmin/paging";

/** What a 429 from Zoom means: a per-second limit (wait and retry) or the daily quota (stop). */
export interface ThrottleKind {
  kind: "per-second" | "daily";
  /** The wait Zoom asked for, when it said (`Retry-After` in seconds or as a date). */
  retryAfterMs: number | undefined;
  /** How it was told: the `X-RateLimit-Type` header, the message, or the length of the wait. */
  decidedBy: "type" | "message" | "retry-after" | "default";
}

/**
 * Classifies a 429. Zoom's forms vary (devforum 18928, zoom_rb#399, ZoomNet#151):
 * `X-RateLimit-Type` is `QPS`, `Per-second-limit` or `Daily-limit`, or missing; the message says
 * "daily rate limit" or "maximum per-second rate limit"; `Retry-After` is seconds, a date or
 * missing. `X-RateLimit-Limit` is never used: it may hold the daily quota on a per-second 429.
 */
export function classifyThrottle(headers: Headers, message: string, now: number): ThrottleKind {
  const retryAfterMs = retryAfterFromHeaders(headers, now);
  const type = headers.get("x-ratelimit-type") ?? "";
  if (/daily/i.test(type)) return { kind: "daily", retryAfterMs, decidedBy: "type" };
  if (/qps|second/i.test(type)) return { kind: "per-second", retryAfterMs, decidedBy: "type" };
  if (/daily/i.test(message)) return { kind: "daily", retryAfterMs, decidedBy: "message" };
  if (/per-second|per second/i.test(message))
    return { kind: "per-second", retryAfterMs, decidedBy: "message" };
  // A wait of more than a minute is no per-second limit.
  if (retryAfterMs !== undefined && retryAfterMs > 60_000)
    return { kind: "daily", retryAfterMs, decidedBy: "retry-after" };
  return { kind: "per-second", retryAfterMs, decidedBy: "default" };
}
