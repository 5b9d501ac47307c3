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

describe("benchResult's extra fields", () => {
  it("never overwrite the computed ones", () => {
    const line = benchResult({
      scenario: "s",
      wallMs: 200,
      boundModelMs: 100,
      requests: 10,
      requestRate: 1000,
      baselineMs: 400,
      throttled: 0,
      retries: 0,
      correct: false,
      extra: { ratioToBound: 1, correct: true, lowerBoundMs: 200, note: "kept" },
    });
    expect(line).toMatchObject({ ratioToBound: 2, correct: false, lowerBoundMs: 100, note: "kept" });
    // The SPEC's fields lead the line; extras follow them.
    expect(Object.keys(line).slice(0, 3)).toEqual(["scenario", "wallMs", "lowerBoundMs"]);
  });
});
