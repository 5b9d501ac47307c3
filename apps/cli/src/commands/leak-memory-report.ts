import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { UsageError } from "@cloudadmin/errors";
import { type CommandContext, expandOutTarget } from "../context.js";
import { ExitCode } from "../exit-codes.js";

/**
 * `--report` on a live leak-memory run: the samples are collected as they come and the page is written
 * when the run ends (Ctrl+C included). A run the OOM killer ends writes nothing: record `--json`
 * samples and use `leak-memory report` for that. Undefined without `--report`. The target is checked
 * before any memory is allocated.
 */
export async function leakReportCollector(
  ctx: CommandContext,
): Promise<{ add(sample: unknown): void; write(): Promise<void> } | undefined> {
  const target = ctx.globals.report;
  if (!target) return undefined;
  const out = await import("@cloudadmin/output");
  const started = new Date();
  const path = out.looksLikeUrl(target) ? undefined : resolve(ctx.io.cwd, expandOutTarget(target, started));
  if (path) {
    await stat(dirname(path)).catch((cause: unknown) => {
      throw new UsageError(`--report ${target}: its folder does not exist`, { cause });
    });
  }
  const { createReportCollector } = await import("@cloudadmin/report");
  const report = createReportCollector("leak-memory");
  return {
    add: (sample) => report.add(sample),
    async write() {
      const html = await report.render({ generatedAt: started.toISOString() });
      // A file is written even after SIGINT (the usual end of a hold): the run's signal is not passed.
      if (path) await out.writeFileAtomic(path, html);
      else {
        const sink = await ctx.openOutput("text/html; charset=utf-8", target);
        try {
          await sink.write(html);
          await sink.commit();
        } catch (error) {
          await sink.abort();
          throw error;
        }
      }
      ctx.log.info(`report written to ${path ?? out.redactUrl(target)}`);
    },
  };
}

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
  await stat(path).catch((cause: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${samplesFile}: ${cause.code ?? cause.message}`, { cause });
  });
  const [{ readLeakSamples }, { renderReport }] = await Promise.all([
    import("@cloudadmin/memory-leaker"),
    import("@cloudadmin/report"),
  ]);
  // memory-leaker's own reader checks every sample; a last line cut short by an OOM kill is dropped.
  const samples: unknown[] = [];
  for await (const sample of readLeakSamples(createReadStream(path), {
    source: samplesFile,
    allowTruncatedEnd: true,
  })) {
    samples.push(sample);
  }
  if (samples.length === 0) {
    throw new UsageError(
      `${samplesFile} holds no leak-memory samples (run leak-memory with --json to record them)`,
    );
  }
  const html = await renderReport({
    command: "leak-memory",
    generatedAt: new Date().toISOString(),
    items: samples,
    summary: { samples: samples.length },
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
