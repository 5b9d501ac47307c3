/**
 * `@cloudadmin/report`: one self-contained HTML file per cloudadmin run, to open in a browser with no
 * network. Inventories (azure-vm-ips, ec2-ips, ips find/diff) get totals per scope and region and a
 * searchable, sortable, filterable table that renders only the rows in view; user-photos a contact
 * sheet and the users left out; zoom-licenses the plan and the results; leak-memory a uPlot chart
 * against the cgroup limit; doctor a card per provider. All data from clouds stays text.
 *
 * @example
 * ```ts
 * import { writeFile } from "node:fs/promises";
 * import { createReportCollector } from "@cloudadmin/report";
 * const report = createReportCollector("ec2-ips");
 * for await (const instance of listEc2Ips(options)) report.add(instance);
 * await writeFile("ec2.html", await report.render({ generatedAt: new Date().toISOString(), summary: {} }));
 * ```
 * @packageDocumentation
 */
import { doctorCollector } from "./doctor.js";
import { asItem } from "./fields.js";
import { genericCollector } from "./generic.js";
import { inventoryCollector } from "./inventory.js";
import { type ReportKind, reportKindFor } from "./kinds.js";
import { leakCollector } from "./leak.js";
import { renderPage } from "./page.js";
import { type PhotoSourceOptions, photoCollector } from "./photos.js";
import { zoomCollector } from "./zoom.js";

export { type ReportKind, reportKindFor } from "./kinds.js";
export { jsonForScript } from "./page.js";
export type { PhotoSourceOptions } from "./photos.js";

/** An entry of the run's `errors` (the shape of `@cloudadmin/errors`' ErrorRecord). */
export interface ReportError {
  scope: string;
  phase: string;
  code: string;
  message: string;
}

/** Options of {@link createReportCollector} and {@link renderReport}. */
export interface ReportOptions extends PhotoSourceOptions {
  /** The page's title (default: `cloudadmin <command>`). */
  title?: string;
}

/** What is known once the items are done: the json envelope's other fields. */
export interface ReportMeta {
  /** ISO 8601 time of the run. */
  generatedAt: string;
  errors?: readonly ReportError[];
  summary?: Record<string, unknown>;
  /** Further envelope fields (a sharded run's shard and scopes). */
  extra?: Record<string, unknown>;
}

/** Takes a run's items one by one (keeping only what the page shows), then renders the page. */
export interface ReportCollector {
  readonly kind: ReportKind;
  add(item: unknown): void;
  render(meta: ReportMeta): Promise<string>;
}

interface KindCollector {
  add(item: Record<string, unknown>): void;
  finish(): unknown;
}

/**
 * A collector for `command`'s report (the kind follows the command name, see {@link reportKindFor}).
 * Items are reduced as they arrive, so a 100,000-VM inventory keeps compact rows only.
 */
export function createReportCollector(command: string, options: ReportOptions = {}): ReportCollector {
  const kind = reportKindFor(command);
  const collector: KindCollector =
    kind === "inventory"
      ? inventoryCollector()
      : kind === "photos"
        ? photoCollector(options)
        : kind === "zoom"
          ? zoomCollector()
          : kind === "leak"
            ? leakCollector()
            : kind === "doctor"
              ? doctorCollector()
              : genericCollector();
  let items = 0;
  return {
    kind,
    add(item) {
      items += 1;
      collector.add(asItem(item));
    },
    async render(meta) {
      const title = options.title ?? `cloudadmin ${command}`;
      const data = {
        ...((await collector.finish()) as object),
        title,
        command,
        generatedAt: meta.generatedAt,
        items,
        summary: meta.summary ?? {},
        errors: meta.errors ?? [],
        extra: meta.extra ?? {},
      };
      return renderPage(title, data, kind === "leak");
    },
  };
}

/** A whole document (the json envelope of a run) as a report page. */
export async function renderReport(
  document: ReportMeta & { command: string; items: Iterable<unknown> | AsyncIterable<unknown> },
  options: ReportOptions = {},
): Promise<string> {
  const report = createReportCollector(document.command, options);
  for await (const item of document.items) report.add(item);
  return report.render(document);
}
