import { existsSync } from "node:fs";
import { dirname, isAbsolute, join, relative } from "node:path";
import { parseKeyValues, readText } from "./proc.js";

/** The memory cgroup a process belongs to, as found under the `/proc` and `/sys` roots given. */
export interface CgroupInfo {
  version: 1 | 2;
  /** The path from `/proc/<pid>/cgroup` (`/kubepods/burstable/pod.../...`, or `/` under a cgroup namespace). */
  path: string;
  /** The directory of the process's memory cgroup (under the sys root). */
  dir: string;
  /** The directory where the memory hierarchy is mounted; ancestors are read up to it. */
  mountDir: string;
}

/** The cgroup numbers of SPEC section 4; each is null where the file cannot be read. */
export interface CgroupSample {
  version: 1 | 2 | null;
  /** The effective limit: the smallest among the cgroup and its readable ancestors; null = none. */
  limitBytes: number | null;
  /** v1 `memory.usage_in_bytes`, v2 `memory.current`. */
  usageBytes: number | null;
  /** v1 `total_inactive_file` (hierarchical), v2 `inactive_file`, from memory.stat. */
  inactiveFileBytes: number | null;
  /** What the kubelet and `kubectl top` use: max(0, usage - inactive_file). */
  workingSetBytes: number | null;
  /** v2 `memory.events` oom (the limit was hit and an allocation was about to fail). No v1 equivalent: null. */
  oomEvents: number | null;
  /** v2 `memory.events` oom_kill, v1 `memory.oom_control` oom_kill: processes killed by an OOM killer. */
  oomKillEvents: number | null;
}

/** cgroup v1 reports "no limit" as PAGE_COUNTER_MAX pages (0x7FFFFFFFFFFFF000 on 4 KiB pages). */
const V1_UNLIMITED = 2 ** 62;

interface MountEntry {
  root: string;
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const dash = line.indexOf(" - ");
    if (dash < 0) continue;
    const left = line.slice(0, dash).split(" ");
    const right = line.slice(dash + 3).split(" ");
    const root = left[3];
    const mountPoint = left[4];
    const fsType = right[0];
    if (root === undefined || mountPoint === undefined || fsType === undefined) continue;
    out.push({
      root: unescapeMount(root),
      mountPoint: unescapeMount(mountPoint),
      fsType,
      superOptions: (right[2] ?? "").split(","),
    });
  }
  return out;
}

function unescapeMount(value: string): string {
  return value.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** Maps a mount point seen by the process (`/sys/fs/cgroup/memory`) onto the sys root given. */
function underSysRoot(mountPoint: string, sysRoot: string): string {
  if (mountPoint === "/sys" || mountPoint.startsWith("/sys/")) return join(sysRoot, mountPoint.slice(4));
  return mountPoint;
}

/**
 * Finds the process's memory cgroup: v1 when a v1 hierarchy carries the memory controller (hybrid
 * systems mount v2 too, without memory), else v2. The directory is the cgroup path made relative to
 * the mount's root (from mountinfo), so it also works in containers whose mount root is their own
 * cgroup; when that directory does not exist, the mount root is used (the container's own cgroup).
 */
export function detectCgroup(
  procRoot: string,
  sysRoot: string,
  pid: number | "self" = "self",
): CgroupInfo | null {
  const cgroupText = readText(join(procRoot, String(pid), "cgroup"));
  if (cgroupText === null) return null;
  const mounts = parseMountInfo(readText(join(procRoot, String(pid), "mountinfo")) ?? "");

  let v1Path: string | null = null;
  let v2Path: string | null = null;
  for (const line of cgroupText.split("\n")) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    const controllers = match[2] ?? "";
    const path = match[3] ?? "/";
    if (match[1] === "0" && controllers === "") v2Path = path;
    else if (controllers.split(",").includes("memory")) v1Path = path;
  }

  if (v1Path !== null) {
    const mount = mounts.find((m) => m.fsType === "cgroup" && m.superOptions.includes("memory"));
    const mountDir = mount
      ? underSysRoot(mount.mountPoint, sysRoot)
      : join(sysRoot, "fs", "cgroup", "memory");
    if (existsSync(join(mountDir, "memory.usage_in_bytes"))) {
      return { version: 1, path: v1Path, dir: resolveDir(mountDir, mount?.root ?? "/", v1Path), mountDir };
    }
  }
  if (v2Path !== null) {
    const mount = mounts.find((m) => m.fsType === "cgroup2");
    const mountDir = mount ? underSysRoot(mount.mountPoint, sysRoot) : join(sysRoot, "fs", "cgroup");
    const controllers = readText(join(mountDir, "cgroup.controllers")) ?? "";
    if (controllers.split(/\s+/).includes("memory")) {
      return { version: 2, path: v2Path, dir: resolveDir(mountDir, mount?.root ?? "/", v2Path), mountDir };
    }
  }
  return null;
}

