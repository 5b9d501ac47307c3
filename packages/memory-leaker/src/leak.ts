import { BlockStore } from "./blocks.js";
import { readCgroupSample } from "./cgroup.js";
import { type ResolvedLeakOptions, resolveLeakOptions } from "./options.js";
import { blockDueAt, pause, pauseUntil, pauseUntilAborted, untilAborted } from "./pacing.js";
import { applyOomScoreAdj, pagesToTouch, planLeak } from "./plan.js";
import { createSampler, type Sampler } from "./sampler.js";
import type {
  LeakEndReason,
  LeakEnvironment,
  LeakPhase,
  LeakRun,
  LeakSample,
  LeakStopReason,
  StartLeakOptions,
} from "./types.js";

/** What the phases of a run share: its options, plan, blocks, sampler, and how it stopped and ended. */
interface RunState {
  o: ResolvedLeakOptions;
  environment: LeakEnvironment;
  store: BlockStore;
  sample: Sampler;
  stopReason: LeakStopReason | null;
  endReason: LeakEndReason | null;
}

/**
 * Allocates memory in blocks outside the V8 heap and touches a chosen share of each block, one write
 * per page, so that exactly that share becomes resident; reports what the OOM killer and the
 * kubelet see before and after each block. Options are validated, the environment detected and
 * `oom_score_adj` written synchronously (errors are thrown here, before anything is allocated);
 * blocks are allocated as the samples are consumed, so a consumer that writes each sample
 * synchronously never loses the line before an OOM kill.
 *
 * @example
 * ```ts
 * const run = startLeak({ blockBytes: 10 * 2 ** 20, fill: 1, maxBytes: 200 * 2 ** 20, signal });
 * for await (const sample of run) {
 *   writeSync(1, `${JSON.stringify(sample)}\n`);
 * }
 * ```
 */
export function startLeak(options: StartLeakOptions): LeakRun {
  const o = resolveLeakOptions(options);
  const { environment, populate } = planLeak(o);
  // Last, once every check has passed: nothing is changed when an option is refused.
  applyOomScoreAdj(o);
  const store = new BlockStore(o.allocate, environment.pageSize, populate, environment.hugePageBytes ?? 0);
  const state: RunState = {
    o,
    environment,
    store,
    sample: createSampler(store, environment.cgroup, o.procRoot, o.timer),
    stopReason: null,
    endReason: null,
  };

  let iterator: AsyncGenerator<LeakSample> | null = null;
  return {
    environment,
    get blocks() {
      return store.count;
    },
    get allocatedBytes() {
      return store.allocatedBytes;
    },
    get touchedBytes() {
      return store.touchedBytes;
    },
    get stopReason() {
      return state.stopReason;
    },
    get endReason() {
      return state.endReason;
    },
    sample: (phase?: LeakPhase) => state.sample(phase ?? "snapshot"),
    release: () => store.release(),
    [Symbol.asyncIterator]() {
      if (iterator !== null) throw new Error("a leak run can be iterated once");
      iterator = runPhases(state);
      return iterator;
    },
  };
}

/** start, (wait for the caller), allocate, hold: the run as its samples tell it. */
async function* runPhases(state: RunState): AsyncGenerator<LeakSample> {
  const { o } = state;
  yield state.sample("start");
  if (o.beforeAllocating && !o.signal?.aborted) await untilAborted(o.beforeAllocating(), o.signal);
  yield* allocateBlocks(state);
  if (state.endReason === null) yield* hold(state);
}

/**
 * Allocates and touches blocks, paced by the ramp or the delay, until the cap, the target, an
 * allocation failure or the signal stops it (`stopReason`). Ends the run (`endReason`) when the
 * signal aborts, or when an allocation fails and `onAllocationFailure` is `exit`.
 */
