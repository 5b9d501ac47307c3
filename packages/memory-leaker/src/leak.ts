import { constants as bufferConstants } from "node:buffer";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ConfigError, InvalidInputError } from "@cloudadmin/errors";
import { type CgroupInfo, type CgroupSample, detectCgroup, readCgroupSample } from "./cgroup.js";
import { type PopulateFn, usablePopulate } from "./populate.js";
import { detectRuntimeEnvironment, type RuntimeEnvironment } from "./environment.js";
import {
  detectPageSize,
  type PageSizeSource,
  readInteger,
  readText,
  readThpMode,
  writeOomScoreAdj,
} from "./proc.js";

/**
 * What a sample was taken after: `start` (before any allocation), `allocated` (a block was allocated,
 * not yet touched), `touched` (its pages were written), `allocation-failed` (a RangeError),
 * `holding` (allocation is over; repeated every `holdSampleIntervalMs`), `released`, and `snapshot`
 * (taken on demand with {@link LeakRun.sample}, e.g. by a metrics scrape).
 */
export type LeakPhase =
  | "start"
  | "allocated"
  | "touched"
  | "allocation-failed"
  | "holding"
  | "released"
  | "snapshot";

/** One reading (SPEC section 4): what was allocated and touched, and what the kernel and kubelet see. */
export interface LeakSample {
  /** ISO 8601 time of the reading. */
  t: string;
  phase: LeakPhase;
  /** Blocks allocated so far (the block just allocated or touched, counting from 1). */
  block: number;
  allocatedBytes: number;
  /** Bytes of the blocks whose pages were written (one write per page), so resident. */
  touchedBytes: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** V8's external memory: the blocks live here, outside the JS heap. */
  externalBytes: number;
  /** `/proc/self/oom_score` (0..2000 on current kernels), null where unreadable. */
  oomScore: number | null;
  oomScoreAdj: number | null;
  cgroup: CgroupSample;
  /** The allocation error, on `allocation-failed` samples only. */
  error?: string;
}

/** Why allocation stopped: the cap (`maxBytes`), the target, an allocation failure, or the signal. */
export type LeakStopReason = "cap" | "target" | "allocation-failed" | "aborted";

/** What was detected at start, and the plan. */
export interface LeakEnvironment {
  pageSize: number;
  pageSizeSource: PageSizeSource;
  /** The memory cgroup (version, path, directory), or null when none was found. */
  cgroup: CgroupInfo | null;
  /** The effective cgroup limit at start (smallest among the cgroup and its readable ancestors). */
  limitBytes: number | null;
  runtime: RuntimeEnvironment;
  /** Transparent huge pages mode (`always` makes partial touches inexact). */
  transparentHugePages: "always" | "madvise" | "never" | null;
  blockBytes: number;
  /** How pages are made resident (see {@link StartLeakOptions.touchMethod}). */
  touchMethod: "populate" | "write";
  /** The huge page size asked for on wholly touched ranges (see {@link StartLeakOptions.hugePages}), or null. */
  hugePageBytes: number | null;
  /** Pages written in each full block: round(pages per block x fill). */
  touchPagesPerBlock: number;
  /** Blocks that will be allocated when a cap (or a ramp to a target) fixes it, else null. */
  plannedBlocks: number | null;
  /** The working set to stop at (`targetPercent` of the limit), or null. */
  targetBytes: number | null;
  /** Things the user should know (THP, no cgroup, guessed page size...). */
  warnings: string[];
}

