import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { constants as bufferConstants } from "node:buffer";
import { createServer, type AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { parseDuration } from "../src/commands/leak-memory.js";
import { runCli } from "./helpers.js";

const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const MiB = 2 ** 20;

interface Sample {
  phase: string;
  block: number;
  allocatedBytes: number;
  touchedBytes: number;
  rssBytes: number;
  oomScoreAdj: number | null;
  cgroup: { version: number | null; limitBytes: number | null; workingSetBytes: number | null };
}

const parseLines = (text: string): Sample[] =>
  text
    .trimEnd()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Sample);

describe("leak-memory flags", () => {
  const maxBlockMb = Math.floor(bufferConstants.MAX_LENGTH / MiB);
  // Every limit on a value is the library's: the command names the flag and the value given.
  const bad: Array<[string[], RegExp]> = [
    [["-x", "-5"], /--max-mb '-5': maxBytes must be a number from 0/],
    [["-x", "NaN"], /--max-mb 'NaN': maxBytes must be/],
    [["-x", "10", "-m", "0"], /--block-mb '0': blockBytes must be a whole number from 1 to/],
    [["-x", "10", "-m", "-3"], /--block-mb '-3'/],
    [
      ["-x", "10", "-m", String(maxBlockMb + 1)],
      new RegExp(
        `--block-mb '${maxBlockMb + 1}': blockBytes must be a whole number from 1 to ${bufferConstants.MAX_LENGTH} `,
      ),
    ],
    [["-x", "10", "-f", "1.5"], /--fill '1.5': fill must be a number from 0 to 1 \(got 1.5\)/],
    [["-x", "10", "-f", "NaN"], /--fill 'NaN'/],
    [["-x", "10", "-f", "-0.1"], /--fill '-0.1'/],
    [["-x", "10", "-e", "-1"], /--delay-ms '-1': delayMs must be/],
    [["-x", "10", "-p", "0"], /--print-every must be a whole number/],
    [[], /--max-mb \(-x\) is required/],
    [["--target", "150%"], /--target '150%': targetPercent must be a number above 0 and at most 100/],
    [["--target", "abc"], /--target 'abc': targetPercent/],
    [["--target", "90%", "-f", "0"], /--target '90%': targetPercent needs a fill above 0/],
    [["-x", "10", "--ramp", "10s", "-e", "100"], /--ramp '10s': rampMs and delayMs cannot be combined/],
    [["-x", "0", "--ramp", "10s"], /--ramp '10s': rampMs needs an amount to spread/],
    [["-x", "10", "--hold", "soon"], /--hold must be a duration/],
    [["-x", "10", "--sample-interval", "0ms"], /--sample-interval '0ms': holdSampleIntervalMs must be/],
    [["-x", "10", "--oom-score-adj", "1001"], /--oom-score-adj '1001': oomScoreAdj must be a whole number/],
    [
      ["-x", "10", "--metrics-port", "70000"],
      /--metrics-port '70000': port must be a whole number from 0 to 65535/,
    ],
    [["-x", "10", "--after-hold", "later"], /Allowed choices are exit, release/],
    [["-x", "10", "-o", "csv"], /not csv/],
    [["-x", "10", "--out", "samples.json"], /stdout only/],
  ];
  for (const [args, message] of bad) {
    it(`exits 2 on ${args.join(" ") || "no -x"}`, async () => {
      const result = await runCli(["leak-memory", ...args]);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(message);
    });
  }

  it("parses durations", () => {
    expect(parseDuration("500ms", "--hold")).toBe(500);
    expect(parseDuration("30", "--hold")).toBe(30_000);
    expect(parseDuration("1.5m", "--hold")).toBe(90_000);
    expect(parseDuration("2h", "--hold")).toBe(7_200_000);
  });
});

