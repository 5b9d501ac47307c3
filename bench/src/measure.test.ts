import { describe, expect, it } from "vitest";
import { benchResult, measureRequestRate } from "./measure.js";

describe("benchResult", () => {
  it("takes the larger bound, and the baseline per unit of work when it ran on a subset", () => {
    const r = benchResult({
      scenario: "x",
      wallMs: 2000,
      boundModelMs: 1500,
      requests: 1000,
      requestRate: 500, // 2000 ms of client CPU
      baselineMs: 10_000,
      baselineUnits: 10,
      units: 100,
      throttled: 0,
      retries: 3,
      correct: true,
    });
    expect(r.boundCpuMs).toBe(2000);
    expect(r.lowerBoundMs).toBe(2000);
    expect(r.ratioToBound).toBe(1);
    expect(r.speedupVsBaseline).toBe(50);
    expect(Object.keys(r)).toEqual([
      "scenario",
      "wallMs",
      "lowerBoundMs",
      "boundModelMs",
      "boundCpuMs",
      "ratioToBound",
      "baselineMs",
      "speedupVsBaseline",
      "requests",
      "throttled",
      "retries",
      "correct",
    ]);
  });

  it("measures a request rate from completed requests", async () => {
    let n = 0;
    const rate = await measureRequestRate(
      async () => {
        n++;
        await new Promise((r) => setImmediate(r));
      },
      { concurrency: 2, durationMs: 50, warmupRequests: 1 },
    );
    expect(rate).toBeGreaterThan(0);
    expect(n).toBeGreaterThan(1);
  });
});
