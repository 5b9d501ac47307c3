import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { UsageError } from "@cloudadmin/errors";
import type { CommandContext } from "../context.js";
import { ExitCode } from "../exit-codes.js";

/**
 * `cloudadmin leak-memory report <samples.ndjson>`: the HTML report of an earlier run's `--json`
 * samples (a run that was OOM-killed cannot write its own). The page goes to `--report`, else to
 * `--out`, else to stdout.
 */
export async function leakMemoryReport(
  ctx: CommandContext,
  samplesFile: string | undefined,
): Promise<number> {
  if (!samplesFile) {
    throw new UsageError("leak-memory report needs a samples file: the --json output of an earlier run");
  }
  const path = resolve(ctx.io.cwd, samplesFile);
  const text = await readFile(path, "utf8").catch((cause: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${samplesFile}: ${cause.code ?? cause.message}`, { cause });
  });
  const { parseLeakSamples, renderReport } = await import("@cloudadmin/report");
  const { samples, skipped } = parseLeakSamples(text);
  if (samples.length === 0) {
    throw new UsageError(
      `${samplesFile} holds no leak-memory samples (run leak-memory with --json to record them)`,
    );
  }
  if (skipped > 0)
    ctx.log.warn(
      `${skipped} line${skipped === 1 ? "" : "s"} of ${samplesFile} were not samples and were skipped`,
    );
  const html = await renderReport({
    command: "leak-memory",
    generatedAt: new Date().toISOString(),
    items: samples,
    summary: { samples: samples.length, skippedLines: skipped },
  });
  const sink = await ctx.openOutput("text/html; charset=utf-8", ctx.globals.report);
  try {
    await sink.write(html);
    await sink.commit();
  } catch (error) {
    await sink.abort();
    throw error;
  }
  if (ctx.globals.report) ctx.log.info(`report written to ${sink.describe()}`);
  return ExitCode.ok;
}
