import { writeSync } from "node:fs";
import { totalmem } from "node:os";
import { createInterface } from "node:readline";
import { CloudAdminError, ConfigError, UsageError } from "@cloudadmin/errors";
import type {
  LeakEnvironment,
  LeakOptionError,
  LeakRun,
  LeakSample,
  StartLeakOptions,
} from "@cloudadmin/memory-leaker";
import { Option } from "commander";
import type { CommandModule } from "../command-module.js";
import type { CommandContext } from "../context.js";
import { exitCodeForLeak } from "../exit-codes.js";
import type { OutStream } from "../io.js";

const MiB = 2 ** 20;

const EXAMPLES = `
Examples:
  cloudadmin leak-memory -m 10 -x 500                 10 MiB blocks up to 500 MiB, all touched, then hold
  cloudadmin leak-memory -m 100 -f 0.25 -x 2000 -e 500   a quarter of each block resident, 500 ms apart
  cloudadmin leak-memory -m 10 -x 0 -e 500 --json     grow until the OOM killer acts; NDJSON samples
  cloudadmin leak-memory --target 90% --ramp 2m --hold 10m   ramp to 90% of the cgroup limit, hold 10 min
  cloudadmin leak-memory -x 1000 --oom-score-adj 1000 --metrics-port 9464

Sizes are MiB (2^20 bytes). Durations: 500ms, 30s, 5m, 1h (a bare number is seconds).
Without --json, one line per block (or per -p blocks) goes to stdout; with --json (or -o ndjson),
stdout holds only samples, written synchronously before and after each block is touched, so the
last line before an OOM kill (exit 137) is never lost. Ctrl+C or SIGTERM ends it (exit 130);
after --on-alloc-failure exit it exits 1.
`;

function fail(message: string): never {
  throw new UsageError(message);
}

/** A flag's text as a number (NaN when it is not one: the library says what it must be). */
function numeric(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  return text === "" ? Number.NaN : Number(text);
}

/** `500ms`, `30s`, `5m`, `1h`; a bare number is seconds. */
export function parseDuration(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (!match?.[1]) fail(`${flag} must be a duration such as 500ms, 30s, 5m or 1h, not '${text}'`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? "s"] ?? 1000;
  return Math.round(Number(match[1]) * unit);
}

/** `90%` or `90`; anything else is NaN, which the library refuses. */
function parsePercent(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)%?$/.exec(String(value).trim());
  return match?.[1] === undefined ? Number.NaN : Number(match[1]);
}

type LeakFlagOptions = Omit<StartLeakOptions, "signal" | "env" | "beforeAllocating">;

/** The flag (and its commander key) each library option comes from, to name it when a value is refused. */
const FLAG_OF: Partial<Record<keyof StartLeakOptions, [flag: string, key: string]>> = {
  blockBytes: ["--block-mb", "blockMb"],
  fill: ["--fill", "fill"],
  maxBytes: ["--max-mb", "maxMb"],
  delayMs: ["--delay-ms", "delayMs"],
  rampMs: ["--ramp", "ramp"],
  targetPercent: ["--target", "target"],
  holdMs: ["--hold", "hold"],
  oomScoreAdj: ["--oom-score-adj", "oomScoreAdj"],
  holdSampleIntervalMs: ["--sample-interval", "sampleInterval"],
  afterHold: ["--after-hold", "afterHold"],
  onAllocationFailure: ["--on-alloc-failure", "onAllocFailure"],
  touchMethod: ["--touch", "touch"],
};

/**
 * Maps the flags to library options. Only the flags' syntax is checked here (numbers, durations,
 * percentages, the required -x); every limit on the values is the library's, and a value it
 * refuses is reported against its flag by {@link usageErrorFor}.
 */