describe("leak-memory in-process", () => {
  it("--json writes only samples: start, allocated/touched per block, holding", async () => {
    const result = await runCli(["leak-memory", "-m", "2", "-f", "0.5", "-x", "5", "--hold", "0", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const samples = parseLines(result.stdout);
    expect(samples.map((s) => `${s.phase}:${s.block}`)).toEqual([
      "start:0",
      "allocated:1",
      "touched:1",
      "allocated:2",
      "touched:2",
      "allocated:3",
      "touched:3",
      "holding:3",
    ]);
    // ceil(5 / 2) = 3 blocks of 2 MiB, half of each touched.
    expect(samples.at(-1)).toMatchObject({ allocatedBytes: 6 * MiB, touchedBytes: 3 * MiB });
    expect(samples[1]).toMatchObject({ allocatedBytes: 2 * MiB, touchedBytes: 0 });
    expect(Object.keys(samples[0]!)).toEqual([
      "t",
      "phase",
      "block",
      "allocatedBytes",
      "touchedBytes",
      "rssBytes",
      "heapUsedBytes",
      "externalBytes",
      "oomScore",
      "oomScoreAdj",
      "cgroup",
    ]);
    expect(Object.keys(samples[0]!.cgroup)).toEqual([
      "version",
      "limitBytes",
      "usageBytes",
      "inactiveFileBytes",
      "workingSetBytes",
      "oomEvents",
      "oomKillEvents",
    ]);
    expect(result.stderr).toMatch(/Will allocate 3 blocks of 2 MiB \(touched 50%\)/);
  });

  it("prints a line per -p blocks for people, then the completion line", async () => {
    const result = await runCli(["leak-memory", "-m", "1", "-x", "4", "-p", "2", "--hold", "0"]);
    expect(result.code, result.stderr).toBe(0);
    const blocks = result.stdout.split("\n").filter((l) => l.startsWith("Block #"));
    expect(blocks.map((l) => l.split("  ")[0])).toEqual(["Block #2", "Block #4"]);
    expect(blocks[1]).toMatch(
      /\+1 MiB \(touched 100%\)\s+\[total allocated 4\.0 MiB \/ touched 4\.0 MiB\]\s+RSS/,
    );
    expect(result.stdout).toMatch(
      /^Will allocate 4 blocks of 1 MiB \(touched 100%\), as to hit a limit of 4\.0 MiB$/m,
    );
    expect(result.stdout).toMatch(
      /^Allocating memory complete \(cap\): 4\.0 MiB allocated, 4\.0 MiB touched/m,
    );
  });

  it("exits 3 when the metrics port is taken, before allocating", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "0.0.0.0", resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const result = await runCli(["leak-memory", "-x", "10", "--metrics-port", String(port), "--json"]);
      expect(result.code).toBe(3);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(new RegExp(`--metrics-port '${port}': .*EADDRINUSE`));
    } finally {
      blocker.close();
    }
  });

  it("exits 130 when interrupted while holding", async () => {
    const controller = new AbortController();
    const result = await runCli(["leak-memory", "-m", "1", "-x", "2", "--json"], {
      signal: controller.signal,
      // Interrupt once it holds, however long getting there takes on a loaded machine.
      onStdout: (text) => {
        if (text.includes('"phase":"holding"')) controller.abort();
      },
    });
    expect(result.code).toBe(130);
    expect(parseLines(result.stdout).at(-1)?.phase).toBe("holding");
  });
});

