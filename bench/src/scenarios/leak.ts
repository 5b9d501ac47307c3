import {
  type ChildProcess,
  type ChildProcessWithoutNullStreams,
  execFileSync,
  spawn,
} from "node:child_process";
import { readFileSync } from "node:fs";
import type { BenchContext, BenchResult, Scenario } from "../scenario.js";

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const TOTAL = 2 * GiB;
const BLOCK = 64 * MiB;
/** The share of expected resident bytes a run may be off by and still be `correct` (the target). */
const TOLERANCE = 0.02;

/**
 * The leaker runs in a child process so its resident memory is read from outside, from
 * /proc/<pid>/status, and nothing of the benchmark's own heap is counted. It waits for a line on
 * stdin before allocating (the baseline is read then) and writes every sample as a line.
 */
const CHILD = `
import { writeSync } from "node:fs";
import { createInterface } from "node:readline";
const { startLeak } = await import(process.argv[1]);
const options = JSON.parse(process.argv[2]);
const lines = createInterface({ input: process.stdin });
const go = new Promise((resolve) => lines.once("line", resolve));
const controller = new AbortController();
process.on("SIGTERM", () => controller.abort());
const run = startLeak({ ...options, signal: controller.signal, beforeAllocating: () => go });
for await (const s of run) {
  const line = { phase: s.phase, touchedBytes: s.touchedBytes, touchMethod: run.environment.touchMethod };
  writeSync(1, JSON.stringify(line) + "\\n");
}
lines.close();
`;

function statusBytes(pid: number, field: string): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(
      readFileSync(`/proc/${pid}/status`, "utf8"),
    );
    return match?.[1] === undefined ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

interface ChildSample {
  phase: string;
  touchedBytes: number;
  touchMethod: string;
}

function nextPhase(child: ChildProcessWithoutNullStreams, phase: string): Promise<ChildSample> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString("utf8");
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const sample = JSON.parse(buffer.slice(0, nl)) as ChildSample;
        buffer = buffer.slice(nl + 1);
        if (sample.phase === phase) {
          child.stdout.off("data", onData);
          resolve(sample);
          return;
        }
      }
    };
    child.stdout.on("data", onData);
    child.once("exit", (code, signal) =>
      reject(new Error(`leaker exited (${code ?? signal}) before '${phase}'`)),
    );
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

interface LeakRunResult {
  ms: number;
  residentBytes: number;
  expectedBytes: number;
  touchMethod: string;
}

/** Time from "go" to the leaker's `holding` sample, and resident growth read from /proc. */
async function runLeaker(
  fill: number,
  blockBytes: number,
  touchMethod: "auto" | "write",
): Promise<LeakRunResult> {
  const library = import.meta.resolve("@cloudadmin/memory-leaker");
  const options = { blockBytes, fill, maxBytes: TOTAL, touchMethod };
  const child = spawn(process.execPath, [
    "--input-type=module",
    "-e",
    CHILD,
    library,
    JSON.stringify(options),
  ]);
  try {
    await nextPhase(child, "start");
    const before = statusBytes(child.pid!, "VmRSS");
    const holding = nextPhase(child, "holding");
    const started = performance.now();
    child.stdin.write("go\n");
    const last = await holding;
    const ms = performance.now() - started;
    const residentBytes = statusBytes(child.pid!, "VmRSS") - before;
    const pageSize = Number(execFileSync("getconf", ["PAGESIZE"], { encoding: "utf8" }).trim());
    const expectedBytes =
      (TOTAL / blockBytes) * Math.round(Math.ceil(blockBytes / pageSize) * fill) * pageSize;
    if (last.touchedBytes !== expectedBytes)
      throw new Error(`leaker touched ${last.touchedBytes}, expected ${expectedBytes}`);
    return { ms, residentBytes, expectedBytes, touchMethod: last.touchMethod };
  } finally {
    await stop(child);
  }
}