function leakOptionsFromFlags(options: Record<string, unknown>): {
  leak: LeakFlagOptions;
  printEvery: number;
  metricsPort: number | undefined;
  pause: boolean;
  json: boolean;
} {
  if (options.maxMb === undefined && options.target === undefined) {
    fail("--max-mb (-x) is required: the MiB to stop at, or 0 for no cap (or give --target N%)");
  }
  const printEvery = numeric(options.printEvery) ?? 1;
  if (!Number.isInteger(printEvery) || printEvery < 1) {
    fail(`--print-every must be a whole number of blocks from 1, not '${String(options.printEvery)}'`);
  }
  const mib = (value: unknown): number | undefined => {
    const n = numeric(value);
    return n === undefined ? undefined : n * MiB;
  };
  const leak: LeakFlagOptions = { blockBytes: mib(options.blockMb) ?? 10 * MiB };
  const optional: Partial<LeakFlagOptions> = {
    fill: numeric(options.fill),
    maxBytes: mib(options.maxMb),
    delayMs: numeric(options.delayMs),
    rampMs: parseDuration(options.ramp, "--ramp"),
    holdMs: parseDuration(options.hold, "--hold"),
    holdSampleIntervalMs: parseDuration(options.sampleInterval, "--sample-interval"),
    targetPercent: parsePercent(options.target),
    oomScoreAdj: numeric(options.oomScoreAdj),
    afterHold: options.afterHold as LeakFlagOptions["afterHold"],
    onAllocationFailure: options.onAllocFailure as LeakFlagOptions["onAllocationFailure"],
    touchMethod: options.touch as LeakFlagOptions["touchMethod"],
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) (leak as unknown as Record<string, unknown>)[key] = value;
  }
  if (options.hugePages === false) leak.hugePages = false;
  return {
    leak,
    printEvery,
    metricsPort: numeric(options.metricsPort),
    pause: options.pause === true,
    json: options.json === true,
  };
}

/** A library refusal of an option, as a usage error that names the flag and the value given. */
function usageErrorFor(
  error: unknown,
  options: Record<string, unknown>,
  refused: typeof LeakOptionError,
): unknown {
  if (!(error instanceof refused)) return error;
  const flag = FLAG_OF[error.option];
  if (flag === undefined) return error;
  return new UsageError(`${flag[0]} '${String(options[flag[1]])}': ${error.message}`, { cause: error });
}

/**
 * A line writer that survives an OOM kill: on a real file descriptor the line is written with
 * fs.writeSync before the next block is touched (EAGAIN on a non-blocking pipe is retried), so it is
 * in the pipe or file before the kernel can kill the process. Streams without a descriptor (tests)
 * get a plain write.
 */
function lineWriter(stream: OutStream): (line: string) => void {
  const fd = (stream as { fd?: unknown }).fd;
  if (typeof fd !== "number") return (line) => void stream.write(line);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  let closed = false;
  return (line) => {
    if (closed) return;
    const bytes = Buffer.from(line, "utf8");
    let offset = 0;
    while (offset < bytes.length) {
      try {
        offset += writeSync(fd, bytes, offset);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") {
          Atomics.wait(pause, 0, 0, 1);
          continue;
        }
        if (code === "EPIPE") {
          closed = true;
          return;
        }
        throw error;
      }
    }
  };
}

const mib = (bytes: number | null): string => (bytes === null ? "?" : `${(bytes / MiB).toFixed(1)} MiB`);

function describeEnvironment(env: LeakEnvironment, hostBytes: number): string[] {
  const lines: string[] = [];
  const cgroup = env.cgroup
    ? `cgroup v${env.cgroup.version} ${env.cgroup.path}, limit ${env.limitBytes === null ? "none" : mib(env.limitBytes)}`
    : "no memory cgroup";
  const runtime = env.runtime.kubernetes
    ? `Kubernetes pod ${env.runtime.kubernetes.podName ?? "?"}${env.runtime.kubernetes.namespace ? ` in ${env.runtime.kubernetes.namespace}` : ""}, QoS ${env.runtime.kubernetes.qosClass ?? "unknown"}`
    : env.runtime.inContainer
      ? `container (${env.runtime.containerRuntime ?? "unknown runtime"})`
      : "not in a container";
  lines.push(
    `${mib(env.limitBytes ?? hostBytes)} of memory visible (${cgroup}; host ${mib(hostBytes)}); ${runtime}`,
  );
  lines.push(
    `page size ${env.pageSize} (${env.pageSizeSource}), transparent huge pages ${env.transparentHugePages ?? "unknown"}, pages made resident by ${env.touchMethod === "populate" ? "MADV_POPULATE_WRITE" : "one write per page"}`,
  );
  return lines;
}

function planLine(env: LeakEnvironment, fill: number): string {
  const block = `${env.blockBytes / MiB} MiB (touched ${Math.round(fill * 100)}%)`;
  if (env.targetBytes !== null)
    return `Will allocate blocks of ${block} until the working set reaches ${mib(env.targetBytes)}`;
  if (env.plannedBlocks === null) return `Will allocate an unlimited number of blocks of ${block}`;
  return `Will allocate ${env.plannedBlocks} blocks of ${block}, as to hit a limit of ${mib(env.plannedBlocks * env.blockBytes)}`;
}