describe("leak-memory, the built binary", () => {
  const children: ChildProcessWithoutNullStreams[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill("SIGKILL");
  });

  /** Keeps a child's stdout and stderr as they arrive; afterEach kills it if the test did not. */
  function capture(child: ChildProcessWithoutNullStreams): {
    child: ChildProcessWithoutNullStreams;
    stdout: () => string;
    stderr: () => string;
  } {
    children.push(child);
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString("utf8");
    });
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString("utf8");
    });
    return { child, stdout: () => out, stderr: () => err };
  }

  const start = (args: string[]) =>
    capture(spawn(process.execPath, [BIN, "leak-memory", ...args], { env: { PATH: process.env.PATH } }));

  const until = async (check: () => boolean): Promise<void> => {
    for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
    if (!check()) throw new Error("condition not reached in 10 s");
  };
  const exited = (child: ChildProcessWithoutNullStreams) =>
    new Promise<[number | null, string | null]>((resolve) => child.once("close", (c, s) => resolve([c, s])));

  it("SIGTERM while holding ends it cleanly (exit 130), every line complete", async () => {
    const run = start(["-m", "4", "-x", "8", "--json", "--oom-score-adj", "500"]);
    await until(() => run.stdout().includes('"phase":"holding"'));
    const done = exited(run.child);
    run.child.kill("SIGTERM");
    expect(await done).toEqual([130, null]);
    const samples = parseLines(run.stdout());
    expect(samples.at(-1)).toMatchObject({ phase: "holding", allocatedBytes: 8 * MiB, oomScoreAdj: 500 });
  }, 30_000);

  it("serves Prometheus metrics read at scrape time", async () => {
    const run = start(["-m", "4", "-x", "8", "--metrics-port", "0", "--json"]);
    await until(
      () => /metrics at http:\/\/[^:]+:(\d+)\/metrics/.test(run.stderr()) && run.stdout().includes("holding"),
    );
    const port = /metrics at http:\/\/[^:]+:(\d+)\/metrics/.exec(run.stderr())![1];
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.status).toBe(200);
    const body = await response.text();
    expect(body).toMatch(/^leaker_allocated_bytes 8388608$/m);
    expect(body).toMatch(/^leaker_touched_bytes 8388608$/m);
    expect(body).toMatch(/^process_resident_memory_bytes \d+/m);
    const done = exited(run.child);
    run.child.kill("SIGINT");
    expect((await done)[0]).toBe(130);
  }, 30_000);

  it("a real allocation failure (ulimit -v) is a RangeError sample, then exit 1 with --on-alloc-failure exit", async () => {
    // Without overcommit to hide it (as under ulimit -v or vm.overcommit_memory=2), malloc fails and
    // V8 throws "RangeError: Array buffer allocation failed".
    const script = `ulimit -v 2000000 && exec "$0" "$@"`;
    const args = [BIN, "leak-memory", "-m", "64", "-x", "0", "--on-alloc-failure", "exit", "--json"];
    const run = capture(
      spawn("sh", ["-c", script, process.execPath, ...args], { env: { PATH: process.env.PATH } }),
    );
    expect(await exited(run.child)).toEqual([1, null]);
    const samples = parseLines(run.stdout()) as Array<Sample & { error?: string }>;
    const last = samples.at(-1)!;
    expect(last.phase).toBe("allocation-failed");
    // Node 20 says "Array buffer allocation failed", Node 24 "Failed to allocate memory".
    expect(last.error).toMatch(
      /^RangeError: (Array buffer allocation failed|Failed to allocate memory) \(block \d+, 67108864 bytes\)$/,
    );
    expect(last.allocatedBytes).toBeGreaterThan(0);
    expect(last.allocatedBytes).toBeLessThan(2_000_000 * 1024);
    expect(run.stderr()).toMatch(
      /allocation failed after \d+\.\d MiB; exiting as --on-alloc-failure exit asks/,
    );
  }, 60_000);

  it("--pause waits for Enter before allocating", async () => {
    const run = start(["-m", "1", "-x", "1", "--hold", "0", "-b", "--json"]);
    await until(() => run.stderr().includes("Press Enter"));
    expect(parseLines(run.stdout()).map((s) => s.phase)).toEqual(["start"]);
    const done = exited(run.child);
    run.child.stdin.write("\n");
    expect(await done).toEqual([0, null]);
    expect(parseLines(run.stdout()).map((s) => s.phase)).toEqual([
      "start",
      "allocated",
      "touched",
      "holding",
    ]);
  }, 30_000);
});
