import { afterEach, describe, expect, it } from "vitest";
import { detectCgroup, readCgroupSample, readEffectiveLimit } from "./cgroup.js";
import { detectRuntimeEnvironment } from "./environment.js";
import { type FixtureTree, fixtureTree, MiB, v1Files, v2Files } from "./fixture-tree.test-helper.js";
import { detectPageSize, readThpMode } from "./proc.js";

const trees: FixtureTree[] = [];
function tree(files: Record<string, string | Buffer>): FixtureTree {
  const t = fixtureTree(files);
  trees.push(t);
  return t;
}
afterEach(() => {
  for (const t of trees.splice(0)) t.remove();
});

const POD_UID = "8d3c5b0e-2f6a-4c51-9a7e-0b1c2d3e4f50";
const V1_CONTAINER = `/kubepods/burstable/pod${POD_UID}/3f2a9c`;
const V1_MOUNTINFO =
  "30 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,memory\n" +
  "31 25 0:28 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,pids\n" +
  "32 25 0:29 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw\n";

describe("cgroup v1 (fixture tree)", () => {
  function v1Pod(): FixtureTree {
    const m = "sys/fs/cgroup/memory";
    return tree({
      "proc/self/cgroup": `12:pids:/kubepods/burstable/pod${POD_UID}/3f2a9c\n4:memory:${V1_CONTAINER}\n0::/\n`,
      "proc/self/mountinfo": V1_MOUNTINFO,
      "sys/fs/cgroup/unified/cgroup.controllers": "",
      ...v1Files(m, { usage: 5000 * MiB }),
      ...v1Files(`${m}/kubepods`, { limit: 3000 * MiB }),
      ...v1Files(`${m}/kubepods/burstable`, {}),
      // The pod's limit (the sum of its containers') is below the container's own.
      ...v1Files(`${m}/kubepods/burstable/pod${POD_UID}`, { limit: 200 * MiB }),
      ...v1Files(`${m}${V1_CONTAINER}`, {
        limit: 256 * MiB,
        usage: 180 * MiB,
        inactiveFile: 30 * MiB,
        hierarchicalLimit: 200 * MiB,
        oomKill: 2,
      }),
    });
  }

  it("finds the memory hierarchy, the container's directory and the smallest ancestor limit", () => {
    const t = v1Pod();
    const info = detectCgroup(t.proc, t.sys);
    expect(info).toEqual({
      version: 1,
      path: V1_CONTAINER,
      dir: `${t.sys}/fs/cgroup/memory${V1_CONTAINER}`,
      mountDir: `${t.sys}/fs/cgroup/memory`,
    });
    expect(readCgroupSample(info)).toEqual({
      version: 1,
      limitBytes: 200 * MiB,
      usageBytes: 180 * MiB,
      inactiveFileBytes: 30 * MiB,
      workingSetBytes: 150 * MiB,
      oomEvents: null,
      oomKillEvents: 2,
    });
  });

  it("treats 0x7FFFFFFFFFFFF000 as no limit and uses hierarchical_memory_limit for hidden ancestors", () => {
    const m = "sys/fs/cgroup/memory";
    // A container whose mount root is its own cgroup (no cgroup namespace, v1): the path from
    // /proc/self/cgroup does not exist under the mount, so the mount root is the cgroup.
    const t = tree({
      "proc/self/cgroup": "4:memory:/docker/abc123\n",
      "proc/self/mountinfo":
        "30 25 0:27 /docker/abc123 /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n",
      ...v1Files(m, { usage: 64 * MiB, inactiveFile: 4 * MiB, hierarchicalLimit: 512 * MiB, oomKill: 0 }),
    });
    const info = detectCgroup(t.proc, t.sys);
    expect(info?.dir).toBe(`${t.sys}/fs/cgroup/memory`);
    expect(readEffectiveLimit(info!)).toBe(512 * MiB);
    const sample = readCgroupSample(info);
    expect(sample.workingSetBytes).toBe(60 * MiB);
    expect(sample.oomKillEvents).toBe(0);
  });

  it("reports no limit when every level is unlimited", () => {
    const m = "sys/fs/cgroup/memory";
    const t = tree({
      "proc/self/cgroup": "4:memory:/user.slice\n",
      "proc/self/mountinfo": V1_MOUNTINFO,
      ...v1Files(m, { usage: 900 * MiB }),
      ...v1Files(`${m}/user.slice`, { usage: 100 * MiB, inactiveFile: 120 * MiB }),
    });
    const sample = readCgroupSample(detectCgroup(t.proc, t.sys));
    expect(sample.limitBytes).toBeNull();
    // Working set is floored at 0 (inactive_file can exceed usage in the kernel's accounting).
    expect(sample.workingSetBytes).toBe(0);
  });

  it("tells the pod, its UID and the Burstable QoS class from the cgroup path", () => {
    const t = v1Pod();
    t.write("root/var/run/secrets/kubernetes.io/serviceaccount/namespace", "mem-example");
    const env = detectRuntimeEnvironment({
      rootDir: `${t.root}/root`,
      env: { HOSTNAME: "memory-demo-7c9f" },
      cgroupPath: V1_CONTAINER,
      oomScoreAdj: 939,
    });
    expect(env).toEqual({
      inContainer: true,
      containerRuntime: null,
      kubernetes: {
        podName: "memory-demo-7c9f",
        namespace: "mem-example",
        podUid: POD_UID,
        qosClass: "Burstable",
        qosSource: "cgroup-path",
      },
    });
  });
});