function stressNgAvailable(ctx: BenchContext): boolean {
  const has = (): boolean => {
    try {
      execFileSync("stress-ng", ["--version"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  };
  if (has()) return true;
  if (process.getuid?.() !== 0) {
    ctx.log("stress-ng is missing and this is not root: no side-by-side run");
    return false;
  }
  ctx.log("stress-ng is missing: installing it from Debian (apt-get install stress-ng)");
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    try {
      execFileSync("apt-get", ["install", "-y", "-q", "stress-ng"], {
        stdio: "ignore",
        env,
        timeout: 120_000,
      });
    } catch {
      execFileSync("apt-get", ["update", "-q"], { stdio: "ignore", env, timeout: 120_000 });
      execFileSync("apt-get", ["install", "-y", "-q", "stress-ng"], {
        stdio: "ignore",
        env,
        timeout: 120_000,
      });
    }
  } catch (error) {
    ctx.log(`could not install stress-ng: ${(error as Error).message}`);
  }
  return has();
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * `stress-ng --vm 1 --vm-bytes 2g --vm-keep` (as SPEC section 8 has it): time from its worker's
 * start to the worker's VmRSS reaching 2 GiB (stress-ng maps 2 GiB, then prefaults and writes it).
 */
async function runStressNg(signal: AbortSignal): Promise<{ ms: number; residentBytes: number } | null> {
  // Its own process group, so that stopping it also stops the vm workers it forks.
  const child = spawn("stress-ng", ["--vm", "1", "--vm-bytes", "2g", "--vm-keep", "--timeout", "60"], {
    stdio: "ignore",
    detached: true,
  });
  try {
    let worker: number | undefined;
    let workerSeen = 0;
    const deadline = performance.now() + 60_000;
    while (performance.now() < deadline && !signal.aborted) {
      if (worker === undefined) {
        // The vm stressor runs in a grandchild (stress-ng main -> stressor -> oomable child) on
        // some versions: take the deepest descendant.
        const descendants = childrenOf(child.pid!).flatMap((pid) => [pid, ...childrenOf(pid)]);
        if (descendants.length > 0) {
          worker = descendants.at(-1);
          workerSeen = performance.now();
        }
      } else {
        const rss = statusBytes(worker, "VmRSS");
        if (rss >= TOTAL) return { ms: performance.now() - workerSeen, residentBytes: rss };
        const deeper = childrenOf(worker);
        if (deeper.length > 0) worker = deeper[0];
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return null;
  } finally {
    await stopGroup(child);
  }
}

/** SIGKILL to the whole process group, then waits until no process of the group is left. */
async function stopGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const exited =
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise((r) => child.once("exit", r));
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // The group is already gone.
  }
  await exited;
  for (let i = 0; i < 500; i++) {
    try {
      process.kill(-pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const round = (n: number, digits = 0): number => Math.round(n * 10 ** digits) / 10 ** digits;

async function runLeakScenario(ctx: BenchContext): Promise<BenchResult> {
  // One 2 GiB block: a single populate call, for the floor.
  ctx.log("calibrating: 2 GiB in one block");
  const floor = await runLeaker(1, TOTAL, "auto");
  // Page-fault throughput on a VM swings with what the host is doing (and with how fragmented memory
  // is after the scenarios before): the leaker and stress-ng each take the best of three, alternating.
  const best = <T extends { ms: number }>(a: T, b: T | null): T => (b !== null && b.ms < a.ms ? b : a);
  ctx.log(`2 GiB at fill 1.0 in ${BLOCK / MiB} MiB blocks (best of 3)`);
  let full = await runLeaker(1, BLOCK, "auto");
  ctx.log(`2 GiB at fill 0.25 in ${BLOCK / MiB} MiB blocks`);
  const quarter = await runLeaker(0.25, BLOCK, "auto");
  ctx.log("2 GiB at fill 1.0 with one JavaScript write per page (the fallback without the native helper)");
  const written = await runLeaker(1, BLOCK, "write");

  let stressNg: { ms: number; residentBytes: number } | null = null;
  const withStressNg = stressNgAvailable(ctx);
  for (let i = 0; i < 3; i++) {
    if (withStressNg) {
      ctx.log(`stress-ng --vm 1 --vm-bytes 2g --vm-keep (${i + 1} of 3)`);
      const r = await runStressNg(ctx.signal);
      if (r) stressNg = stressNg === null ? r : best(stressNg, r);
    }
    if (i < 2) full = best(full, await runLeaker(1, BLOCK, "auto"));
  }

  const within = (r: LeakRunResult): boolean =>
    Math.abs(r.residentBytes - r.expectedBytes) <= TOLERANCE * r.expectedBytes;
  const throughput = (bytes: number, ms: number): number => round(bytes / MiB / (ms / 1000));
  // There is no model here: the floor is measured, the fastest of the ways 2 GiB became resident on
  // this machine in this run (one 2 GiB block populated in one call, stress-ng, the blocked run).
  const lowerBoundMs = Math.min(floor.ms, full.ms, stressNg?.ms ?? Number.POSITIVE_INFINITY);
  return {
    scenario: "leak",
    wallMs: round(full.ms),
    lowerBoundMs: round(lowerBoundMs),
    boundModelMs: 0,
    boundCpuMs: round(lowerBoundMs),
    ratioToBound: round(full.ms / lowerBoundMs, 3),
    baselineMs: stressNg === null ? 0 : round(stressNg.ms),
    speedupVsBaseline: stressNg === null ? 0 : round(stressNg.ms / full.ms, 2),
    requests: 0,
    throttled: 0,
    retries: 0,
    correct: within(full) && within(quarter) && within(written),
    touchMethod: full.touchMethod,
    fill1: {
      ms: round(full.ms),
      residentBytes: full.residentBytes,
      expectedBytes: full.expectedBytes,
      mibPerSecond: throughput(full.residentBytes, full.ms),
    },
    fill025: {
      ms: round(quarter.ms),
      residentBytes: quarter.residentBytes,
      expectedBytes: quarter.expectedBytes,
      mibPerSecond: throughput(quarter.residentBytes, quarter.ms),
    },
    fill1Write: {
      ms: round(written.ms),
      residentBytes: written.residentBytes,
      expectedBytes: written.expectedBytes,
      mibPerSecond: throughput(written.residentBytes, written.ms),
    },
    stressNg:
      stressNg === null
        ? null
        : {
            ms: round(stressNg.ms),
            residentBytes: stressNg.residentBytes,
            mibPerSecond: throughput(TOTAL, stressNg.ms),
          },
    throughputVsStressNg: stressNg === null ? null : round(stressNg.ms / full.ms, 2),
  };
}

/** Benchmark `leak` (SPEC section 8). */
export const scenarios: Scenario[] = [
  {
    name: "leak",
    description:
      "2 GiB resident at fill 1.0 and 0.25 (time, resident vs expected) beside stress-ng --vm 1 --vm-bytes 2g --vm-keep",
    run: runLeakScenario,
  },
];
