import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createMemoryCgroup } from "./cgroup-sandbox.js";

const CHILD = fileURLToPath(new URL("./fixtures/leak-child.mjs", import.meta.url));
const MiB = 2 ** 20;
const LIMIT = 128 * MiB;
const BLOCK = 8 * MiB;

describe("a real OOM kill in a 128 MiB memory cgroup", () => {
  it("is killed by SIGKILL, the cgroup counts one oom_kill, and the last sample was written", async (context) => {
    const cgroup = createMemoryCgroup(LIMIT, `cloudadmin-leak-oom-${process.pid}`);
    if (!cgroup.ok) {
      console.warn(`skipping the real OOM test: ${cgroup.reason}`);
      context.skip(cgroup.reason);
      return;
    }
    try {
      const before = cgroup.oomKills();
      const options = JSON.stringify({ blockBytes: BLOCK, fill: 1, maxBytes: 0, oomScoreAdj: 1000 });
      const child = spawn("sh", [
        "-c",
        `${cgroup.enterScript} "$0" "$1" "$2"`,
        process.execPath,
        CHILD,
        options,
      ]);
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString("utf8");
      });
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8");
      });
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.once("close", (c, s) => resolve([c, s])),
      );
      // Killed by SIGKILL: a shell and the kubelet report it as 137 (128 + 9).
      expect({ code, signal, stderr }).toEqual({ code: null, signal: "SIGKILL", stderr: "" });
      expect(cgroup.oomKills()).toBe(before + 1);

      const lines = stdout.trimEnd().split("\n");
      const samples = lines.map(
        (line) => JSON.parse(line) as { phase: string; cgroup: Record<string, number> },
      );
      const last = samples.at(-1)!;
      expect(samples[0]!.phase).toBe("start");
      expect(last.cgroup.version).toBe(cgroup.version);
      expect(last.cgroup.limitBytes).toBe(LIMIT);
      // The last line was written before the touch that was killed: within a few blocks of the limit.
      expect(last.cgroup.workingSetBytes).toBeGreaterThan(LIMIT - 3 * BLOCK);
      expect(last.cgroup.workingSetBytes).toBeLessThanOrEqual(LIMIT);
      expect(last.cgroup.oomKillEvents).toBe(before);
    } finally {
      cgroup.remove();
    }
  }, 120_000);
});