describe("cgroup v2 (fixture tree)", () => {
  const UID_ = POD_UID.replace(/-/g, "_");
  const PATH = `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/cri-containerd-9e8d.scope`;
  const MOUNT =
    "40 30 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";

  function v2Pod(): FixtureTree {
    const c = "sys/fs/cgroup";
    return tree({
      "proc/self/cgroup": `0::${PATH}\n`,
      "proc/self/mountinfo": MOUNT,
      [`${c}/cgroup.controllers`]: "cpuset cpu io memory hugetlb pids rdma misc\n",
      ...v2Files(`${c}/kubepods.slice`, { max: 3 * 1024 * MiB }),
      ...v2Files(`${c}/kubepods.slice/kubepods-besteffort.slice`, {}),
      ...v2Files(`${c}/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice`, {
        max: 128 * MiB,
      }),
      ...v2Files(`${c}${PATH}`, { current: 120 * MiB, inactiveFile: 8 * MiB, oom: 3, oomKill: 1 }),
    });
  }

  it("reads memory.current, inactive_file, memory.events and the pod slice's limit", () => {
    const t = v2Pod();
    const info = detectCgroup(t.proc, t.sys);
    expect(info?.version).toBe(2);
    expect(info?.dir).toBe(`${t.sys}/fs/cgroup${PATH}`);
    expect(readCgroupSample(info)).toEqual({
      version: 2,
      limitBytes: 128 * MiB,
      usageBytes: 120 * MiB,
      inactiveFileBytes: 8 * MiB,
      workingSetBytes: 112 * MiB,
      oomEvents: 3,
      oomKillEvents: 1,
    });
  });

  it("tells BestEffort, the pod UID (slice form) and containerd from the path", () => {
    const env = detectRuntimeEnvironment({
      rootDir: "/nonexistent",
      env: {},
      cgroupPath: PATH,
      oomScoreAdj: 1000,
    });
    expect(env.containerRuntime).toBe("containerd");
    expect(env.kubernetes).toEqual({
      podName: null,
      namespace: null,
      podUid: POD_UID,
      qosClass: "BestEffort",
      qosSource: "cgroup-path",
    });
  });

  it("under a cgroup namespace (0::/) uses the mount root and infers QoS from oom_score_adj", () => {
    const t = tree({
      "proc/self/cgroup": "0::/\n",
      "proc/self/mountinfo": MOUNT,
      "sys/fs/cgroup/cgroup.controllers": "cpu io memory pids\n",
      ...v2Files("sys/fs/cgroup", { max: 512 * MiB, current: 100 * MiB, inactiveFile: 0 }),
    });
    const sample = readCgroupSample(detectCgroup(t.proc, t.sys));
    expect(sample.limitBytes).toBe(512 * MiB);
    expect(sample.workingSetBytes).toBe(100 * MiB);
    const env = detectRuntimeEnvironment({
      rootDir: "/nonexistent",
      env: { KUBERNETES_SERVICE_HOST: "10.96.0.1", HOSTNAME: "leak-target-90" },
      cgroupPath: "/",
      oomScoreAdj: -997,
    });
    expect(env.kubernetes?.qosClass).toBe("Guaranteed");
    expect(env.kubernetes?.qosSource).toBe("oom-score-adj");
    expect(env.kubernetes?.podName).toBe("leak-target-90");
  });

  it("prefers v2 on a hybrid host only when no v1 hierarchy has the memory controller", () => {
    const t = tree({
      "proc/self/cgroup": "5:pids:/user.slice\n0::/user.slice/session-1.scope\n",
      "proc/self/mountinfo": MOUNT,
      "sys/fs/cgroup/cgroup.controllers": "memory pids\n",
      ...v2Files("sys/fs/cgroup/user.slice", { max: 2048 * MiB }),
      ...v2Files("sys/fs/cgroup/user.slice/session-1.scope", { current: 10 * MiB }),
    });
    const sample = readCgroupSample(detectCgroup(t.proc, t.sys));
    expect(sample.version).toBe(2);
    expect(sample.limitBytes).toBe(2048 * MiB);
  });

  it("returns null (and null numbers) when no memory controller is found", () => {
    const t = tree({ "proc/self/cgroup": "0::/\n", "sys/fs/cgroup/cgroup.controllers": "cpu pids\n" });
    const info = detectCgroup(t.proc, t.sys);
    expect(info).toBeNull();
    expect(readCgroupSample(info)).toEqual({
      version: null,
      limitBytes: null,
      usageBytes: null,
      inactiveFileBytes: null,
      workingSetBytes: null,
      oomEvents: null,
      oomKillEvents: null,
    });
  });
});

