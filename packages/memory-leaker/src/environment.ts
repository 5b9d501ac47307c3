import { existsSync } from "node:fs";
import { join } from "node:path";
import { readText } from "./proc.js";

/** Kubernetes QoS classes (they decide the kubelet's oom_score_adj and the eviction order). */
export type QosClass = "Guaranteed" | "Burstable" | "BestEffort";

/** Where the process runs, as far as can be told from inside. */
export interface RuntimeEnvironment {
  /** True in a Docker, Podman, containerd, CRI-O or LXC container (or a Kubernetes pod). */
  inContainer: boolean;
  /** The runtime when it can be told (`docker`, `podman`, `containerd`, `cri-o`, `lxc`), else null. */
  containerRuntime: string | null;
  /** Set inside a Kubernetes pod. */
  kubernetes: {
    /** The pod name (`HOSTNAME`, or `POD_NAME` from the Downward API), when known. */
    podName: string | null;
    namespace: string | null;
    /** From the cgroup path (`pod<uid>`), when visible. */
    podUid: string | null;
    qosClass: QosClass | null;
    /** How the QoS class was inferred: from the cgroup path, or from the kubelet's oom_score_adj. */
    qosSource: "cgroup-path" | "oom-score-adj" | null;
  } | null;
}

interface DetectEnvironmentOptions {
  /** The filesystem root where `/.dockerenv`, `/run/.containerenv` and the service account live. */
  rootDir: string;
  /** The environment variables to look at (`KUBERNETES_SERVICE_HOST`, `HOSTNAME`, `container`...). */
  env: Readonly<Record<string, string | undefined>>;
  /** The cgroup path from `/proc/self/cgroup` (any hierarchy), or null. */
  cgroupPath: string | null;
  /** The process's current oom_score_adj, or null. */
  oomScoreAdj: number | null;
}

/** Tells container, pod and QoS class from marker files, environment variables and the cgroup path. */
export function detectRuntimeEnvironment(options: DetectEnvironmentOptions): RuntimeEnvironment {
  const { rootDir, env, cgroupPath, oomScoreAdj } = options;
  const path = cgroupPath ?? "";
  const serviceAccount = join(rootDir, "var", "run", "secrets", "kubernetes.io", "serviceaccount");
  const inPod =
    (env.KUBERNETES_SERVICE_HOST ?? "") !== "" || existsSync(serviceAccount) || /kubepods/.test(path);

  let containerRuntime: string | null = null;
  if (existsSync(join(rootDir, ".dockerenv"))) containerRuntime = "docker";
  else if (existsSync(join(rootDir, "run", ".containerenv"))) containerRuntime = "podman";
  else if (/cri-containerd|containerd/.test(path)) containerRuntime = "containerd";
  else if (/crio-/.test(path)) containerRuntime = "cri-o";
  else if (/libpod/.test(path)) containerRuntime = "podman";
  else if (/docker/.test(path)) containerRuntime = "docker";
  else if (env.container === "lxc" || /\/lxc\//.test(path)) containerRuntime = "lxc";
  else if (env.container !== undefined && env.container !== "") containerRuntime = env.container;

  let kubernetes: RuntimeEnvironment["kubernetes"] = null;
  if (inPod) {
    let qosClass: QosClass | null = null;
    let qosSource: "cgroup-path" | "oom-score-adj" | null = null;
    if (/kubepods/.test(path)) {
      qosSource = "cgroup-path";
      if (/besteffort/i.test(path)) qosClass = "BestEffort";
      else if (/burstable/i.test(path)) qosClass = "Burstable";
      else qosClass = "Guaranteed";
    } else if (oomScoreAdj !== null) {
      // The kubelet's policy (pkg/kubelet/qos/policy.go): Guaranteed -997, BestEffort 1000, Burstable 2..999.
      qosSource = "oom-score-adj";
      if (oomScoreAdj === -997) qosClass = "Guaranteed";
      else if (oomScoreAdj === 1000) qosClass = "BestEffort";
      else if (oomScoreAdj >= 2 && oomScoreAdj <= 999) qosClass = "Burstable";
      else qosSource = null;
    }
    const uid = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/i.exec(
      path,
    )?.[1];
    const namespace = readText(join(serviceAccount, "namespace"))?.trim() || env.POD_NAMESPACE || null;
    kubernetes = {
      podName: env.POD_NAME || env.HOSTNAME || null,
      namespace,
      podUid: uid === undefined ? null : uid.replace(/_/g, "-"),
      qosClass,
      qosSource,
    };
  }
  return { inContainer: inPod || containerRuntime !== null, containerRuntime, kubernetes };
}
