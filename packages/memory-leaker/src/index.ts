/**
 * `@cloudadmin/memory-leaker`: a controlled memory leaker that reports the numbers the Linux OOM
 * killer and the Kubernetes kubelet act on.
 *
 * @example
 * ```ts
 * import { startLeak } from "@cloudadmin/memory-leaker";
 * const run = startLeak({ blockBytes: 10 * 2 ** 20, fill: 0.5, maxBytes: 500 * 2 ** 20 });
 * for await (const sample of run) {
 *   console.log(sample.phase, sample.allocatedBytes, sample.cgroup.workingSetBytes);
 * }
 * ```
 */
export {
  startLeak,
  type LeakEnvironment,
  type LeakPhase,
  type LeakRun,
  type LeakSample,
  type LeakStopReason,
  type StartLeakOptions,
} from "./leak.js";
export {
  type CgroupInfo,
  type CgroupSample,
  detectCgroup,
  readCgroupSample,
  readEffectiveLimit,
} from "./cgroup.js";
export { detectRuntimeEnvironment, type QosClass, type RuntimeEnvironment } from "./environment.js";
export {
  detectPageSize,
  type PageSizeSource,
  readProcStatus,
  readThpMode,
  readAnonHugePages,
} from "./proc.js";
export {
  createLeakMetrics,
  startMetricsServer,
  type LeakMetricsOptions,
  type MetricsServer,
  type StartMetricsServerOptions,
} from "./metrics.js";
