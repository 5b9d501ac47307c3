import { readFileSync } from "node:fs";
import { constants as bufferConstants } from "node:buffer";
import { afterEach, describe, expect, it } from "vitest";
import { type LeakSample, startLeak, type StartLeakOptions } from "./leak.js";
import { createLeakMetrics } from "./metrics.js";
import { type FixtureTree, fixtureTree, MiB, v2Files } from "./fixture-tree.test-helper.js";

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

  it("ends on abort while holding, and releases after the hold when asked", async () => {
    const t = container(10);
    const controller = new AbortController();
    const phases: string[] = [];
    for await (const s of startLeak(
      base(t, { maxBytes: 1 * MiB, signal: controller.signal, allocate: (n) => new Uint8Array(n) }),
    )) {
      phases.push(s.phase);
      if (s.phase === "holding") setTimeout(() => controller.abort(), 5);
    }
    expect(phases).toEqual(["start", "allocated", "touched", "holding"]);

    const again = new AbortController();
    const run = startLeak(
      base(t, {
        maxBytes: 2 * MiB,
        holdMs: 5,
        afterHold: "release",
        signal: again.signal,
        allocate: (n) => new Uint8Array(n),
      }),
    );
    const released: LeakSample[] = [];
    for await (const s of run) {
      if (s.phase === "released") {
        released.push(s);
        again.abort();
      }
    }
    expect(released).toHaveLength(1);
    expect(released[0]).toMatchObject({ allocatedBytes: 0, touchedBytes: 0 });
  });

  it("spreads blocks over a ramp, the last one at its end", async () => {
    const t = container(10);
    let clock = 1_000_000;
    const times: number[] = [];
    const run = startLeak(
      base(t, {
        maxBytes: 4 * MiB,
        rampMs: 40,
        holdMs: 0,
        now: () => clock,
        allocate: (n) => {
          times.push(clock - 1_000_000);
          return new Uint8Array(n);
        },
      }),
    );
    // A fake clock that jumps to each due time: sleep() gets due - now() <= 0 and returns at once.
    const iterator = run[Symbol.asyncIterator]();
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      clock += 10;
    }
    expect(run.environment.plannedBlocks).toBe(4);
    expect(times.length).toBe(4);
    expect(times.at(-1)).toBeGreaterThanOrEqual(40);
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

  it("rejects bad options before doing anything", () => {
    const t = container(10);
    const bad: Array<[Partial<StartLeakOptions>, RegExp]> = [
      [{ blockBytes: 0 }, /block size/],
      [{ blockBytes: Number.NaN }, /block size/],
      [{ blockBytes: bufferConstants.MAX_LENGTH + 1 }, /largest Buffer/],
      [{ fill: 1.5 }, /fill/],
      [{ fill: -0.1 }, /fill/],
      [{ maxBytes: -1 }, /cap/],
      [{ delayMs: Number.NaN }, /delay/],
      [{ rampMs: 1000 }, /ramp needs/],
      [{ rampMs: 1000, delayMs: 10, maxBytes: MiB }, /cannot be combined/],
      [{ targetPercent: 150 }, /target/],
      [{ targetPercent: 90, fill: 0 }, /fill above 0/],
      [{ oomScoreAdj: 2000 }, /oom_score_adj/],
    ];
    for (const [options, message] of bad) {
      expect(() => startLeak(base(t, options)), JSON.stringify(options)).toThrow(message);
    }
    try {
      startLeak(base(t, { fill: 2 }));
    } catch (error) {
      expect((error as { code: string }).code).toBe("ERR_INVALID_INPUT");
    }
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
