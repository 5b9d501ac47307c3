import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { detectCgroup } from "../src/cgroup.js";

/** A child memory cgroup made for one test, or the reason none could be made here. */
export type MemoryCgroup =
  | {
      ok: true;
      version: 1 | 2;
      dir: string;
      /** Shell prefix that moves the shell into the cgroup before it execs the command. */
      enterScript: string;
      /** The cgroup's oom_kill counter (v1 memory.oom_control, v2 memory.events). */
      oomKills(): number;
      remove(): void;
    }
  | { ok: false; reason: string };

function counter(text: string, key: string): number {
  const match = new RegExp(`^${key} (\\d+)$`, "m").exec(text);
  return match?.[1] === undefined ? 0 : Number(match[1]);
}

/**
 * Creates a child memory cgroup with the given limit under this process's own memory cgroup (v1),
 * or under the first ancestor that may delegate the memory controller (v2: the no-internal-process
 * rule forbids enabling controllers below a cgroup that holds processes, except at the root).
 * Swap is disabled for it so the limit ends in an OOM kill, not in swapping.
 */
export function createMemoryCgroup(limitBytes: number, name: string): MemoryCgroup {
  if (process.platform !== "linux")
    return { ok: false, reason: `cgroups are Linux-only (this is ${process.platform})` };
  const own = detectCgroup("/proc", "/sys");
  if (own === null) return { ok: false, reason: "no memory cgroup hierarchy is mounted" };
  const attempt = (parent: string): MemoryCgroup => {
    const dir = join(parent, name);
    try {
      if (own.version === 2) {
        const controllers = readFileSync(join(parent, "cgroup.subtree_control"), "utf8");
        if (!controllers.split(/\s+/).includes("memory"))
          writeFileSync(join(parent, "cgroup.subtree_control"), "+memory");
      }
      if (existsSync(dir)) rmdirSync(dir);
      mkdirSync(dir);
      if (own.version === 1) {
        writeFileSync(join(dir, "memory.limit_in_bytes"), String(limitBytes));
        if (existsSync(join(dir, "memory.memsw.limit_in_bytes"))) {
          writeFileSync(join(dir, "memory.memsw.limit_in_bytes"), String(limitBytes));
        }
        if (existsSync(join(dir, "memory.swappiness"))) writeFileSync(join(dir, "memory.swappiness"), "0");
      } else {
        writeFileSync(join(dir, "memory.max"), String(limitBytes));
        if (existsSync(join(dir, "memory.swap.max"))) writeFileSync(join(dir, "memory.swap.max"), "0");
      }
    } catch (error) {
      try {
        if (existsSync(dir)) rmdirSync(dir);
      } catch {
        // Nothing more to undo.
      }
      return {
        ok: false,
        reason: `cannot create a memory cgroup under ${parent}: ${(error as Error).message}`,
      };
    }
    const eventsFile = own.version === 1 ? "memory.oom_control" : "memory.events";
    return {
      ok: true,
      version: own.version,
      dir,
      enterScript: `echo $$ > ${join(dir, "cgroup.procs")} && exec`,
      oomKills: () => counter(readFileSync(join(dir, eventsFile), "utf8"), "oom_kill"),
      remove: () => {
        // The killed process may take a moment to leave; an empty cgroup is removed with rmdir.
        for (let i = 0; i < 50; i++) {
          try {
            rmdirSync(dir);
            return;
          } catch {
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
          }
        }
      },
    };
  };
  const first = attempt(own.dir);
  if (first.ok || own.version === 1) return first;
  const root = attempt(own.mountDir);
  return root.ok ? root : { ok: false, reason: `${first.reason}; ${root.reason}` };
}