/** Options of {@link startLeak}. Sizes are in bytes, durations in milliseconds. */
export interface StartLeakOptions {
  /** Size of each block; at most `buffer.constants.MAX_LENGTH` (4 GiB on Node 20). */
  blockBytes: number;
  /** Share of each block written so it becomes resident, 0..1 (default 1). */
  fill?: number;
  /** Stop after ceil(maxBytes / blockBytes) blocks, as the original tool did; 0 or absent = no cap. */
  maxBytes?: number;
  /** Wait before every block but the first (default 0). */
  delayMs?: number;
  /** Spread the blocks evenly over this time, the last one at its end (needs a cap or a target). */
  rampMs?: number;
  /** Stop when the cgroup working set reaches this percentage of the effective cgroup limit. */
  targetPercent?: number;
  /** How long to hold once allocation is over; absent = until the signal aborts. */
  holdMs?: number;
  /** After `holdMs`: end the iteration (`exit`, default), or free the blocks and wait for the signal (`release`). */
  afterHold?: "exit" | "release";
  /** On `RangeError: Array buffer allocation failed`: hold what was allocated (default) or end. */
  onAllocationFailure?: "hold" | "exit";
  /** Written to `/proc/self/oom_score_adj` before anything is allocated (raise it to be the OOM victim). */
  oomScoreAdj?: number;
  /** While holding, a `holding` sample every this many ms (default: only one). */
  holdSampleIntervalMs?: number;
  /** Awaited after the `start` sample and before the first allocation (the CLI's `--pause`). */
  beforeAllocating?: () => Promise<void>;
  /** Ends the run (the iteration returns; `stopReason` is `aborted`). */
  signal?: AbortSignal;
  /** Root of the proc filesystem (default `/proc`); tests point it at fixture trees. */
  procRoot?: string;
  /** Root of sysfs (default `/sys`). */
  sysRoot?: string;
  /** Filesystem root for container markers (`/.dockerenv`, the service account); default `/`. */
  rootDir?: string;
  /** Environment variables used to detect a pod (`KUBERNETES_SERVICE_HOST`, `HOSTNAME`); default none. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Page size to use instead of the detected one. */
  pageSize?: number;
  /** Clock for sample times and the ramp schedule (default `Date.now`). */
  now?: () => number;
  /**
   * How pages are made resident: `populate` asks the kernel to fault in exactly the pages one write
   * per page would (madvise MADV_POPULATE_WRITE through the native helper built at install; much
   * faster); `write` writes one byte per page from JavaScript; `auto` (default) uses `populate`
   * when the helper is built and the kernel supports it, else `write`.
   */
  touchMethod?: "auto" | "populate" | "write";
  /**
   * With `populate` and transparent huge pages in `madvise` mode, ask for huge pages on the parts of
   * the touched range that hold whole huge pages (faster; resident memory is unchanged, since those
   * pages are populated anyway). Default true.
   */
  hugePages?: boolean;
  /** Allocator (default `Buffer.allocUnsafeSlow`: lazily mapped, outside the V8 heap, never pooled). */
  allocate?: (bytes: number) => Uint8Array;
}

/** A running leak: iterate it for samples; allocation proceeds as the samples are consumed. */
export interface LeakRun extends AsyncIterable<LeakSample> {
  readonly environment: LeakEnvironment;
  readonly blocks: number;
  readonly allocatedBytes: number;
  readonly touchedBytes: number;
  /** Why allocation stopped; null while it goes on. */
  readonly stopReason: LeakStopReason | null;
  /** A reading taken now, with phase `snapshot` unless given. */
  sample(phase?: LeakPhase): LeakSample;
  /** Drops every block; the memory returns to the system (munmap) at V8's next GC of the buffers. */
  release(): void;
}

function invalid(message: string): never {
  throw new InvalidInputError(message, { scope: "leak-memory", phase: "options" });
}

