import { join } from "node:path";
import { ConfigError } from "@cloudadmin/errors";
import { detectCgroup, readCgroupSample } from "./cgroup.js";
import { detectRuntimeEnvironment } from "./environment.js";
import { LeakOptionError, type ResolvedLeakOptions } from "./options.js";
import { type PopulateFn, usablePopulate } from "./populate.js";
import { detectPageSize, readInteger, readText, readThpMode, writeOomScoreAdj } from "./proc.js";
import type { LeakEnvironment } from "./types.js";

/** What the run needs besides the public {@link LeakEnvironment}: the populate helper, if used. */
interface LeakPlan {
  environment: LeakEnvironment;
  populate: PopulateFn | null;
}

/**
 * Reads the machine (page size, cgroup and its limit, THP mode, container or pod, the populate
 * helper) and plans the run: the target in bytes, the pages touched per block, the blocks to
 * allocate. Only reads; throws when an option cannot apply here (a target without a cgroup limit,
 * `populate` without the helper).
 */
export function planLeak(o: ResolvedLeakOptions): LeakPlan {
  const detected = o.pageSize === undefined ? detectPageSize(o.procRoot) : null;
  const pageSize = o.pageSize ?? detected?.pageSize ?? 4096;
  const cgroup = detectCgroup(o.procRoot, o.sysRoot);
  const initial = readCgroupSample(cgroup);
  const warnings: string[] = [];
  if (detected?.source === "assumed") warnings.push("the page size could not be read; assuming 4096 bytes");
  if (cgroup === null) warnings.push("no memory cgroup found: limit, usage and working set are unknown");

  let targetBytes: number | null = null;
  if (o.targetPercent !== undefined) {
    if (initial.limitBytes === null) {
      throw new LeakOptionError(
        "targetPercent",
        "targetPercent is a percentage of the cgroup memory limit, and this process has no cgroup memory limit",
      );
    }
    targetBytes = Math.floor((initial.limitBytes * o.targetPercent) / 100);
  }

  const thp = readThpMode(o.sysRoot);
  if (thp === "always" && o.fill > 0 && o.fill < 1) {
    warnings.push(
      "transparent huge pages are 'always': one write can make a whole 2 MiB huge page resident, so more than the fill ratio may become resident (watch AnonHugePages in /proc/self/smaps_rollup)",
    );
  }
  const hugePageBytes =
    o.hugePages && thp === "madvise"
      ? readInteger(join(o.sysRoot, "kernel", "mm", "transparent_hugepage", "hpage_pmd_size"))
      : null;
  const populate = o.touchMethod === "write" ? null : usablePopulate(pageSize);
  if (o.touchMethod === "populate" && populate === null) {
    throw new ConfigError(
      "the native populate helper is not built or the kernel lacks MADV_POPULATE_WRITE (Linux 5.14+); use touchMethod 'write'",
      { scope: "leak-memory", phase: "options" },
    );
  }

  const touchPagesPerBlock = pagesToTouch(o.blockBytes, pageSize, o.fill);
  let plannedBlocks: number | null = o.maxBytes > 0 ? Math.ceil(o.maxBytes / o.blockBytes) : null;
  if (targetBytes !== null && o.rampMs > 0) {
    const missing = Math.max(0, targetBytes - (initial.workingSetBytes ?? 0));
    const forTarget = Math.ceil(missing / (o.blockBytes * o.fill));
    plannedBlocks = plannedBlocks === null ? forTarget : Math.min(plannedBlocks, forTarget);
  }

  const runtime = detectRuntimeEnvironment({
    rootDir: o.rootDir,
    env: o.env,
    cgroupPath: cgroup?.path ?? firstCgroupPath(o.procRoot),
    // The kubelet's value (it tells the QoS class), read before the run writes its own.
    oomScoreAdj: readInteger(join(o.procRoot, "self", "oom_score_adj")),
  });

  return {
    populate,
    environment: {
      pageSize,
      pageSizeSource: detected?.source ?? "assumed",
      cgroup,
      limitBytes: initial.limitBytes,
      runtime,
      transparentHugePages: thp,
      touchMethod: populate === null ? "write" : "populate",
      hugePageBytes: populate === null ? null : hugePageBytes,
      blockBytes: o.blockBytes,
      touchPagesPerBlock,
      plannedBlocks,
      targetBytes,
      warnings,
    },
  };
}

/** The pages one write per page covers in `bytes` at this fill: round(pages x fill). */
export function pagesToTouch(bytes: number, pageSize: number, fill: number): number {
  return Math.round(Math.ceil(bytes / pageSize) * fill);
}

/** Writes `oom_score_adj` when asked; the run calls it last, once every check has passed. */
export function applyOomScoreAdj(o: ResolvedLeakOptions): void {
  if (o.oomScoreAdj === undefined) return;
  try {
    writeOomScoreAdj(o.procRoot, o.oomScoreAdj);
  } catch (cause) {
    throw new ConfigError(
      `could not set oom_score_adj to ${o.oomScoreAdj} (lowering it needs CAP_SYS_RESOURCE; raising it does not)`,
      { cause, scope: "leak-memory", phase: "oom-score-adj" },
    );
  }
}

function firstCgroupPath(procRoot: string): string | null {
  const text = readText(join(procRoot, "self", "cgroup"));
  const match = text === null ? null : /^\d+:[^:]*:(.+)$/m.exec(text);
  return match?.[1] ?? null;
}
