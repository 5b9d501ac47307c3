import { AbortedError, CloudAdminError, ThrottledError } from "@cloudadmin/errors";
import { describe, expect, it } from "vitest";
import { FakeTimer, flush } from "./fake-timer.test-helper.js";
import {
  Slots,
  TokenBucket,
  collect,
  flatMapConcurrent,
  mapConcurrent,
  paginate,
  parseRetryAfter,
  retry,
} from "./index.js";

const tick = (ms = 1) => new Promise((r) => setTimeout(r, ms));

describe("paginate", () => {
  it("follows tokens through empty pages to the end", async () => {
    const pages: Record<string, { items: number[]; next?: string }> = {
      start: { items: [1, 2], next: "a" },
      a: { items: [], next: "b" },
      b: { items: [3], next: "" },
    };
    const seen: Array<string | undefined> = [];
    const items = await collect(
      paginate<number>(async (token) => {
        seen.push(token);
        return pages[token ?? "start"]!;
      }),
    );
    expect(items).toEqual([1, 2, 3]);
    expect(seen).toEqual([undefined, "a", "b"]);
  });

  it("stops a service that repeats its token forever", async () => {
    await expect(collect(paginate<number>(async () => ({ items: [1], next: "same" })))).rejects.toThrow(
      /same continuation token/,
    );
  });
});

describe("mapConcurrent / flatMapConcurrent", () => {
  it("never exceeds the bound and yields every result as it settles", async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const results = await collect(
      mapConcurrent(
        Array.from({ length: 40 }, (_, i) => i),
        async (i) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await tick(i % 3);
          inFlight--;
          return i * 2;
        },
        { concurrency: 5 },
      ),
    );
    expect(maxInFlight).toBe(5);
    expect(results.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i * 2));
  });

  it("streams: the first result arrives while later tasks are still blocked", async () => {
    const gates: Array<() => void> = [];
    const gen = mapConcurrent(
      [0, 1, 2],
      (i) =>
        new Promise<number>((resolve) => {
          if (i === 1) resolve(1);
          else gates.push(() => resolve(i));
        }),
      { concurrency: 3 },
    );
    const first = await gen.next();
    expect(first.value).toBe(1);
    expect(gates).toHaveLength(2);
    for (const g of gates) g();
    expect((await collect(gen)).sort()).toEqual([0, 2]);
  });

  it("reads an async source lazily, never more than the bound ahead", async () => {
    let pulled = 0;
    async function* source() {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield i;
      }
    }
    const gen = flatMapConcurrent(
      source(),
      async function* (i) {
        await tick();
        yield i;
      },
      { concurrency: 4 },
    );
    await gen.next();
    expect(pulled).toBeLessThanOrEqual(6);
    await gen.return(undefined);
  });

  it("interleaves inner streams", async () => {
    let bStarted!: () => void;
    const bSeen = new Promise<void>((resolve) => {
      bStarted = resolve;
    });
    const out = await collect(
      flatMapConcurrent(
        ["a", "b"],
        async function* (name) {
          yield `${name}0`;
          // "a" can only go on once "b" has produced: a pool that ran them one after the other would hang.
          if (name === "a") await bSeen;
          else bStarted();
          yield `${name}1`;
        },
        { concurrency: 2 },
      ),
    );
    expect(out.sort()).toEqual(["a0", "a1", "b0", "b1"]);
  });

  it("an abort stops new work and lets in-flight work settle", async () => {
    const controller = new AbortController();
    const started: number[] = [];
    const settled: number[] = [];
    const gen = mapConcurrent(
      Array.from({ length: 20 }, (_, i) => i),
      async (i, signal) => {
        started.push(i);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 50);
          signal.addEventListener("abort", () => {
            clearTimeout(t);
            resolve();
          });
        });
        settled.push(i);
        return i;
      },
      { concurrency: 3, signal: controller.signal },
    );
    const pending = collect(gen);
    await tick(5);
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
    expect(started).toEqual([0, 1, 2]);
    expect(settled.sort()).toEqual([0, 1, 2]);
  });

  it("a failing task fails the run after the others settle", async () => {
    let settled = 0;
    const run = collect(
      mapConcurrent(
        [1, 2, 3],
        async (i) => {
          if (i === 2) throw new Error("boom");
          await tick(10);
          settled++;
          return i;
        },
        { concurrency: 3 },
      ),
    );
    await expect(run).rejects.toThrow("boom");
    expect(settled).toBe(2);
  });
});