function checkNumber(name: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    invalid(`${name} must be a number from ${min} to ${max} (got ${String(value)})`);
  }
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
  const procRoot = options.procRoot ?? "/proc";
  const sysRoot = options.sysRoot ?? "/sys";
  const rootDir = options.rootDir ?? "/";
  const now = options.now ?? Date.now;
  const fill = options.fill ?? 1;
  const maxBytes = options.maxBytes ?? 0;
  const delayMs = options.delayMs ?? 0;
  const rampMs = options.rampMs ?? 0;
  const signal = options.signal;

  if (options.blockBytes > bufferConstants.MAX_LENGTH) {
    invalid(
      `the block size must be at most ${bufferConstants.MAX_LENGTH} bytes, the largest Buffer this Node.js allows`,
    );
  }
  if (!Number.isSafeInteger(options.blockBytes) || options.blockBytes < 1) {
    invalid(`the block size must be a whole number of bytes above 0 (got ${String(options.blockBytes)})`);
  }
  checkNumber("fill", fill, 0, 1);
  checkNumber("the cap", maxBytes, 0, Number.MAX_SAFE_INTEGER);
  checkNumber("the delay", delayMs, 0, 2 ** 31 - 1);
  checkNumber("the ramp", rampMs, 0, Number.MAX_SAFE_INTEGER);
  checkNumber("the hold", options.holdMs, 0, Number.MAX_SAFE_INTEGER);
  checkNumber("the target", options.targetPercent, Number.MIN_VALUE, 100);
  checkNumber("oom_score_adj", options.oomScoreAdj, -1000, 1000);
  checkNumber("the hold sample interval", options.holdSampleIntervalMs, 1, 2 ** 31 - 1);
  if (options.oomScoreAdj !== undefined && !Number.isInteger(options.oomScoreAdj)) {
    invalid("oom_score_adj must be a whole number from -1000 to 1000");
  }
  if (rampMs > 0 && delayMs > 0) invalid("a ramp and a delay cannot be combined: the ramp sets the delay");
  if (rampMs > 0 && maxBytes === 0 && options.targetPercent === undefined) {
    invalid("a ramp needs an amount to spread: a cap (max) or a target");
  }
  if (options.targetPercent !== undefined && fill === 0) {
    invalid("a target needs a fill above 0: untouched memory never counts in the working set");
  }

  const detected = options.pageSize === undefined ? detectPageSize(procRoot) : null;
  const pageSize = options.pageSize ?? detected?.pageSize ?? 4096;
  const cgroup = detectCgroup(procRoot, sysRoot);
  const initial = readCgroupSample(cgroup);
  const warnings: string[] = [];
  if (detected?.source === "assumed") warnings.push("the page size could not be read; assuming 4096 bytes");
  if (cgroup === null) warnings.push("no memory cgroup found: limit, usage and working set are unknown");

  let targetBytes: number | null = null;
  if (options.targetPercent !== undefined) {
    if (initial.limitBytes === null) {
      invalid(
        "a target is a percentage of the cgroup memory limit, and this process has no cgroup memory limit",
      );
    }
    targetBytes = Math.floor((initial.limitBytes * options.targetPercent) / 100);
  }

  const thp = readThpMode(sysRoot);
  if (thp === "always" && fill > 0 && fill < 1) {
    warnings.push(
      "transparent huge pages are 'always': one write can make a whole 2 MiB huge page resident, so more than the fill ratio may become resident (watch AnonHugePages)",
    );
  }

  const blockBytes = options.blockBytes;
  const hugePageBytes =
    options.hugePages !== false && thp === "madvise"
      ? readInteger(join(sysRoot, "kernel", "mm", "transparent_hugepage", "hpage_pmd_size"))
      : null;
  const wanted = options.touchMethod ?? "auto";
  if (wanted !== "auto" && wanted !== "populate" && wanted !== "write") {
    invalid(`unknown touch method '${String(wanted)}'`);
  }
  const populate = wanted === "write" ? null : usablePopulate(pageSize);
  if (wanted === "populate" && populate === null) {
    throw new ConfigError(
      "the native populate helper is not built or the kernel lacks MADV_POPULATE_WRITE (Linux 5.14+); use the write touch method",
      { scope: "leak-memory", phase: "options" },
    );
  }
  // The kubelet's value (it tells the QoS class), read before ours replaces it.
  const kubeletOomScoreAdj = readInteger(join(procRoot, "self", "oom_score_adj"));
  // Last, once every check has passed: nothing is changed when an option is refused.
  if (options.oomScoreAdj !== undefined) {
    try {
      writeOomScoreAdj(procRoot, options.oomScoreAdj);
    } catch (cause) {
      throw new ConfigError(
        `could not set oom_score_adj to ${options.oomScoreAdj} (lowering it needs CAP_SYS_RESOURCE; raising it does not)`,
        { cause, scope: "leak-memory", phase: "oom-score-adj" },
      );
    }
  }

  const touchPagesPerBlock = Math.round(Math.ceil(blockBytes / pageSize) * fill);
  let plannedBlocks: number | null = maxBytes > 0 ? Math.ceil(maxBytes / blockBytes) : null;
  if (targetBytes !== null && rampMs > 0) {
    const missing = Math.max(0, targetBytes - (initial.workingSetBytes ?? 0));
    const forTarget = Math.ceil(missing / (blockBytes * fill));
    plannedBlocks = plannedBlocks === null ? forTarget : Math.min(plannedBlocks, forTarget);
  }

  const runtime = detectRuntimeEnvironment({
    rootDir,
    env: options.env ?? {},
    cgroupPath: cgroup?.path ?? firstCgroupPath(procRoot),
    oomScoreAdj: kubeletOomScoreAdj,
  });

  const environment: LeakEnvironment = {
    pageSize,
    pageSizeSource: detected?.source ?? "assumed",
    cgroup,
    limitBytes: initial.limitBytes,
    runtime,
    transparentHugePages: thp,
    touchMethod: populate === null ? "write" : "populate",
    hugePageBytes: populate === null ? null : hugePageBytes,
    blockBytes,
    touchPagesPerBlock,
    plannedBlocks,
    targetBytes,
    warnings,
  };
  if (options.pageSize !== undefined) environment.pageSizeSource = "assumed";

  const allocate = options.allocate ?? ((bytes: number) => Buffer.allocUnsafeSlow(bytes));
  let blocks: Uint8Array[] = [];
  let blockCount = 0;
  let allocatedBytes = 0;
  let touchedBytes = 0;
  let stopReason: LeakStopReason | null = null;

  const sample = (phase: LeakPhase = "snapshot", error?: string): LeakSample => {
    const usage = process.memoryUsage();
    const out: LeakSample = {
      t: new Date(now()).toISOString(),
      phase,
      block: blockCount,
      allocatedBytes,
      touchedBytes,
      rssBytes: usage.rss,
      heapUsedBytes: usage.heapUsed,
      externalBytes: usage.external,
      oomScore: readInteger(join(procRoot, "self", "oom_score")),
      oomScoreAdj: readInteger(join(procRoot, "self", "oom_score_adj")),
      cgroup: readCgroupSample(cgroup),
    };
    if (error !== undefined) out.error = error;
    return out;
  };

  async function* generate(): AsyncGenerator<LeakSample> {
    yield sample("start");
    if (options.beforeAllocating && !signal?.aborted) await untilAborted(options.beforeAllocating(), signal);
    const startedAt = now();
    const interval = options.holdSampleIntervalMs;
    for (;;) {
      if (maxBytes > 0 && blockCount >= Math.ceil(maxBytes / blockBytes)) {
        stopReason = "cap";
        break;
      }
      if (rampMs > 0 && plannedBlocks !== null && plannedBlocks > 0) {
        const due = startedAt + (rampMs * Math.min(blockCount + 1, plannedBlocks)) / plannedBlocks;
        await sleep(due - now(), signal);
      } else if (blockCount > 0 && delayMs > 0) {
        await sleep(delayMs, signal);
      }
      if (signal?.aborted) {
        stopReason = "aborted";
        return;
      }
      let size = blockBytes;
      if (targetBytes !== null) {
        const remaining = targetBytes - (readCgroupSample(cgroup).workingSetBytes ?? 0);
        if (remaining < pageSize) {
          stopReason = "target";
          break;
        }
        size = Math.min(blockBytes, Math.ceil(remaining / fill / pageSize) * pageSize);
      }
      // The generator never holds a block in a local: a suspended generator keeps its locals
      // alive, which would keep the last block resident after release().
      const failure = allocateBlock(size);
      if (failure !== null) {
        stopReason = "allocation-failed";
        yield sample(
          "allocation-failed",
          `${failure.name}: ${failure.message} (block ${blockCount + 1}, ${size} bytes)`,
        );
        if (options.onAllocationFailure === "exit") return;
        break;
      }
      blockCount += 1;
      allocatedBytes += size;
      yield sample("allocated");
      const pages = size === blockBytes ? touchPagesPerBlock : Math.round(Math.ceil(size / pageSize) * fill);
      touchedBytes += touchLastBlock(pages);
      yield sample("touched");
    }

    yield sample("holding");
    let released = false;
    if (options.holdMs !== undefined) {
      const holdUntil = now() + options.holdMs;
      while (!signal?.aborted && now() < holdUntil) {
        await sleep(Math.min(interval ?? Number.POSITIVE_INFINITY, holdUntil - now()), signal);
        if (interval !== undefined && !signal?.aborted && now() < holdUntil) yield sample("holding");
      }
      if (!signal?.aborted) {
        if (options.afterHold !== "release") return;
        release();
        await settleAfterRelease(signal);
        released = true;
        yield sample("released");
      }
    }
    while (!signal?.aborted) {
      await sleep(interval ?? Number.POSITIVE_INFINITY, signal);
      if (interval !== undefined && !signal?.aborted) yield sample(released ? "released" : "holding");
    }
  }

  function allocateBlock(size: number): RangeError | null {
    try {
      blocks.push(allocate(size));
      return null;
    } catch (error) {
      if (error instanceof RangeError) return error;
      throw error;
    }
  }

  function touchLastBlock(pages: number): number {
    const block = blocks[blocks.length - 1];
    return block === undefined ? 0 : touch(block, pages, pageSize, populate, hugePageBytes ?? 0);
  }

  function release(): void {
    blocks = [];
    allocatedBytes = 0;
    touchedBytes = 0;
    collectGarbage();
  }

  let iterator: AsyncGenerator<LeakSample> | null = null;
  return {
    environment,
    get blocks() {
      return blockCount;
    },
    get allocatedBytes() {
      return allocatedBytes;
    },
    get touchedBytes() {
      return touchedBytes;
    },
    get stopReason() {
      return stopReason;
    },
    sample: (phase?: LeakPhase) => sample(phase ?? "snapshot"),
    release,
    [Symbol.asyncIterator]() {
      if (iterator !== null) throw new Error("a leak run can be iterated once");
      iterator = generate();
      return iterator;
    },
  };
}