async function* allocateBlocks(state: RunState): AsyncGenerator<LeakSample> {
  const { o, environment: env, store, sample } = state;
  const capBlocks = o.maxBytes > 0 ? Math.ceil(o.maxBytes / o.blockBytes) : null;
  const pacing = {
    rampMs: o.rampMs,
    delayMs: o.delayMs,
    plannedBlocks: env.plannedBlocks,
    startedAt: o.timer.now(),
  };
  for (;;) {
    if (capBlocks !== null && store.count >= capBlocks) {
      state.stopReason = "cap";
      return;
    }
    await pauseUntil(o.timer, blockDueAt(pacing, store.count, o.timer.now()), o.signal);
    if (o.signal?.aborted) {
      state.stopReason = "aborted";
      state.endReason = "aborted";
      return;
    }
    const size = nextBlockBytes(state);
    if (size === null) {
      state.stopReason = "target";
      return;
    }
    const failure = store.allocate(size);
    if (failure !== null) {
      state.stopReason = "allocation-failed";
      const where = `(block ${store.count + 1}, ${size} bytes)`;
      yield sample("allocation-failed", `${failure.name}: ${failure.message} ${where}`);
      if (o.onAllocationFailure === "exit") state.endReason = "allocation-failed";
      return;
    }
    yield sample("allocated");
    const pages = size === o.blockBytes ? env.touchPagesPerBlock : pagesToTouch(size, env.pageSize, o.fill);
    store.touchLast(pages);
    yield sample("touched");
  }
}

/**
 * The next block's size: the block size, or with a target what is left to reach it (whole pages,
 * divided by the fill), or null when the working set is within a page of the target.
 */
function nextBlockBytes({ o, environment: env }: RunState): number | null {
  if (env.targetBytes === null) return o.blockBytes;
  const remaining = env.targetBytes - (readCgroupSample(env.cgroup).workingSetBytes ?? 0);
  if (remaining < env.pageSize) return null;
  return Math.min(o.blockBytes, Math.ceil(remaining / o.fill / env.pageSize) * env.pageSize);
}

/**
 * Holds the blocks: a `holding` sample, then one every `holdSampleIntervalMs` if set; after `holdMs`
 * the run ends (`afterHold: "exit"`) or frees the blocks and goes on sampling as `released` until the
 * signal aborts. Without `holdMs` it holds until the signal aborts.
 */
async function* hold(state: RunState): AsyncGenerator<LeakSample> {
  const { o, store, sample } = state;
  const { timer, signal } = o;
  const interval = o.holdSampleIntervalMs;
  yield sample("holding");
  let phase: LeakPhase = "holding";
  if (o.holdMs !== undefined) {
    const until = timer.now() + o.holdMs;
    while (!signal?.aborted && timer.now() < until) {
      await pauseUntil(
        timer,
        interval === undefined ? until : Math.min(until, timer.now() + interval),
        signal,
      );
      if (interval !== undefined && !signal?.aborted && timer.now() < until) yield sample("holding");
    }
    if (!signal?.aborted) {
      if (o.afterHold === "exit") {
        state.endReason = "held";
        return;
      }
      store.release();
      await settleAfterRelease(o);
      phase = "released";
      yield sample("released");
    }
  }
  while (!signal?.aborted) {
    if (interval === undefined) {
      await pauseUntilAborted(timer, signal);
    } else {
      await pause(timer, interval, signal);
      if (!signal?.aborted) yield sample(phase);
    }
  }
  state.endReason = "aborted";
}

/**
 * V8 frees collected array buffers on a background sweeper, tens of milliseconds after the GC; the
 * `released` sample waits (up to a second) until RSS stops falling so that it shows the drop.
 */
async function settleAfterRelease({ timer, signal }: ResolvedLeakOptions): Promise<void> {
  let last = process.memoryUsage.rss();
  for (let i = 0, steady = 0; i < 100 && steady < 3 && !signal?.aborted; i++) {
    await pause(timer, 10, signal);
    const rss = process.memoryUsage.rss();
    steady = Math.abs(rss - last) < 2 ** 20 ? steady + 1 : 0;
    last = rss;
  }
}
