import { describe, expect, it } from "vitest";
import { QuotaPacer, parseResetsAfter } from "./pacer.js";

/** A fake clock: sleeps resolve when the test advances time past them. */
function fakeTimer() {
  let now = 0;
  const sleepers: Array<{ at: number; resolve: () => void }> = [];
  return {
    now: () => now,
    sleep: (ms: number) =>
      new Promise<void>((resolve) => {
        sleepers.push({ at: now + ms, resolve });
      }),
    async advance(ms: number) {
      now += ms;
      for (const s of sleepers.splice(0)) {
        if (s.at <= now) s.resolve();
        else sleepers.push(s);
      }
      await new Promise((r) => setImmediate(r));
    },
  };
}

describe("parseResetsAfter", () => {
  it("reads hh:mm:ss", () => {
    expect(parseResetsAfter("00:00:05")).toBe(5000);
    expect(parseResetsAfter("01:02:03")).toBe(3_723_000);
    expect(parseResetsAfter("soon")).toBeUndefined();
    expect(parseResetsAfter(undefined)).toBeUndefined();
  });
});

describe("QuotaPacer", () => {
  it("probes once, spends what remains, then waits for the window's end", async () => {
    const timer = fakeTimer();
    const pacer = new QuotaPacer(timer, 40);
    const probe = await pacer.acquire();
    let second = false;
    const waiting = pacer.acquire().then((t) => {
      second = true;
      return t;
    });
    await timer.advance(100);
    expect(second).toBe(false);
    pacer.observe(probe, { remaining: 2, resetsAfterMs: 5000 });
    const t2 = await waiting;
    const t3 = await pacer.acquire();
    expect([t2.epoch, t3.epoch]).toEqual([0, 0]);
    let fourth = false;
    const next = pacer.acquire().then((t) => {
      fourth = true;
      return t;
    });
    pacer.observe(t2, { remaining: 1, resetsAfterMs: 5000 });
    pacer.observe(t3, { remaining: 0, resetsAfterMs: 5000 });
    await timer.advance(4900);
    expect(fourth).toBe(false);
    // The window ends no later than the first answer's arrival (100) + 5000, plus the 40 ms margin.
    await timer.advance(139);
    expect(fourth).toBe(false);
    await timer.advance(1);
    expect(fourth).toBe(true);
    expect((await next).epoch).toBe(1);
    expect(pacer.waitedMs).toBeGreaterThan(0);
  });

  it("waits for the reset after a 429 of a spent quota, and only Retry-After when quota is left", async () => {
    const timer = fakeTimer();
    const pacer = new QuotaPacer(timer, 0);
    const t1 = await pacer.acquire();
    pacer.throttled(t1, { remaining: 0, resetsAfterMs: 3000 }, undefined);
    let got = false;
    const p = pacer.acquire().then(() => {
      got = true;
    });
    await timer.advance(2999);
    expect(got).toBe(false);
    await timer.advance(1);
    await p;
    expect(got).toBe(true);

    const other = new QuotaPacer(timer, 0);
    const o1 = await other.acquire();
    other.throttled(o1, { remaining: 9, resetsAfterMs: 4000 }, 1000);
    let again = false;
    const q = other.acquire().then(() => {
      again = true;
    });
    await timer.advance(1000);
    await q;
    expect(again).toBe(true);
  });

  it("waits ARG's documented 1-5 s after a 429 that says nothing (no headers, no Retry-After)", async () => {
    for (const [random, wait] of [
      [0, 1000],
      [0.5, 2500],
      [0.999, 4995],
    ] as const) {
      const timer = fakeTimer();
      const pacer = new QuotaPacer(timer, 0);
      const t1 = await pacer.acquire();
      pacer.throttled(t1, undefined, undefined, () => random);
      let got = false;
      const p = pacer.acquire().then(() => {
        got = true;
      });
      await timer.advance(wait - 1);
      expect(got).toBe(false);
      await timer.advance(1);
      await p;
      expect(got).toBe(true);
    }
  });
});

describe("QuotaPacer and requests still in flight", () => {
  it("opens the next window only when the old window's requests are answered (or a window later)", async () => {
    const timer = fakeTimer();
    const pacer = new QuotaPacer(timer, 0);
    const probe = await pacer.acquire();
    pacer.observe(probe, { remaining: 1, resetsAfterMs: 2000 });
    const slow = await pacer.acquire();
    let next = false;
    const waiting = pacer.acquire().then(() => {
      next = true;
    });
    await timer.advance(2000);
    expect(next).toBe(false);
    pacer.observe(slow, { remaining: 0, resetsAfterMs: 1000 });
    await waiting;
    expect(next).toBe(true);

    // A request that never answers holds the next window back by one window only.
    const hung = new QuotaPacer(timer, 0);
    const h1 = await hung.acquire();
    hung.observe(h1, { remaining: 1, resetsAfterMs: 2000 });
    await hung.acquire();
    let later = false;
    const w = hung.acquire().then(() => {
      later = true;
    });
    await timer.advance(2000);
    expect(later).toBe(false);
    await timer.advance(2000);
    await w;
    expect(later).toBe(true);
  });
});
