import { dirname, resolve } from "node:path";
import type { ErrorRecord } from "@cloudadmin/errors";
import type { Sink } from "@cloudadmin/output";

/** The global `--report`: the items a command emits, also collected for its HTML report. */
export interface ReportTee<T> {
  /** The same items, each handed to the report as it passes. */
  items: AsyncIterable<T>;
  /** Renders the page and commits the sink (atomically, like --out), or aborts it if rendering fails. */
  finish(meta: {
    generatedAt: Date;
    errors: readonly ErrorRecord[];
    summary: Record<string, unknown>;
    extra?: Record<string, unknown>;
  }): Promise<void>;
  /** Leaves the target untouched (the run failed or produced nothing useful). */
  abort(): Promise<void>;
}

/**
 * Tees `items` into the report of `command` (the page's kind follows the command name). `target` is
 * the `--report` value: a file's photos are linked relative to its folder; a blob report inlines them.
 */
export async function teeToReport<T>(options: {
  command: string;
  items: AsyncIterable<T>;
  sink: Sink;
  target: string;
  cwd: string;
  isUrl: boolean;
}): Promise<ReportTee<T>> {
  const { createReportCollector } = await import("@cloudadmin/report");
  const report = createReportCollector(
    options.command,
    options.isUrl ? {} : { reportDir: dirname(resolve(options.cwd, options.target)) },
  );
  const source = options.items;
  return {
    items: (async function* () {
      for await (const item of source) {
        report.add(item);
        yield item;
      }
    })(),
    async finish(meta) {
      try {
        const html = await report.render({
          generatedAt: meta.generatedAt.toISOString(),
          errors: meta.errors,
          summary: meta.summary,
          ...(meta.extra ? { extra: meta.extra } : {}),
        });
        await options.sink.write(html);
        await options.sink.commit();
      } catch (error) {
        await options.sink.abort();
        throw error;
      }
    },
    abort: () => options.sink.abort(),
  };
}