describe("Slots", () => {
  it("holds at most `limit` at once and hands a released slot to the next waiter", async () => {
    const slots = new Slots(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const task = (n: number) =>
      slots.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await tick(2);
        order.push(n);
        running--;
      });
    await Promise.all([1, 2, 3, 4, 5].map(task));
    expect(peak).toBe(2);
    expect(order).toEqual([1, 2, 3, 4, 5]);
    expect(slots.active).toBe(0);
  });

  it("serves urgent waiters before earlier non-urgent ones", async () => {
    const slots = new Slots(1);
    await slots.acquire();
    const served: string[] = [];
    const normal = slots.acquire().then(() => served.push("normal"));
    const urgent = slots.acquire({ urgent: true }).then(() => served.push("urgent"));
    expect(slots.waiting).toBe(2);
    slots.release();
    await urgent;
    slots.release();
    await normal;
    expect(served).toEqual(["urgent", "normal"]);
  });

  it("rejects every waiter with AbortedError on abort, and later callers at once", async () => {
    const controller = new AbortController();
    const slots = new Slots(1, { signal: controller.signal });
    await slots.acquire();
    const waiters = [slots.acquire(), slots.acquire({ urgent: true })];
    controller.abort(new Error("stop"));
    for (const w of waiters) await expect(w).rejects.toBeInstanceOf(AbortedError);
    expect(slots.waiting).toBe(0);
    await expect(slots.run(async () => 1)).rejects.toBeInstanceOf(AbortedError);
  });

  it("releases the slot when the task throws", async () => {
    const slots = new Slots(1);
    await expect(slots.run(async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(slots.active).toBe(0);
    await expect(slots.run(async () => "next")).resolves.toBe("next");
  });
});

describe("TokenBucket", () => {
  it("allows the burst at once, then refills at the rate", async () => {
    const timer = new FakeTimer();
    const bucket = new TokenBucket({ capacity: 3, refillPerSecond: 2, timer });
    let granted = 0;
    for (let i = 0; i < 6; i++) void bucket.take().then(() => granted++);
    await flush();
    expect(granted).toBe(3);
    await timer.advance(499);
    expect(granted).toBe(3);
    await timer.advance(1);
    expect(granted).toBe(4);
    await timer.advance(1000);
    expect(granted).toBe(6);
  });

  it("never holds more than the capacity after a long idle", async () => {
    const timer = new FakeTimer();
    const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 10, timer });
    await timer.advance(60_000);
    expect(bucket.available()).toBe(2);
  });

  it("is fed from server headers: remaining 0 blocks until the reset", async () => {
    const timer = new FakeTimer();
    const bucket = new TokenBucket({ capacity: 15, refillPerSecond: 3, timer });
    bucket.update({ remaining: 0, resetInMs: 3000 });
    let granted = false;
    void bucket.take().then(() => {
      granted = true;
    });
    await timer.advance(2999);
    expect(granted).toBe(false);
    await timer.advance(400);
    expect(granted).toBe(true);
  });

  it("is fed from server headers: remaining caps the tokens", () => {
    const timer = new FakeTimer();
    const bucket = new TokenBucket({ capacity: 15, refillPerSecond: 3, timer });
    bucket.update({ remaining: 4, resetInMs: 5000 });
    expect(bucket.available()).toBe(4);
  });

  it("an aborted wait rejects and does not take a token", async () => {
    const timer = new FakeTimer();
    const bucket = new TokenBucket({ capacity: 1, refillPerSecond: 1, timer });
    await bucket.take();
    const controller = new AbortController();
    const waiting = bucket.take(1, controller.signal);
    await flush();
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortedError);
    await timer.advance(1000);
    expect(bucket.tryTake()).toBe(true);
  });
});

