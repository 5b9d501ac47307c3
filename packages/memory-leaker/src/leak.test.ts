import { readFileSync } from "node:fs";
import { constants as bufferConstants } from "node:buffer";
import { afterEach, describe, expect, it } from "vitest";
import { FOREVER_MS, SteppingTimer } from "./fake-timer.test-helper.js";
import { type FixtureTree, fixtureTree, MiB, v2Files } from "./fixture-tree.test-helper.js";
import { startLeak } from "./leak.js";
import { createLeakMetrics } from "./metrics.js";
import { LeakOptionError } from "./options.js";
import type { LeakSample, StartLeakOptions } from "./types.js";

const trees: FixtureTree[] = [];
afterEach(() => {
  for (const t of trees.splice(0)) t.remove();
});

/** A cgroup v2 container with a 100 MiB limit whose memory.current we move by hand. */
function container(currentMiB: number): FixtureTree & { setCurrent(bytes: number): void } {
  const t = fixtureTree({
    "proc/self/cgroup": "0::/\n",
    "proc/self/mountinfo": "40 30 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
    "proc/self/oom_score": "667\n",
    "proc/self/oom_score_adj": "0\n",
    "sys/fs/cgroup/cgroup.controllers": "memory pids\n",
    "sys/kernel/mm/transparent_hugepage/enabled": "always madvise [never]\n",
    ...v2Files("sys/fs/cgroup", { max: 100 * MiB, current: currentMiB * MiB }),
  });
  trees.push(t);
  return { ...t, setCurrent: (bytes) => t.write("sys/fs/cgroup/memory.current", `${bytes}\n`) };
}

function base(t: FixtureTree, extra: Partial<StartLeakOptions>): StartLeakOptions {
  return {
    blockBytes: 1 * MiB,
    procRoot: t.proc,
    sysRoot: t.sys,
    rootDir: t.root,
    pageSize: 4096,
    // Written pages can be counted in the block; populated ones are checked by RSS in test/resident.
    touchMethod: "write",
    ...extra,
  };
}

async function all(iterable: AsyncIterable<LeakSample>): Promise<LeakSample[]> {
  const out: LeakSample[] = [];
  for await (const s of iterable) out.push(s);
  return out;
}

/** Counts the pages of a block that were written (the allocator hands out zeroed memory). */
function touchedPages(block: Uint8Array, pageSize: number): number {
  let n = 0;
  for (let o = 0; o < block.length; o += pageSize) if (block[o] !== 0) n++;
  return n;
}

