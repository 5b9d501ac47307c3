import { UsageError } from "@cloudadmin/errors";
import { type Command, Option } from "commander";

export const OUTPUT_FORMATS = ["table", "json", "ndjson", "csv"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
export const SIM_SCALES = ["small", "large"] as const;
export type SimScale = (typeof SIM_SCALES)[number];

/** SPEC section 3: accepted before or after the command name. */
export function addGlobalOptions(program: Command): void {
  program
    .addOption(
      new Option("-o, --output <fmt>", "output format (default: table on a TTY, json otherwise)").choices(
        OUTPUT_FORMATS,
      ),
    )
    .option(
      "--out <target>",
      "write the result to a file (atomically) or an Azure Blob URL instead of stdout; {timestamp} in it becomes the UTC time",
    )
    .option("--concurrency <n>", "upper bound on requests in flight (each job has a sensible default)")
    .option("--timeout <seconds>", "per-request timeout in seconds")
    .option("--max-retries <n>", "retries for throttling and transient errors")
    .option("--no-progress", "do not draw progress on stderr")
    .option(
      "-v, --verbose",
      "more detail on stderr (secrets are never shown)",
      (_v: string, prev: number) => prev + 1,
      0,
    )
    .option("-q, --quiet", "only errors on stderr")
    .addOption(
      new Option(
        "--simulate [scale]",
        "run against the embedded simulator with no credentials (small|large)",
      ).choices(SIM_SCALES),
    )
    .option("--sim-dataset <file>", "with --simulate: use this dataset file instead of a generated one")
    .option(
      "--report <target>",
      "also write a self-contained HTML report of the run to a file (atomically) or an Azure Blob URL",
    )
    .option("--wide", "with -o table: do not cut long cells to the terminal's width");
}

export interface GlobalOptions {
  output: OutputFormat | undefined;
  out: string | undefined;
  concurrency: number | undefined;
  timeoutMs: number | undefined;
  maxRetries: number | undefined;
  progress: boolean;
  verbosity: number;
  quiet: boolean;
  simulate: SimScale | undefined;
  simDataset: string | undefined;
  /** `--report`: the HTML report's file or Blob URL. */
  report: string | undefined;
  /** `--wide`: table cells are not cut to the terminal's width. */
  wide: boolean;
}

function positiveInt(value: unknown, flag: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  if (!/^\d+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${flag} must be a whole number >= ${min}, not '${text}'`);
  }
  return Number(text);
}

/**
 * The per-request timeout's range in seconds. Below 10 ms no real request can answer (and under 0.5 ms
 * the value would round to 0, which disables a timeout); above a day a run is hung, not slow, and past
 * about 24.8 days Node's timers overflow and fire at once.
 */
const TIMEOUT_RANGE_S = { min: 0.01, max: 86_400 } as const;

function timeoutSeconds(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  const n = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= TIMEOUT_RANGE_S.min && n <= TIMEOUT_RANGE_S.max)) {
    throw new UsageError(
      `${flag} must be a number of seconds from ${TIMEOUT_RANGE_S.min} to ${TIMEOUT_RANGE_S.max}, not '${text.slice(0, 40)}'`,
    );
  }
  return n;
}

/** Parses and checks the global options a command was given (before or after its name). */
export function resolveGlobals(command: Command): GlobalOptions {
  const o = command.optsWithGlobals() as Record<string, unknown>;
  const simulate = o.simulate === true ? "small" : (o.simulate as SimScale | undefined);
  if (o.simDataset !== undefined && simulate === undefined) {
    throw new UsageError("--sim-dataset needs --simulate");
  }
  if (o.quiet === true && typeof o.verbose === "number" && o.verbose > 0) {
    throw new UsageError("-q (--quiet) and -v (--verbose) cannot go together; choose one");
  }
  const timeout = timeoutSeconds(o.timeout, "--timeout");
  return {
    output: o.output as OutputFormat | undefined,
    out: o.out as string | undefined,
    concurrency: positiveInt(o.concurrency, "--concurrency"),
    timeoutMs: timeout === undefined ? undefined : Math.round(timeout * 1000),
    maxRetries: positiveInt(o.maxRetries, "--max-retries", 0),
    progress: o.progress !== false,
    verbosity: typeof o.verbose === "number" ? o.verbose : 0,
    quiet: o.quiet === true,
    simulate,
    simDataset: o.simDataset as string | undefined,
    report: o.report as string | undefined,
    wide: o.wide === true,
  };
}

/**
 * `--simulate` takes an optional value; commander would swallow a following command name as that
 * value (`cloudadmin --simulate ec2-ips`). Give it its default explicitly in that case.
 */
export function normaliseSimulateFlag(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const next = argv[i + 1];
    if (arg === "--simulate" && (next === undefined || !(SIM_SCALES as readonly string[]).includes(next))) {
      out.push("--simulate=small");
    } else out.push(arg);
  }
  return out;
}

/**
 * An option that needs a value, followed by a word that starts with `--`, is almost always a
 * forgotten value (`--out --simulate` would write a file called `--simulate` and run against the real
 * cloud). Refused, unless written as one word (`--out=./--name`), which says the value is meant.
 */
export function refuseFlagsAsValues(program: Command, argv: readonly string[]): void {
  const needsValue = new Set<string>();
  const walk = (command: Command): void => {
    for (const option of command.options) {
      if (!option.required) continue;
      if (option.long) needsValue.add(option.long);
      if (option.short) needsValue.add(option.short);
    }
    for (const sub of command.commands) walk(sub);
  };
  walk(program);
  for (let i = 0; i < argv.length - 1; i++) {
    const arg = argv[i] as string;
    if (arg === "--") return;
    const next = argv[i + 1] as string;
    if (needsValue.has(arg) && next.startsWith("--")) {
      throw new UsageError(
        `${arg} needs a value, but got the flag '${next.slice(0, 40)}'; if '${next.slice(0, 40)}' is the value, write ${arg}=${next.slice(0, 40)}`,
      );
    }
  }
}