describe("page size, THP, status", () => {
  function auxv(entries: Array<[number, number]>): Buffer {
    const buf = Buffer.alloc((entries.length + 1) * 16);
    entries.forEach(([type, value], i) => {
      buf.writeBigUInt64LE(BigInt(type), i * 16);
      buf.writeBigUInt64LE(BigInt(value), i * 16 + 8);
    });
    return buf;
  }

  it("reads AT_PAGESZ from the auxiliary vector (a 16 KiB arm64 kernel)", () => {
    const t = tree({
      "proc/self/auxv": auxv([
        [33, 0x7fff0000],
        [16, 0xbfebfbff],
        [6, 16384],
        [17, 100],
      ]),
    });
    expect(detectPageSize(t.proc, false)).toEqual({ pageSize: 16384, source: "auxv" });
  });

  it("falls back to smaps KernelPageSize, then to an announced guess", () => {
    const t = tree({
      "proc/self/smaps":
        "55d0-55d1 r--p 00000000 08:01 1 /usr/bin/node\nSize: 64 kB\nKernelPageSize:       64 kB\n",
    });
    expect(detectPageSize(t.proc, false)).toEqual({ pageSize: 65536, source: "smaps" });
    const empty = tree({});
    expect(detectPageSize(empty.proc, false)).toEqual({ pageSize: 4096, source: "assumed" });
  });

  it("matches getconf PAGESIZE on this machine", async () => {
    const { execFileSync } = await import("node:child_process");
    const expected = Number(execFileSync("getconf", ["PAGESIZE"], { encoding: "utf8" }).trim());
    expect(detectPageSize("/proc").pageSize).toBe(expected);
  });

  it("reads the bracketed THP mode", () => {
    const t = tree({ "sys/kernel/mm/transparent_hugepage/enabled": "[always] madvise never\n" });
    expect(readThpMode(t.sys)).toBe("always");
    expect(readThpMode(`${t.root}/none`)).toBeNull();
  });
});
