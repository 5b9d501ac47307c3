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

function positiveNumber(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(String(value).trim());
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`${flag} must be a number of seconds above 0, not '${String(value)}'`);
  return n;
}

/** Parses and checks the global options a command was given (before or after its name). */
export function resolveGlobals(command: Command): GlobalOptions {
  const o = command.optsWithGlobals() as Record<string, unknown>;
  const simulate = o.simulate === true ? "small" : (o.simulate as SimScale | undefined);
  if (o.simDataset !== undefined && simulate === undefined) {
    throw new UsageError("--sim-dataset needs --simulate");
  }
  const timeout = positiveNumber(o.timeout, "--timeout");
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