describe("startLeak", () => {
  it("allocates ceil(max / block) blocks and writes one byte in round(pages x fill) pages of each", async () => {
    const t = container(10);
    const blocks: Uint8Array[] = [];
    const run = startLeak(
      base(t, {
        blockBytes: 1 * MiB,
        fill: 0.3,
        maxBytes: 2.5 * MiB,
        holdMs: 0,
        allocate: (n) => {
          const b = new Uint8Array(n);
          blocks.push(b);
          return b;
        },
      }),
    );
    expect(run.environment.touchPagesPerBlock).toBe(77); // round(256 * 0.3)
    expect(run.environment.plannedBlocks).toBe(3);
    const samples = await all(run);
    expect(samples.map((s) => s.phase)).toEqual([
      "start",
      "allocated",
      "touched",
      "allocated",
      "touched",
      "allocated",
      "touched",
      "holding",
    ]);
    expect(blocks.map((b) => touchedPages(b, 4096))).toEqual([77, 77, 77]);
    // Touched pages form a prefix: page 77 onwards is untouched.
    expect(blocks[0]![76 * 4096]).toBe(1);
    expect(blocks[0]![77 * 4096]).toBe(0);
    const last = samples.at(-1)!;
    expect(last).toMatchObject({ block: 3, allocatedBytes: 3 * MiB, touchedBytes: 3 * 77 * 4096 });
    expect(samples[1]).toMatchObject({ block: 1, allocatedBytes: 1 * MiB, touchedBytes: 0 });
    expect(samples[2]).toMatchObject({ block: 1, allocatedBytes: 1 * MiB, touchedBytes: 77 * 4096 });
    expect(last.cgroup).toMatchObject({ version: 2, limitBytes: 100 * MiB, usageBytes: 10 * MiB });
    expect(last.oomScore).toBe(667);
    expect(run.stopReason).toBe("cap");
  });

  it("fill 0 touches nothing and fill 1 touches every page", async () => {
    const t = container(10);
    for (const [fill, pages] of [
      [0, 0],
      [1, 256],
    ] as const) {
      const blocks: Uint8Array[] = [];
      const alloc = (n: number): Uint8Array => {
        const b = new Uint8Array(n);
        blocks.push(b);
        return b;
      };
      const samples = await all(startLeak(base(t, { fill, maxBytes: 1 * MiB, holdMs: 0, allocate: alloc })));
      expect(touchedPages(blocks[0]!, 4096)).toBe(pages);
      expect(samples.at(-1)!.touchedBytes).toBe(pages * 4096);
    }
  });

  it("stops at --target percent of the limit by working set, shrinking the last block", async () => {
    const t = container(20);
    let current = 20 * MiB;
    const run = startLeak(
      base(t, {
        blockBytes: 8 * MiB,
        fill: 1,
        targetPercent: 50,
        holdMs: 0,
        allocate: (n) => {
          // What the kernel would charge once the block is touched.
          current += n;
          t.setCurrent(current);
          return new Uint8Array(n);
        },
      }),
    );
    expect(run.environment.targetBytes).toBe(50 * MiB);
    const samples = await all(run);
    const sizes = samples
      .filter((s) => s.phase === "allocated")
      .map((s, i, a) => s.allocatedBytes - (i === 0 ? 0 : a[i - 1]!.allocatedBytes));
    expect(sizes).toEqual([8 * MiB, 8 * MiB, 8 * MiB, 6 * MiB]);
    expect(run.stopReason).toBe("target");
    expect(samples.at(-1)!.cgroup.workingSetBytes).toBe(50 * MiB);
  });

  it("reports a RangeError as an allocation-failed sample, then holds (or ends when asked)", async () => {
    const t = container(10);
    let calls = 0;
    const failing = (n: number): Uint8Array => {
      calls += 1;
      if (calls === 3) throw new RangeError("Array buffer allocation failed");
      return new Uint8Array(n);
    };
    const held = startLeak(base(t, { maxBytes: 0, holdMs: 0, allocate: failing }));
    const samples = await all(held);
    expect(samples.map((s) => s.phase).slice(-2)).toEqual(["allocation-failed", "holding"]);
    expect(samples.at(-2)!.error).toBe("RangeError: Array buffer allocation failed (block 3, 1048576 bytes)");
    expect(samples.at(-1)!.allocatedBytes).toBe(2 * MiB);
    expect(held.stopReason).toBe("allocation-failed");

    calls = 0;
    const ended = await all(startLeak(base(t, { onAllocationFailure: "exit", allocate: failing })));
    expect(ended.at(-1)!.phase).toBe("allocation-failed");
  });

  it("writes oom_score_adj before allocating", async () => {
    const t = container(10);
    const run = startLeak(
      base(t, { oomScoreAdj: 1000, maxBytes: 1 * MiB, holdMs: 0, allocate: (n) => new Uint8Array(n) }),
    );
    expect(readFileSync(`${t.proc}/self/oom_score_adj`, "utf8")).toBe("1000\n");
    const samples = await all(run);
    expect(samples[0]!.oomScoreAdj).toBe(1000);
  });

  it("ends on abort while holding, whether the abort comes before or during the wait", async () => {
    const t = container(10);
    const alloc = (n: number): Uint8Array => new Uint8Array(n);
    const before = new AbortController();
    const timer = new SteppingTimer();
    const run = startLeak(base(t, { maxBytes: 1 * MiB, signal: before.signal, timer, allocate: alloc }));
    const phases: string[] = [];
    for await (const s of run) {
      phases.push(s.phase);
      if (s.phase === "holding") before.abort();
    }
    expect(phases).toEqual(["start", "allocated", "touched", "holding"]);
    expect(run.endReason).toBe("aborted");
    expect(run.stopReason).toBe("cap");
    expect(timer.slept).toEqual([]);

    // Without holdMs the run waits for the signal alone: one "forever" wait, ended by the abort.
    const during = new AbortController();
    const waiting = new SteppingTimer();
    const held = startLeak(
      base(t, { maxBytes: 1 * MiB, signal: during.signal, timer: waiting, allocate: alloc }),
    );
    const iterator = held[Symbol.asyncIterator]();
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      if (next.value.phase !== "holding") continue;
      const end = iterator.next();
      await new Promise((resolve) => setImmediate(resolve));
      expect(waiting.slept).toEqual([FOREVER_MS]);
      during.abort();
      expect((await end).done).toBe(true);
      break;
    }
    expect(held.endReason).toBe("aborted");
  });

  it("holds for holdMs with a sample every holdSampleIntervalMs, then ends", async () => {
    const t = container(10);
    const timer = new SteppingTimer(Date.UTC(2026, 0, 1));
    const run = startLeak(
      base(t, {
        maxBytes: 1 * MiB,
        holdMs: 100,
        holdSampleIntervalMs: 30,
        timer,
        allocate: (n) => new Uint8Array(n),
      }),
    );
    const samples = await all(run);
    const holding = samples.filter((s) => s.phase === "holding").map((s) => s.t);
    expect(holding).toEqual([
      "2026-01-01T00:00:00.000Z",
      "2026-01-01T00:00:00.030Z",
      "2026-01-01T00:00:00.060Z",
      "2026-01-01T00:00:00.090Z",
    ]);
    expect(timer.slept).toEqual([30, 30, 30, 10]);
    expect(run.endReason).toBe("held");
  });

  it("releases after the hold when asked, then samples as released until aborted", async () => {
    const t = container(10);
    const controller = new AbortController();
    const timer = new SteppingTimer();
    const run = startLeak(
      base(t, {
        maxBytes: 2 * MiB,
        holdMs: 50,
        afterHold: "release",
        holdSampleIntervalMs: 1000,
        signal: controller.signal,
        timer,
        allocate: (n) => new Uint8Array(n),
      }),
    );
    const phases: LeakSample[] = [];
    for await (const s of run) {
      phases.push(s);
      if (phases.filter((p) => p.phase === "released").length === 2) controller.abort();
    }
    expect(phases.map((s) => s.phase)).toEqual([
      "start",
      "allocated",
      "touched",
      "allocated",
      "touched",
      "holding",
      "released",
      "released",
    ]);
    expect(phases.at(-1)).toMatchObject({ block: 2, allocatedBytes: 0, touchedBytes: 0 });
    // The hold, then the settling waits after the release (10 ms each), then one interval.
    expect(timer.slept[0]).toBe(50);
    expect(timer.slept.at(-1)).toBe(1000);
    expect(timer.slept.slice(1, -1).every((ms) => ms === 10)).toBe(true);
    expect(run.endReason).toBe("aborted");
  });

  it("spreads blocks over a ramp on the injected clock, the last one at its end", async () => {
    const t = container(10);
    const start = 1_000_000;
    const timer = new SteppingTimer(start);
    const at: number[] = [];
    const run = startLeak(
      base(t, {
        maxBytes: 4 * MiB,
        rampMs: 40,
        holdMs: 0,
        timer,
        allocate: (n) => {
          at.push(timer.now() - start);
          return new Uint8Array(n);
        },
      }),
    );
    await all(run);
    expect(run.environment.plannedBlocks).toBe(4);
    expect(timer.slept).toEqual([10, 10, 10, 10]);
    expect(at).toEqual([10, 20, 30, 40]);
  });

  it("a ramp absorbs the time each block takes instead of adding it", async () => {
    const t = container(10);
    const timer = new SteppingTimer();
    const at: number[] = [];
    const run = startLeak(
      base(t, {
        maxBytes: 4 * MiB,
        rampMs: 40,
        holdMs: 0,
        timer,
        allocate: (n) => {
          at.push(timer.now());
          timer.advance(3); // allocating and touching take 3 ms of the schedule
          return new Uint8Array(n);
        },
      }),
    );
    await all(run);
    expect(timer.slept).toEqual([10, 7, 7, 7]);
    expect(at).toEqual([10, 20, 30, 40]);
  });

  it("a ramp to a target spreads the blocks the target needs", async () => {
    const t = container(20);
    let current = 20 * MiB;
    const timer = new SteppingTimer();
    const at: number[] = [];
    const run = startLeak(
      base(t, {
        blockBytes: 10 * MiB,
        targetPercent: 60,
        rampMs: 1000,
        holdMs: 0,
        timer,
        allocate: (n) => {
          at.push(timer.now());
          current += n;
          t.setCurrent(current);
          return new Uint8Array(n);
        },
      }),
    );
    // 60 MiB target - 20 MiB in use = 40 MiB = 4 blocks of 10 MiB over 1 s.
    expect(run.environment.plannedBlocks).toBe(4);
    await all(run);
    expect(at).toEqual([250, 500, 750, 1000]);
    expect(run.stopReason).toBe("target");
  });

  it("waits delayMs before every block but the first", async () => {
    const t = container(10);
    const timer = new SteppingTimer();
    const at: number[] = [];
    const run = startLeak(
      base(t, {
        maxBytes: 3 * MiB,
        delayMs: 25,
        holdMs: 0,
        timer,
        allocate: (n) => {
          at.push(timer.now());
          return new Uint8Array(n);
        },
      }),
    );
    await all(run);
    expect(timer.slept).toEqual([25, 25]);
    expect(at).toEqual([0, 25, 50]);
  });

  it("uses the native populate helper by default (built at install), and writes when asked", () => {
    const t = container(10);
    expect(startLeak(base(t, { touchMethod: undefined })).environment.touchMethod).toBe("populate");
    expect(startLeak(base(t, { touchMethod: "write" })).environment.touchMethod).toBe("write");
  });

  it("warns when THP is 'always' and the fill is partial", () => {
    const t = container(10);
    t.write("sys/kernel/mm/transparent_hugepage/enabled", "[always] madvise never\n");
    const run = startLeak(base(t, { fill: 0.5, maxBytes: 1 * MiB }));
    expect(run.environment.transparentHugePages).toBe("always");
    expect(run.environment.warnings.join("\n")).toMatch(/huge pages are 'always'/);
  });

  it("rejects bad options before doing anything, naming the option", () => {
    const t = container(10);
    const bad: Array<[Partial<StartLeakOptions>, keyof StartLeakOptions, RegExp]> = [
      [{ blockBytes: 0 }, "blockBytes", /^blockBytes must be a whole number from 1 to \d+ \(got 0\)$/],
      [{ blockBytes: Number.NaN }, "blockBytes", /blockBytes must be/],
      [{ blockBytes: 1.5 }, "blockBytes", /blockBytes must be a whole number/],
      [
        { blockBytes: bufferConstants.MAX_LENGTH + 1 },
        "blockBytes",
        new RegExp(`to ${bufferConstants.MAX_LENGTH} `),
      ],
      [{ fill: 1.5 }, "fill", /^fill must be a number from 0 to 1 \(got 1.5\)$/],
      [{ fill: -0.1 }, "fill", /fill/],
      [{ maxBytes: -1 }, "maxBytes", /maxBytes must be a number from 0/],
      [{ delayMs: Number.NaN }, "delayMs", /delayMs/],
      [{ holdMs: -1 }, "holdMs", /holdMs/],
      [{ holdSampleIntervalMs: 0 }, "holdSampleIntervalMs", /holdSampleIntervalMs must be a number from 1/],
      [{ rampMs: 1000 }, "rampMs", /rampMs needs an amount to spread: maxBytes above 0, or targetPercent/],
      [{ rampMs: 1000, delayMs: 10, maxBytes: MiB }, "rampMs", /cannot be combined/],
      [{ targetPercent: 150 }, "targetPercent", /targetPercent must be a number above 0 and at most 100/],
      [{ targetPercent: 0 }, "targetPercent", /above 0/],
      [{ targetPercent: 90, fill: 0 }, "targetPercent", /fill above 0/],
      [{ oomScoreAdj: 2000 }, "oomScoreAdj", /oomScoreAdj must be a whole number from -1000 to 1000/],
      [{ oomScoreAdj: 1.5 }, "oomScoreAdj", /oomScoreAdj/],
      [{ afterHold: "later" as "exit" }, "afterHold", /afterHold must be one of exit, release/],
      [{ touchMethod: "mmap" as "write" }, "touchMethod", /touchMethod must be one of auto, populate, write/],
    ];
    for (const [options, option, message] of bad) {
      let thrown: unknown;
      try {
        startLeak(base(t, { ...options, oomScoreAdj: options.oomScoreAdj ?? 999 }));
      } catch (error) {
        thrown = error;
      }
      expect(thrown, JSON.stringify(options)).toBeInstanceOf(LeakOptionError);
      expect((thrown as LeakOptionError).option).toBe(option);
      expect((thrown as LeakOptionError).code).toBe("ERR_INVALID_INPUT");
      expect((thrown as Error).message).toMatch(message);
    }
    // Nothing was changed: oom_score_adj is still the kubelet's.
    expect(readFileSync(`${t.proc}/self/oom_score_adj`, "utf8")).toBe("0\n");
    const noLimit = fixtureTree({ "proc/self/cgroup": "0::/\n" });
    trees.push(noLimit);
    expect(() => startLeak(base(noLimit, { targetPercent: 90 }))).toThrow(/no cgroup memory limit/);
  });
});

describe("createLeakMetrics", () => {
  it("reads the cgroup files at scrape time", async () => {
    const t = container(30);
    const run = startLeak(base(t, { maxBytes: 1 * MiB, holdMs: 0, allocate: (n) => new Uint8Array(n) }));
    const registry = createLeakMetrics(run, { defaultMetrics: false });
    const first = await registry.metrics();
    expect(first).toMatch(/^leaker_cgroup_usage_bytes 31457280$/m);
    expect(first).toMatch(/^leaker_cgroup_limit_bytes 104857600$/m);
    expect(first).toMatch(/^leaker_limit_headroom_bytes 73400320$/m);
    expect(first).toMatch(/^leaker_cgroup_oom_events\{type="oom_kill"\} 0$/m);
    expect(first).toMatch(/^leaker_info\{cgroup_version="2",page_size="4096"/m);
    t.setCurrent(40 * MiB);
    expect(await registry.metrics()).toMatch(/^leaker_cgroup_usage_bytes 41943040$/m);
    await all(run);
    expect(await registry.metrics()).toMatch(/^leaker_allocated_bytes 1048576$/m);
  });
});
