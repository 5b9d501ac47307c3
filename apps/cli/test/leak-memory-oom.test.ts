import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { detectCgroup } from "@cloudadmin/memory-leaker";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const MiB = 2 ** 20;
const LIMIT = 128 * MiB;
const BLOCK = 8 * MiB;

interface Cgroup {
  version: 1 | 2;
  dir: string;
  oomKills(): number;
  remove(): void;
}

/**
 * A child memory cgroup with `limit` bytes and no swap, under this process's own memory cgroup (v1)
 * or under the first of its cgroup and the hierarchy root that can delegate the memory controller
 * (v2). Returns the reason when cgroups are not writable here.
 */
function createMemoryCgroup(limit: number, name: string): Cgroup | string {
  if (process.platform !== "linux") return `cgroups are Linux-only (this is ${process.platform})`;
  const own = detectCgroup("/proc", "/sys");
  if (own === null) return "no memory cgroup hierarchy is mounted";
  const reasons: string[] = [];
  for (const parent of own.version === 1 ? [own.dir] : [own.dir, own.mountDir]) {
    const dir = join(parent, name);
    try {
      if (own.version === 2) {
        const delegated = readFileSync(join(parent, "cgroup.subtree_control"), "utf8").split(/\s+/);
        if (!delegated.includes("memory")) writeFileSync(join(parent, "cgroup.subtree_control"), "+memory");
      }
      if (existsSync(dir)) rmdirSync(dir);
      mkdirSync(dir);
      const set = (file: string, value: string): void => {
        if (existsSync(join(dir, file))) writeFileSync(join(dir, file), value);
      };
      if (own.version === 1) {
        writeFileSync(join(dir, "memory.limit_in_bytes"), String(limit));
        set("memory.memsw.limit_in_bytes", String(limit));
        set("memory.swappiness", "0");
      } else {
        writeFileSync(join(dir, "memory.max"), String(limit));
        set("memory.swap.max", "0");
      }
    } catch (error) {
      reasons.push(`cannot create a memory cgroup under ${parent}: ${(error as Error).message}`);
      try {
        if (existsSync(dir)) rmdirSync(dir);
      } catch {
        // Nothing more to undo.
      }
      continue;
    }
    const events = own.version === 1 ? "memory.oom_control" : "memory.events";
    return {
      version: own.version,
      dir,
      oomKills: () => Number(/^oom_kill (\d+)$/m.exec(readFileSync(join(dir, events), "utf8"))?.[1] ?? 0),
      remove: () => {
        for (let i = 0; i < 100; i++) {
          try {
            rmdirSync(dir);
            return;
          } catch {
            // The killed process is still leaving the cgroup.
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
          }
        }
      },
    };
  }
  return reasons.join("; ");
}

describe("cloudadmin leak-memory under a 128 MiB memory cgroup", () => {
  it("is OOM-killed (SIGKILL, 137), the cgroup counts one oom_kill, the last sample is near the limit", async (context) => {
    const cgroup = createMemoryCgroup(LIMIT, `cloudadmin-cli-oom-${process.pid}`);
    if (typeof cgroup === "string") {
      console.warn(`skipping the real OOM-kill test: ${cgroup}`);
      context.skip(cgroup);
      return;
    }
    try {
      const before = cgroup.oomKills();
      // The shell moves itself into the cgroup, then becomes the CLI (exec), so the CLI is the only
      // process there and its exit status is the kernel's verdict.
      const script = `echo $$ > ${join(cgroup.dir, "cgroup.procs")} && exec "$0" "$@"`;
      const child = spawn(
        "sh",
        [
          "-c",
          script,
          process.execPath,
          BIN,
          "leak-memory",
          "-m",
          "8",
          "-x",
          "0",
          "--json",
          "--oom-score-adj",
          "1000",
        ],
        { env: { PATH: process.env.PATH } },
      );
      let stdout = "";
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString("utf8");
      });
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.once("close", (c, s) => resolve([c, s])),
      );
      // Killed by SIGKILL, which a shell or the kubelet reports as exit 137 (128 + 9).
      expect({ code, signal }).toEqual({ code: null, signal: "SIGKILL" });
      expect(cgroup.oomKills()).toBe(before + 1);

      // Every line is complete JSON: each was written synchronously before the next touch.
      const samples = stdout
        .trimEnd()
        .split("\n")
        .map(
          (line) =>
            JSON.parse(line) as { phase: string; oomScoreAdj: number; cgroup: Record<string, number> },
        );
      expect(samples[0]!.phase).toBe("start");
      const last = samples.at(-1)!;
      expect(last.oomScoreAdj).toBe(1000);
      expect(last.cgroup.version).toBe(cgroup.version);
      expect(last.cgroup.limitBytes).toBe(LIMIT);
      expect(last.cgroup.workingSetBytes).toBeGreaterThan(LIMIT - 3 * BLOCK);
      expect(last.cgroup.workingSetBytes).toBeLessThanOrEqual(LIMIT);
    } finally {
      cgroup.remove();
    }
  }, 120_000);

  it("--target 90% stops just under 90% of a 256 MiB cgroup limit and holds there, not killed", async (context) => {
    const limit = 256 * MiB;
    const cgroup = createMemoryCgroup(limit, `cloudadmin-cli-target-${process.pid}`);
    if (typeof cgroup === "string") {
      console.warn(`skipping the cgroup target test: ${cgroup}`);
      context.skip(cgroup);
      return;
    }
    try {
      const script = `echo $$ > ${join(cgroup.dir, "cgroup.procs")} && exec "$0" "$@"`;
      const args = ["leak-memory", "--target", "90%", "-m", "16", "--hold", "0", "--json"];
      const child = spawn("sh", ["-c", script, process.execPath, BIN, ...args], {
        env: { PATH: process.env.PATH },
      });
      let stdout = "";
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString("utf8");
      });
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.once("close", (c, s) => resolve([c, s])),
      );
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      const samples = stdout
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line) as { phase: string; cgroup: Record<string, number> });
      const holding = samples.find((s) => s.phase === "holding")!;
      expect(holding.cgroup.limitBytes).toBe(limit);
      // Within one page-rounded step of the target: the last block is shrunk to land on it.
      expect(holding.cgroup.workingSetBytes).toBeGreaterThan(0.88 * limit);
      expect(holding.cgroup.workingSetBytes).toBeLessThanOrEqual(0.92 * limit);
      expect(cgroup.oomKills()).toBe(0);
    } finally {
      cgroup.remove();
    }
  }, 120_000);
});
