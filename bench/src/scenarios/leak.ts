import {
  type ChildProcess,
  type ChildProcessWithoutNullStreams,
  execFileSync,
  spawn,
} from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
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

/**
 * The floor: the same bytes made resident by a bare loop, with nothing of the leaker around it (no
 * options, no samples, no /proc or cgroup reads): allocate each block with Buffer.allocUnsafeSlow and
 * touch every page, through the same native populate helper the leaker uses (with the same huge
 * page hint) or one JavaScript write per page when the leaker writes. It waits for a line on stdin
 * and says "done" when every block is resident, so it is timed exactly like the leaker.
 */
const FLOOR_CHILD = `
import { writeSync } from "node:fs";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
const [helper, total, block, pageSize, hugePageBytes] = process.argv.slice(1);
const populate = helper === "" ? null : createRequire(helper)(helper).populate;
const lines = createInterface({ input: process.stdin });
const go = new Promise((resolve) => lines.once("line", resolve));
writeSync(1, JSON.stringify({ phase: "start" }) + "\\n");
await go;
const blocks = [];
const size = Number(block);
const page = Number(pageSize);
const pages = Math.ceil(size / page);
for (let done = 0; done < Number(total); done += size) {
  const b = Buffer.allocUnsafeSlow(size);
  if (populate === null || !populate(b, pages, page, Number(hugePageBytes))) {
    for (let o = 0; o < size; o += page) b[o] = 1;
  }
  blocks.push(b);
}
writeSync(1, JSON.stringify({ phase: "done", touchedBytes: blocks.length * size }) + "\\n");
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

const pageSize = (): number => Number(execFileSync("getconf", ["PAGESIZE"], { encoding: "utf8" }).trim());

/**
 * Spawns `node -e script ...args`, waits for its `start` line, reads its VmRSS, sends "go" and times
 * until its `endPhase` line; then reads VmRSS again. The leaker and the floor are timed by this one
 * function, so the ratio between them compares like with like.
 */
async function timeChild(
  script: string,
  args: string[],
  endPhase: string,
): Promise<{ ms: number; residentBytes: number; last: ChildSample }> {
  const child = spawn(process.execPath, ["--input-type=module", "-e", script, ...args]);
  try {
    await nextPhase(child, "start");
    const before = statusBytes(child.pid!, "VmRSS");
    const end = nextPhase(child, endPhase);
    const started = performance.now();
    child.stdin.write("go\n");
    const last = await end;
    const ms = performance.now() - started;
    return { ms, residentBytes: statusBytes(child.pid!, "VmRSS") - before, last };
  } finally {
    await stop(child);
  }
}

/** Time from "go" to the leaker's `holding` sample, and resident growth read from /proc. */
async function runLeaker(
  fill: number,
  blockBytes: number,
  touchMethod: "auto" | "write",
): Promise<LeakRunResult> {
  const library = import.meta.resolve("@cloudadmin/memory-leaker");
  const options = { blockBytes, fill, maxBytes: TOTAL, touchMethod };
  const { ms, residentBytes, last } = await timeChild(CHILD, [library, JSON.stringify(options)], "holding");
  const expectedBytes =
    (TOTAL / blockBytes) * Math.round(Math.ceil(blockBytes / pageSize()) * fill) * pageSize();
  if (last.touchedBytes !== expectedBytes)
    throw new Error(`leaker touched ${last.touchedBytes}, expected ${expectedBytes}`);
  return { ms, residentBytes, expectedBytes, touchMethod: last.touchMethod };
}

/**
 * The native populate helper the leaker loads (built at install by node-gyp), or "" when it was not
 * built; and the huge page size the leaker asks for (THP in `madvise` mode), else 0.
 */
function populateSetup(): { helper: string; hugePageBytes: number } {
  const helper = fileURLToPath(
    new URL("../build/Release/populate.node", import.meta.resolve("@cloudadmin/memory-leaker")),
  );
  let hugePageBytes = 0;
  try {
    const thp = readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8");
    if (/\[madvise\]/.test(thp)) {
      hugePageBytes = Number(
        readFileSync("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "utf8").trim(),
      );
    }
  } catch {
    // No THP on this kernel: no hint.
  }
  return { helper: existsSync(helper) ? helper : "", hugePageBytes };
}

/** The bare loop of {@link FLOOR_CHILD}: the same 2 GiB in the same blocks, by the same touch method. */
async function runFloor(blockBytes: number, touchMethod: string): Promise<LeakRunResult> {
  const { helper, hugePageBytes } = populateSetup();
  const args = [
    touchMethod === "populate" ? helper : "",
    String(TOTAL),
    String(blockBytes),
    String(pageSize()),
    String(hugePageBytes),
  ];
  const { ms, residentBytes, last } = await timeChild(FLOOR_CHILD, args, "done");
  if (last.touchedBytes !== TOTAL) throw new Error(`floor touched ${last.touchedBytes}, expected ${TOTAL}`);
  return { ms, residentBytes, expectedBytes: TOTAL, touchMethod };
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

const ROUNDS = 3;

async function runLeakScenario(ctx: BenchContext): Promise<BenchResult> {
  // Page-fault throughput on a VM swings with what the host is doing, and above all with what ran
  // just before: with THP in `madvise` mode the populate helper asks for huge pages, and a run that
  // follows one which freed 2 GiB of 4 KiB pages (stress-ng) spends seconds compacting memory, while
  // one that follows a huge-page run takes a few hundred ms (measured here: the same bare loop took
  // 3-6 s after stress-ng and 0.2-0.3 s after the leaker). So every timed run has the same kind of
  // predecessor: each round is stress-ng, one untimed bare run to settle memory, the leaker, then
  // the floor; and each of the three keeps its best of three.
  const best = <T extends { ms: number }>(a: T | null, b: T | null): T | null =>
    a === null || (b !== null && b.ms < a.ms) ? b : a;
  const withStressNg = stressNgAvailable(ctx);
  let full: LeakRunResult | null = null;
  let floor: LeakRunResult | null = null;
  let stressNg: { ms: number; residentBytes: number } | null = null;
  const fullRuns: number[] = [];
  const floorRuns: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const step = `round ${i + 1} of ${ROUNDS}`;
    if (withStressNg) {
      ctx.log(`${step}: stress-ng --vm 1 --vm-bytes 2g --vm-keep`);
      stressNg = best(stressNg, await runStressNg(ctx.signal));
    }
    const method = full?.touchMethod ?? (populateSetup().helper === "" ? "write" : "populate");
    ctx.log(`${step}: settling memory with one bare run (not timed)`);
    await runFloor(BLOCK, method);
    ctx.log(`${step}: the leaker, 2 GiB at fill 1.0 in ${BLOCK / MiB} MiB blocks`);
    const run = await runLeaker(1, BLOCK, "auto");
    fullRuns.push(round(run.ms));
    full = best(full, run);
    ctx.log(`${step}: the floor, the same blocks by a bare loop (${run.touchMethod})`);
    const bare = await runFloor(BLOCK, run.touchMethod);
    floorRuns.push(round(bare.ms));
    floor = best(floor, bare);
  }
  if (full === null || floor === null) throw new Error("no leaker or floor run completed");
  ctx.log(`2 GiB at fill 0.25 in ${BLOCK / MiB} MiB blocks`);
  const quarter = await runLeaker(0.25, BLOCK, "auto");
  ctx.log("2 GiB at fill 1.0 with one JavaScript write per page (the fallback without the native helper)");
  const written = await runLeaker(1, BLOCK, "write");

  const within = (r: LeakRunResult): boolean =>
    Math.abs(r.residentBytes - r.expectedBytes) <= TOLERANCE * r.expectedBytes;
  if (!within(floor))
    ctx.log(`the floor made ${floor.residentBytes} bytes resident, not ${TOTAL}: its bound is suspect`);
  const throughput = (bytes: number, ms: number): number => round(bytes / MiB / (ms / 1000));
  const detail = (r: LeakRunResult) => ({
    ms: round(r.ms),
    residentBytes: r.residentBytes,
    expectedBytes: r.expectedBytes,
    mibPerSecond: throughput(r.residentBytes, r.ms),
  });
  // No model: the bound is measured, apart from the run it bounds. It is the bare loop's best time
  // for the same bytes, blocks and touch method (what any leaker in Node must at least spend here);
  // the leaker's own runs never enter it, so a ratio of 1 means "no overhead", not "fastest run".
  const extra = {
    touchMethod: full.touchMethod,
    fill1: detail(full),
    fill1Runs: fullRuns,
    floor: { ...detail(floor), touchMethod: floor.touchMethod, runs: floorRuns },
    fill025: detail(quarter),
    fill1Write: detail(written),
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
  return {
    ...extra,
    scenario: "leak",
    wallMs: round(full.ms),
    lowerBoundMs: round(floor.ms),
    boundModelMs: 0,
    boundCpuMs: round(floor.ms),
    ratioToBound: round(full.ms / floor.ms, 3),
    baselineMs: stressNg === null ? 0 : round(stressNg.ms),
    speedupVsBaseline: stressNg === null ? 0 : round(stressNg.ms / full.ms, 2),
    requests: 0,
    throttled: 0,
    retries: 0,
    correct: within(full) && within(quarter) && within(written),
  };
}

/** Benchmark `leak` (SPEC section 8). */
export const scenarios: Scenario[] = [
  {
    name: "leak",
    description:
      "2 GiB resident at fill 1.0 and 0.25 (time, resident vs expected) against a bare allocate-and-touch loop (the bound) and beside stress-ng --vm 1 --vm-bytes 2g --vm-keep",
    run: runLeakScenario,
  },
];
