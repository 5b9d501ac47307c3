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
export { startLeak } from "./leak.js";
export type {
  LeakEndReason,
  LeakEnvironment,
  LeakPhase,
  LeakRun,
  LeakSample,
  LeakStopReason,
  StartLeakOptions,
} from "./types.js";
export { LeakOptionError } from "./options.js";
export { LeakSampleError, readLeakSamples, type ReadLeakSamplesOptions } from "./samples.js";
export { type CgroupInfo, type CgroupSample, detectCgroup } from "./cgroup.js";
export type { QosClass, RuntimeEnvironment } from "./environment.js";
export type { PageSizeSource } from "./proc.js";
export {
  createLeakMetrics,
  startMetricsServer,
  type LeakMetricsOptions,
  type MetricsServer,
  type StartMetricsServerOptions,
} from "./metrics.js";
