import { join } from "node:path";
import type { Timer } from "@cloudadmin/paging";
import type { BlockStore } from "./blocks.js";
import { type CgroupInfo, readCgroupSample } from "./cgroup.js";
import { readInteger } from "./proc.js";
import type { LeakPhase, LeakSample } from "./types.js";

/** Takes a reading: the store's counts, `process.memoryUsage()`, the OOM scores and the cgroup files. */
export type Sampler = (phase: LeakPhase, error?: string) => LeakSample;

/** A {@link Sampler} over one run's blocks, cgroup and clock. */
export function createSampler(
  store: BlockStore,
  cgroup: CgroupInfo | null,
  procRoot: string,
  timer: Timer,
): Sampler {
  return (phase, error) => {
    const usage = process.memoryUsage();
    const sample: LeakSample = {
      t: new Date(timer.now()).toISOString(),
      phase,
      block: store.count,
      allocatedBytes: store.allocatedBytes,
      touchedBytes: store.touchedBytes,
      rssBytes: usage.rss,
      heapUsedBytes: usage.heapUsed,
      externalBytes: usage.external,
      oomScore: readInteger(join(procRoot, "self", "oom_score")),
      oomScoreAdj: readInteger(join(procRoot, "self", "oom_score_adj")),
      cgroup: readCgroupSample(cgroup),
    };
    if (error !== undefined) sample.error = error;
    return sample;
  };
}
