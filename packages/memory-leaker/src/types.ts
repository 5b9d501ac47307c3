import type { Timer } from "@cloudadmin/paging";
import type { CgroupInfo, CgroupSample } from "./cgroup.js";
import type { RuntimeEnvironment } from "./environment.js";
import type { PageSizeSource } from "./proc.js";

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

/**
 * Why the iteration ended: `held` (`holdMs` ran out and `afterHold` is `exit`), `aborted` (the
 * signal), or `allocation-failed` (an allocation failed and `onAllocationFailure` is `exit`).
 */
export type LeakEndReason = "held" | "aborted" | "allocation-failed";

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

/**
 * Options of {@link startLeak}. Sizes are in bytes, durations in milliseconds. `signal` and `timer`
 * have the names and types of `@cloudadmin/paging`'s `JobOptions`; the job's other shared options
 * (timeout, concurrency, retries, random, onError) do not apply to a process leaking into itself.
 */
export interface StartLeakOptions {
  /** Size of each block; a whole number of bytes, at most `buffer.constants.MAX_LENGTH` (4 GiB on Node 20). */
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
  /** Awaited after the `start` sample and before the first allocation (e.g. to wait for a key press). */
  beforeAllocating?: () => Promise<void>;
  /** Ends the run: the iteration returns (no error); `endReason` is `aborted`. */
  signal?: AbortSignal;
  /**
   * Clock and waiting (`@cloudadmin/paging`'s `Timer`; default the real one): sample times, the
   * ramp's schedule, delays and holds all go through it, so tests inject a fake one.
   */
  timer?: Timer;
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
  /** Why the iteration ended; null while it goes on. */
  readonly endReason: LeakEndReason | null;
  /** A reading taken now, with phase `snapshot` unless given. */
  sample(phase?: LeakPhase): LeakSample;
  /** Drops every block; the memory returns to the system (munmap) at V8's next GC of the buffers. */
  release(): void;
}
