import type { Command } from "commander";
import type { ErrorRecord } from "@cloudadmin/errors";
import type { ColumnSpec, ProgressReporter, Sink } from "@cloudadmin/output";
import type { TokenCredential } from "@cloudadmin/auth";
import { resolve } from "node:path";
import { checkEndpoint } from "./endpoints.js";
import type { GlobalOptions, OutputFormat } from "./globals.js";
import type { CliIo } from "./io.js";
import { type Logger, createLogger } from "./log.js";
import { type SimulatorSession, startEmbeddedSimulator } from "./simulate.js";

export interface EmitOptions<T> {
  items: AsyncIterable<T>;
  /** Read after the items are written: errors collected while streaming. */
  errors: () => ErrorRecord[];
  summary: () => Record<string, unknown>;
  /** The document's `command` (default: this command's name); `merge` writes the merged job's. */
  command?: string;
  /** Further top-level fields of the json document, read at the end (a sharded run's `shard` and `scopes`). */
  extra?: () => Record<string, unknown>;
  /**
   * Read at the end: false when the run produced nothing useful (exit 4). The target then keeps its
   * previous content and stdout gets no document. Default: true.
   */
  commitIf?: () => boolean;
  /** Columns for csv and table (default: every top-level field of the first item). */
  columns?: ColumnSpec<T>[];
}

/** What a command's `run` gets: the parsed globals, the environment, output and progress helpers. */
export interface CommandContext {
  readonly io: CliIo;
  readonly command: string;
  /** The whole commander program (completion and help generators walk it). */
  readonly program: Command;
  readonly globals: GlobalOptions;
  /** The environment, with the embedded simulator's variables on top when --simulate is on. */
  env: Record<string, string | undefined>;
  readonly log: Logger;
  readonly signal: AbortSignal;
  /** The output format in effect (the flag, else table on a TTY, else json). */
  readonly format: OutputFormat;
  /** Starts the embedded simulator for these services when --simulate is on (else returns undefined). */
  simulate(services: Array<"aws" | "arg" | "graph" | "zoom">): Promise<SimulatorSession | undefined>;
  /** Checks an endpoint override (https, or http on loopback only). */
  endpoint(value: string, what: string): URL;
  /** A progress reporter on stderr (drawn on a TTY, periodic lines otherwise, nothing with --no-progress/-q). */
  progress(label: string): Promise<ProgressReporter>;
  /** Writes the results to stdout or --out in the chosen format; nothing is left half written. */
  emit<T>(options: EmitOptions<T>): Promise<void>;
  /**
   * Blob Storage auth for these URLs, as SPEC section 3 says for `--out`: a SAS in every URL needs
   * nothing more, else `AZURE_STORAGE_CONNECTION_STRING`, else DefaultAzureCredential.
   */
  blobAuth(urls: readonly string[]): Promise<{ connectionString?: string; credential?: TokenCredential }>;
  /** Opens --out (or `target`, e.g. --report; else stdout) as a sink: for commands that write their own format. */
  openOutput(contentType: string, target?: string): Promise<Sink>;
  /** Runs `fn` when the command ends (simulator shutdown and the like). */
  onExit(fn: () => Promise<void> | void): void;
}

export interface ContextDeps {
  io: CliIo;
  command: string;
  program: Command;
  globals: GlobalOptions;
  signal: AbortSignal;
}