/** RSS and the cgroup working set with its share of the limit and the headroom left. */
function statusLine(sample: LeakSample): string {
  const c = sample.cgroup;
  let line = `RSS ${mib(sample.rssBytes)}`;
  if (c.workingSetBytes !== null) {
    line += `  working set ${mib(c.workingSetBytes)}`;
    if (c.limitBytes !== null) {
      const percent = ((c.workingSetBytes / c.limitBytes) * 100).toFixed(1);
      line += ` (${percent}% of ${mib(c.limitBytes)} limit, headroom ${mib(c.limitBytes - c.workingSetBytes)})`;
    }
  }
  return line;
}

function blockLine(sample: LeakSample, blockBytes: number, fill: number): string {
  const size = Number.isInteger(blockBytes / MiB) ? `${blockBytes / MiB}` : (blockBytes / MiB).toFixed(2);
  return (
    `Block #${sample.block}  +${size} MiB (touched ${Math.round(fill * 100)}%)  ` +
    `[total allocated ${mib(sample.allocatedBytes)} / touched ${mib(sample.touchedBytes)}]  ${statusLine(sample)}`
  );
}

function waitForEnter(ctx: CommandContext): Promise<void> {
  ctx.io.stderr.write("Press Enter to start allocating (Ctrl+C to quit)\n");
  return new Promise((resolve) => {
    const lines = createInterface({ input: ctx.io.stdin });
    const done = (): void => {
      lines.close();
      // Nothing more is read: let the process exit when the run ends, stdin open or not.
      ctx.io.stdin.pause();
      (ctx.io.stdin as { unref?: () => void }).unref?.();
      resolve();
    };
    lines.once("line", done);
    lines.once("close", resolve);
  });
}