/** Makes the first `pages` pages of the block resident; returns the bytes that covers. */
function touch(
  block: Uint8Array,
  pages: number,
  pageSize: number,
  populate: PopulateFn | null,
  hugePageBytes: number,
): number {
  if (pages > 0 && populate !== null && populate(block, pages, pageSize, hugePageBytes)) {
    return Math.min(block.length, pages * pageSize);
  }
  // A write (not a read: a read maps the shared zero page) faults in a private page. The block
  // starts a few bytes into its first page (malloc's chunk header), so offset k * pageSize lies in
  // page k of the mapping and exactly `pages` pages are faulted.
  for (let page = 0, offset = 0; page < pages; page++, offset += pageSize) block[offset] = 1;
  return Math.min(block.length, pages * pageSize);
}

/**
 * Freed blocks are unmapped only when V8 collects their ArrayBuffers, and dropping references alone
 * triggers no collection; a full GC makes `release()` visible in RSS and the cgroup at once.
 */
function collectGarbage(): void {
  try {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as unknown;
    if (typeof gc === "function") gc();
  } catch {
    // Without a GC the memory is still freed, later.
  }
}

/**
 * V8 frees collected array buffers on a background sweeper, tens of milliseconds after the GC; the
 * `released` sample waits (up to a second) until RSS stops falling so that it shows the drop.
 */
async function settleAfterRelease(signal: AbortSignal | undefined): Promise<void> {
  let last = process.memoryUsage.rss();
  for (let i = 0, steady = 0; i < 100 && steady < 3 && !signal?.aborted; i++) {
    await sleep(10, signal);
    const now = process.memoryUsage.rss();
    steady = Math.abs(now - last) < 2 ** 20 ? steady + 1 : 0;
    last = now;
  }
}

function firstCgroupPath(procRoot: string): string | null {
  const text = readText(join(procRoot, "self", "cgroup"));
  const match = text === null ? null : /^\d+:[^:]*:(.+)$/m.exec(text);
  return match?.[1] ?? null;
}

/** Resolves after `ms` or when the signal aborts; `Infinity` waits for the signal (keeping the process alive). */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const finite = Number.isFinite(ms) && ms < 2 ** 31 - 1;
    const timer = finite ? setTimeout(done, ms) : setInterval(() => {}, 2 ** 31 - 1);
    function done(): void {
      if (finite) clearTimeout(timer);
      else clearInterval(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

function untilAborted(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