export function createCommandContext(deps: ContextDeps): CommandContext & { dispose(): Promise<void> } {
  const { io, globals } = deps;
  const cleanups: Array<() => Promise<void> | void> = [];
  const log = createLogger(io.stderr, {
    verbosity: globals.verbosity,
    quiet: globals.quiet,
    prefix: `cloudadmin: ${deps.command}: `,
  });
  const format: OutputFormat = globals.output ?? (io.stdout.isTTY && !globals.out ? "table" : "json");
  const output = () => import("@cloudadmin/output");

  // `flag`: --out, or --report for the HTML report.
  const openOutput = async (contentType: string, flag = globals.out): Promise<Sink> => {
    const out = await output();
    // `-` is stdout, as in most Unix tools.
    if (!flag || flag === "-") return out.stdoutSink(io.stdout);
    const target = expandOutTarget(flag, new Date());
    if (!out.looksLikeUrl(target)) {
      return out.openSink(resolve(io.cwd, target), { contentType, signal: deps.signal });
    }
    // parseBlobUrl refuses a malformed or non-blob URL with a usage error before anything else.
    out.parseBlobUrl(target, { kind: "blob" });
    return out.openSink(target, { contentType, signal: deps.signal, ...(await blobAuth([target])) });
  };

  const blobAuth = async (urls: readonly string[]) => {
    const connectionString = ctx.env.AZURE_STORAGE_CONNECTION_STRING;
    const hasSas = (u: string) => {
      try {
        return new URL(u).searchParams.has("sig");
      } catch {
        return false; // the reader or sink refuses it with a usage error
      }
    };
    const remote = urls.filter((u) => /^https?:\/\//i.test(u));
    if (remote.length === 0 || remote.every(hasSas)) return {};
    if (connectionString) return { connectionString };
    return { credential: (await import("@cloudadmin/auth")).createAzureCredential() };
  };

  const ctx: CommandContext & { dispose(): Promise<void> } = {
    io,
    command: deps.command,
    program: deps.program,
    globals,
    env: { ...io.env },
    log,
    signal: deps.signal,
    format,
    async simulate(services) {
      if (!globals.simulate) return undefined;
      const session = await startEmbeddedSimulator({
        scale: globals.simulate,
        datasetFile: globals.simDataset,
        services,
        cwd: io.cwd,
      });
      cleanups.push(() => session.close());
      ctx.env = { ...ctx.env, ...session.env };
      log.debug(`simulating ${services.join(", ")} at ${session.httpUrl} and ${session.httpsUrl}`);
      return session;
    },
    endpoint: checkEndpoint,
    async progress(label) {
      const enabled = globals.progress && !globals.quiet;
      const reporter = (await output()).createProgressReporter({
        stream: io.stderr,
        isTTY: io.stderr.isTTY === true,
        enabled,
        label,
      });
      cleanups.push(() => reporter.stop());
      return reporter;
    },
    async emit(options) {
      const out = await output();
      const generatedAt = new Date();
      // --report: the same items and envelope also go to this command's HTML report (opened first,
      // so a bad report target stops the run before --out is touched).
      const report = globals.report
        ? await (await import("./report-tee.js")).teeToReport({
            command: deps.command,
            items: options.items,
            sink: await openOutput("text/html; charset=utf-8", globals.report),
            target: globals.report,
            cwd: io.cwd,
            isUrl: out.looksLikeUrl(globals.report),
          })
        : undefined;
      const sink = await openOutput(out.contentTypeFor(format)).catch(async (error: unknown) => {
        await report?.abort();
        throw error;
      });
      // writeResults commits the sink when the document is complete and aborts it otherwise.
      const written = await out
        .writeResults({
          format,
          command: options.command ?? deps.command,
          now: () => generatedAt,
          items: report ? report.items : options.items,
          errors: options.errors,
          summary: options.summary,
          ...(options.extra ? { extra: options.extra } : {}),
          ...(options.commitIf ? { commitIf: options.commitIf } : {}),
          ...(options.columns ? { columns: options.columns } : {}),
          // Cut to the terminal's width only when the table goes to a terminal.
          table: {
            wide: globals.wide,
            ...((!globals.out || globals.out === "-") && io.stdout.isTTY && io.stdout.columns
              ? { columns: io.stdout.columns }
              : {}),
          },
          sink,
          stderr: io.stderr,
          signal: deps.signal,
        })
        .catch(async (error: unknown) => {
          await report?.abort();
          throw error;
        });
      if (!report) return;
      if (!written.committed) return report.abort();
      await report.finish({
        generatedAt,
        errors: options.errors(),
        summary: options.summary(),
        ...(options.extra ? { extra: options.extra() } : {}),
      });
    },
    openOutput,
    blobAuth,
    onExit(fn) {
      cleanups.push(fn);
    },
    async dispose() {
      for (const fn of cleanups.reverse()) await fn();
    },
  };
  return ctx;
}

/**
 * `{timestamp}` in `--out` becomes the run's UTC start (`2026-11-28T02-15-00Z`, safe in file and blob
 * names), so a scheduled job keeps one file per run without a shell to compute the name.
 */
export function expandOutTarget(target: string, now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replace(/:/g, "-");
  return target.replaceAll("{timestamp}", stamp);
}