/** `cloudadmin leak-memory`: the original AllocMem flags plus targets, ramps, holds, OOM score and metrics. */
export const leakMemoryCommand: CommandModule = {
  name: "leak-memory",
  summary: "allocate memory in a controlled way and report what the OOM killer and the kubelet see",
  configure(command) {
    command
      .option("-m, --block-mb <n>", "block size in MiB (default 10)")
      .option("-f, --fill <0..1>", "share of each block written so it becomes resident (default 1)")
      .option("-x, --max-mb <n>", "stop after ceil(max/block) blocks; 0 = no cap (required unless --target)")
      .option("-e, --delay-ms <n>", "wait between blocks, in ms (default 0)")
      .option("-b, --pause", "wait for Enter before allocating, to see the baseline")
      .option("-p, --print-every <n>", "a stats line every n blocks (default 1)")
      .option("--target <N%>", "allocate until the cgroup working set reaches N% of the cgroup limit")
      .option("--ramp <duration>", "spread the allocation evenly over this time (needs -x or --target)")
      .option("--hold <duration>", "hold this long, then exit or release (default: until SIGINT/SIGTERM)")
      .addOption(
        new Option("--after-hold <action>", "after --hold: exit, or release the memory and wait")
          .choices(["exit", "release"])
          .default("exit"),
      )
      .addOption(
        new Option("--on-alloc-failure <action>", "when an allocation fails (RangeError): hold or exit")
          .choices(["hold", "exit"])
          .default("hold"),
      )
      .option("--oom-score-adj <n>", "write /proc/self/oom_score_adj first (1000: be the OOM victim)")
      .option("--metrics-port <port>", "serve Prometheus metrics at http://0.0.0.0:<port>/metrics")
      .option("--sample-interval <duration>", "while holding, a sample every duration")
      .addOption(
        new Option("--touch <method>", "how pages are made resident (auto: populate when available)")
          .choices(["auto", "populate", "write"])
          .default("auto"),
      )
      .option("--no-huge-pages", "never ask for transparent huge pages on wholly touched ranges")
      .option("--json", "NDJSON samples on stdout (same as -o ndjson)")
      .addHelpText("after", EXAMPLES);
    command
      .command("report <samples>")
      .description("the HTML report of an earlier run's --json samples (to --report, --out or stdout)");
  },
  async run(ctx, options, args) {
    if (args[0] === "report") return (await import("./leak-memory-report.js")).leakMemoryReport(ctx, args[1]);
    const flags = leakOptionsFromFlags(options);
    const explicit = ctx.globals.output;
    if (explicit === "csv")
      fail("leak-memory writes lines for people or NDJSON samples (--json, -o ndjson), not csv");
    if (ctx.globals.out !== undefined) {
      fail(
        "leak-memory writes to stdout only: redirect it (an atomic --out file is never completed after an OOM kill)",
      );
    }
    const json = flags.json || explicit === "ndjson" || explicit === "json";
    const leaker = await import("@cloudadmin/memory-leaker");
    const { startLeak, createLeakMetrics, startMetricsServer } = leaker;

    let run: LeakRun;
    try {
      run = startLeak({
        ...flags.leak,
        signal: ctx.signal,
        env: ctx.env,
        ...(flags.pause ? { beforeAllocating: () => waitForEnter(ctx) } : {}),
      });
    } catch (error) {
      throw usageErrorFor(error, options, leaker.LeakOptionError);
    }
    const env = run.environment;

    // Before anything is printed, so a refused port leaves stdout empty.
    if (flags.metricsPort !== undefined) {
      const port = flags.metricsPort;
      const server = await startMetricsServer({ registry: createLeakMetrics(run), port }).catch(
        (cause: unknown) => {
          const message = `--metrics-port '${String(options.metricsPort)}': ${(cause as Error).message}`;
          // A refused value is a usage error; a port that cannot be bound is configuration.
          if (cause instanceof CloudAdminError) throw new UsageError(message, { cause });
          throw new ConfigError(message, { cause });
        },
      );
      ctx.onExit(() => server.close());
      ctx.log.info(`serving Prometheus metrics at ${server.url}`);
    }

    const write = lineWriter(ctx.io.stdout);
    const info = (line: string): void => {
      if (json) ctx.log.info(line);
      else write(`${line}\n`);
    };
    // The share the library touches, from its plan: round(pages x fill) of each block's pages.
    const fill = env.touchPagesPerBlock / Math.ceil(env.blockBytes / env.pageSize);
    for (const line of describeEnvironment(env, totalmem())) info(line);
    for (const warning of env.warnings) ctx.log.warn(warning);
    info(planLine(env, fill));

    let lastPrinted = 0;
    let allocatedBefore = 0;
    let lastBlockBytes = env.blockBytes;
    let lastTouched: LeakSample | null = null;
    let holdingSeen = false;
    // --report: the samples also go to the HTML report, written when the run ends.
    const report = await (await import("./leak-memory-report.js")).leakReportCollector(ctx);
    for await (const sample of run) {
      report?.add(sample);
      if (json) {
        write(`${JSON.stringify(sample)}\n`);
        continue;
      }
      switch (sample.phase) {
        case "allocated":
          lastBlockBytes = sample.allocatedBytes - allocatedBefore;
          allocatedBefore = sample.allocatedBytes;
          break;
        case "touched":
          lastTouched = sample;
          if (sample.block % flags.printEvery === 0 || sample.block === env.plannedBlocks) {
            write(`${blockLine(sample, lastBlockBytes, fill)}\n`);
            lastPrinted = sample.block;
          }
          break;
        case "allocation-failed":
          ctx.log.warn(
            `allocation failed after ${mib(sample.allocatedBytes)}: ${sample.error ?? "RangeError"}`,
          );
          break;
        case "holding":
          if (holdingSeen) {
            write(`Holding: ${statusLine(sample)}\n`);
            break;
          }
          holdingSeen = true;
          if (lastTouched !== null && lastPrinted !== lastTouched.block) {
            write(`${blockLine(lastTouched, lastBlockBytes, fill)}\n`);
            lastPrinted = lastTouched.block;
          }
          write(
            `Allocating memory complete (${run.stopReason ?? "done"}): ${mib(sample.allocatedBytes)} allocated, ${mib(sample.touchedBytes)} touched. ` +
              `${flags.leak.holdMs === undefined ? "Holding; press Ctrl+C to exit" : `Holding for ${flags.leak.holdMs} ms`}\n`,
          );
          break;
        case "released":
          write(`Released: ${statusLine(sample)}\n`);
          break;
        default:
          break;
      }
    }
    if (run.endReason === "aborted" && !json) write(`Interrupted: releasing ${mib(run.allocatedBytes)}\n`);
    if (run.endReason === "allocation-failed") {
      ctx.log.error(
        `allocation failed after ${mib(run.allocatedBytes)}; exiting as --on-alloc-failure exit asks`,
      );
    }
    await report?.write();
    return exitCodeForLeak(run.endReason);
  },
};