describe("retry", () => {
  it("parses Retry-After as seconds and as an HTTP date", () => {
    const now = Date.parse("2026-11-27T12:00:00Z");
    expect(parseRetryAfter("7", now)).toBe(7000);
    expect(parseRetryAfter("Fri, 27 Nov 2026 12:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Fri, 27 Nov 2026 11:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it("waits at least what Retry-After asked, in both forms", async () => {
    const timer = new FakeTimer();
    const now = Date.now();
    const errors = [
      new ThrottledError("slow down", { retryAfterMs: parseRetryAfter("3") }),
      new ThrottledError("slow down", {
        retryAfterMs: parseRetryAfter(new Date(now + 10_000).toUTCString(), now),
      }),
    ];
    let calls = 0;
    const result = retry(
      async () => {
        const e = errors[calls++];
        if (e) throw e;
        return "ok";
      },
      { timer, random: () => 0 },
    );
    await flush();
    await timer.advance(3000);
    await timer.advance(10_000);
    await expect(result).resolves.toBe("ok");
    expect(timer.slept[0]).toBe(3000);
    expect(timer.slept[1]).toBeGreaterThanOrEqual(9000);
    expect(timer.slept[1]).toBeLessThanOrEqual(10_000);
  });

  it("uses full jitter under an exponential ceiling", async () => {
    const timer = new FakeTimer();
    let calls = 0;
    const result = retry(
      async () => {
        if (calls++ < 4) throw new ThrottledError("busy");
        return calls;
      },
      { timer, random: () => 0.5, baseDelayMs: 100, maxDelayMs: 500 },
    );
    for (let i = 0; i < 4; i++) await timer.advance(1000);
    await expect(result).resolves.toBe(5);
    expect(timer.slept).toEqual([50, 100, 200, 250]);
  });

  it("gives up after the maximum with the last error as cause", async () => {
    const timer = new FakeTimer();
    let calls = 0;
    const last = new ThrottledError("third");
    const result = retry(
      async () => {
        calls++;
        throw calls === 3 ? last : new ThrottledError(`attempt ${calls}`);
      },
      { timer, maxRetries: 2, random: () => 0 },
    );
    const caught = result.catch((e: unknown) => e);
    await timer.advance(100_000);
    const error = (await caught) as CloudAdminError;
    expect(calls).toBe(3);
    expect(error).toBeInstanceOf(CloudAdminError);
    expect(error.cause).toBe(last);
    expect(error.message).toMatch(/gave up after 3 attempts: third/);
  });

  it("does not retry errors that retrying cannot fix", async () => {
    let calls = 0;
    const denied = new CloudAdminError("ERR_ACCESS_DENIED", "AccessDenied");
    await expect(
      retry(async () => {
        calls++;
        throw denied;
      }),
    ).rejects.toBe(denied);
    expect(calls).toBe(1);
  });

  it("retries 5xx and connection resets from foreign errors", async () => {
    const timer = new FakeTimer();
    const failures: unknown[] = [
      Object.assign(new Error("reset"), { code: "ECONNRESET" }),
      { statusCode: 503 },
    ];
    const result = retry(
      async () => {
        const f = failures.shift();
        if (f) throw f;
        return "done";
      },
      { timer, random: () => 0 },
    );
    await timer.advance(10);
    await expect(result).resolves.toBe("done");
  });

  it("stops waiting when aborted", async () => {
    const timer = new FakeTimer();
    const controller = new AbortController();
    const result = retry(
      async () => {
        throw new ThrottledError("busy", { retryAfterMs: 60_000 });
      },
      { timer, signal: controller.signal },
    );
    await flush();
    controller.abort();
    await expect(result).rejects.toBeInstanceOf(AbortedError);
  });
});