function resolveDir(mountDir: string, mountRoot: string, path: string): string {
  let rel = path;
  if (mountRoot !== "/" && (path === mountRoot || path.startsWith(`${mountRoot}/`)))
    rel = path.slice(mountRoot.length);
  const dir = join(mountDir, rel);
  return existsSync(dir) ? dir : mountDir;
}

/** The cgroup's own directory and its ancestors up to the mount root, innermost first. */
function lineage(info: CgroupInfo): string[] {
  const out = [info.dir];
  let dir = info.dir;
  while (dir !== info.mountDir) {
    const rel = relative(info.mountDir, dir);
    if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) break;
    dir = dirname(dir);
    out.push(dir);
  }
  return out;
}

function parseLimit(text: string | null, version: 1 | 2): number | null {
  if (text === null) return null;
  const value = text.trim();
  if (value === "" || value === "max") return null;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) return null;
  return version === 1 && n >= V1_UNLIMITED ? null : n;
}

/**
 * The effective memory limit: the smallest limit among the cgroup and every readable ancestor (a pod
 * cgroup's limit is the sum of its containers', the kubepods cgroup's is the node's allocatable
 * plus the hard eviction threshold). On v1, `hierarchical_memory_limit` in memory.stat also covers
 * ancestors a container cannot see.
 */
export function readEffectiveLimit(info: CgroupInfo): number | null {
  let limit: number | null = null;
  const consider = (value: number | null): void => {
    if (value !== null && (limit === null || value < limit)) limit = value;
  };
  for (const dir of lineage(info)) {
    consider(
      parseLimit(
        readText(join(dir, info.version === 1 ? "memory.limit_in_bytes" : "memory.max")),
        info.version,
      ),
    );
  }
  if (info.version === 1) {
    const stat = readText(join(info.dir, "memory.stat"));
    const hierarchical = stat === null ? undefined : parseKeyValues(stat).get("hierarchical_memory_limit");
    consider(hierarchical === undefined ? null : parseLimit(String(hierarchical), 1));
  }
  return limit;
}

/** Reads the cgroup numbers now (a few small files; cheap enough for every sample and scrape). */
export function readCgroupSample(info: CgroupInfo | null): CgroupSample {
  if (info === null) {
    return {
      version: null,
      limitBytes: null,
      usageBytes: null,
      inactiveFileBytes: null,
      workingSetBytes: null,
      oomEvents: null,
      oomKillEvents: null,
    };
  }
  const file = (name: string): string | null => readText(join(info.dir, name));
  const statText = file("memory.stat");
  const stat = statText === null ? null : parseKeyValues(statText);
  let usageBytes: number | null;
  let inactiveFileBytes: number | null;
  let oomEvents: number | null = null;
  let oomKillEvents: number | null = null;
  if (info.version === 1) {
    usageBytes = parseLimit(file("memory.usage_in_bytes"), 1);
    inactiveFileBytes = stat?.get("total_inactive_file") ?? stat?.get("inactive_file") ?? null;
    const oomControl = file("memory.oom_control");
    oomKillEvents = oomControl === null ? null : (parseKeyValues(oomControl).get("oom_kill") ?? null);
  } else {
    usageBytes = parseLimit(file("memory.current"), 2);
    inactiveFileBytes = stat?.get("inactive_file") ?? null;
    const eventsText = file("memory.events");
    if (eventsText !== null) {
      const events = parseKeyValues(eventsText);
      oomEvents = events.get("oom") ?? null;
      oomKillEvents = events.get("oom_kill") ?? null;
    }
  }
  const workingSetBytes =
    usageBytes === null
      ? null
      : Math.max(0, usageBytes - (inactiveFileBytes === null ? 0 : inactiveFileBytes));
  return {
    version: info.version,
    limitBytes: readEffectiveLimit(info),
    usageBytes,
    inactiveFileBytes,
    workingSetBytes,
    oomEvents,
    oomKillEvents,
  };
}
