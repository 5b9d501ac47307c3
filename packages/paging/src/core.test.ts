import { describe, expect, it } from "vitest";
import { FakeTimer } from "./fake-timer.test-helper.js";
import { backoffDelay, parseShard, retryAfterFromHeaders, shardOf, withTimeout } from "./index.js";

describe("retryAfterFromHeaders", () => {
  it("prefers the -ms forms, then seconds, then an HTTP date", () => {
    expect(retryAfterFromHeaders(new Headers({ "retry-after-ms": "1500", "retry-after": "9" }))).toBe(1500);
    expect(retryAfterFromHeaders({ "X-Ms-Retry-After-Ms": "250" })).toBe(250);
    expect(retryAfterFromHeaders({ "retry-after": ["3"] })).toBe(3000);
    const now = Date.parse("2026-12-04T10:00:00Z");
    expect(
      retryAfterFromHeaders((n) => (n === "retry-after" ? "Fri, 04 Dec 2026 10:00:07 GMT" : null), now),
    ).toBe(7000);
    expect(retryAfterFromHeaders({ "retry-after": "soon" })).toBeUndefined();
    expect(retryAfterFromHeaders({})).toBeUndefined();
  });
});

describe("backoffDelay", () => {
  it("is full jitter under a capped exponential ceiling, and never below what was asked", () => {
    expect(backoffDelay(0, { random: () => 0.5 })).toBe(100);
    expect(backoffDelay(3, { random: () => 0.5 })).toBe(800);
    expect(backoffDelay(30, { random: () => 0.999, maxDelayMs: 5000 })).toBe(4995);
    expect(backoffDelay(0, { random: () => 0, askedMs: 1200 })).toBe(1200);
  });
});

describe("withTimeout", () => {
  it("rejects a hung attempt with ERR_TIMEOUT on the injected clock and aborts its signal", async () => {
    const timer = new FakeTimer();
    let seen: AbortSignal | undefined;
    const pending = withTimeout(
      (signal) => {
        seen = signal;
        return new Promise<never>(() => {});
      },
      { timeoutMs: 5000, timer, what: "DescribeInstances" },
    );
    const outcome = pending.catch((e: unknown) => e);
    await timer.advance(4999);
    expect(seen?.aborted).toBe(false);
    await timer.advance(1);
    expect(await outcome).toMatchObject({ code: "ERR_TIMEOUT", retryable: true });
    expect(String(((await outcome) as Error).message)).toContain(
      "DescribeInstances got no answer within 5 s",
    );
    expect(seen?.aborted).toBe(true);
  });

  it("returns the answer and stops the clock", async () => {
    const timer = new FakeTimer();
    expect(await withTimeout(async () => 42, { timer })).toBe(42);
    await timer.advance(1);
    expect(timer.pending()).toBe(0);
  });

  it("an abort of the run is an abort, not a timeout", async () => {
    const timer = new FakeTimer();
    const run = new AbortController();
    const pending = withTimeout(
      (signal) =>
        new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
      { timer, signal: run.signal },
    ).catch((e: unknown) => e);
    run.abort();
    expect(await pending).toMatchObject({ code: "ERR_ABORTED" });
  });
});

describe("shards", () => {
  it("splits IDs stably and evenly enough", () => {
    expect(shardOf("222222222222", 7)).toBe(shardOf("222222222222", 7));
    expect(shardOf("ABC", 5)).toBe(shardOf("abc", 5));
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) counts[shardOf(`acct-${i}`, 3)]! += 1;
    for (const c of counts) expect(c).toBeGreaterThan(800);
    expect(shardOf("anything", 1)).toBe(0);
  });

  it("parses index/count and refuses the rest", () => {
    expect(parseShard("2/3")).toEqual({ index: 2, count: 3 });
    for (const bad of ["3/3", "-1/2", "1/0", "a/b", "1", "1/2/3", "0/1001"]) {
      expect(() => parseShard(bad)).toThrow(expect.objectContaining({ code: "ERR_USAGE" }));
    }
  });
});
