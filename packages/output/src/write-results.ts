import { AbortedError, type ErrorRecord, redactSecrets } from "@cloudadmin/errors";
import { stringify } from "csv-stringify/sync";
import {
  type ColumnSpec,
  type ResolvedColumn,
  cellText,
  columnsFromItem,
  resolveColumns,
} from "./columns.js";
import { neutralizeFormula } from "./csv-safe.js";
import { compareKeys, naturalKeyFor, sortKeyOf } from "./natural-key.js";
import type { OutputFormat } from "./open-sink.js";
import { type RenderTableOptions, renderTable, sanitizeTerminalText } from "./table.js";
import type { Sink, TextWriter } from "./sink.js";

/** CSV details. The defaults suit spreadsheets and scripts alike. */
export interface CsvOptions {
  /** Prefix a UTF-8 byte order mark so Excel reads non-ASCII text right (default false). */
  bom?: boolean;
  /**
   * Prefix cells starting with `=`, `+`, `-`, `@`, tab or CR with `'` so spreadsheets do not run them
   * as formulas (CSV injection from untrusted names, as OWASP recommends; default true; false keeps
   * values exact).
   */
  escapeFormulas?: boolean;
  /** Line ending: `"\n"` (default) or `"\r\n"` (RFC 4180). */
  recordDelimiter?: "\n" | "\r\n";
}

/** Options of {@link writeResults}. */
export interface WriteResultsOptions<T> {
  format: OutputFormat;
  /** The command name written as `command` in the json envelope (`"ec2-ips"`). */
  command: string;
  /** The results, written as they arrive. */
  items: AsyncIterable<T>;
  /**
   * The per-scope errors so far. Read at the end (json) and, for ndjson and csv, after every item so
   * errors reach stderr while the run goes on: return the live array, do not build a new one per call.
   */
  errors?: () => readonly ErrorRecord[];
  /** The counts for the envelope's `summary` (json) and the table's summary line; read at the end. */
  summary?: () => Record<string, unknown>;
  /**
   * Further top-level fields of the json envelope, read at the end and written after `summary`
   * (a sharded run's `shard` and `scopes`). They can never replace `command`, `generatedAt`, `items`,
   * `errors` or `summary`: such keys are dropped.
   */
  extra?: () => Record<string, unknown>;
  /**
   * Read once the items are done: false when the run produced nothing useful (every scope failed,
   * exit 4). Then nothing is committed: a file or blob target keeps its previous content, and a json
   * document on stdout is not started (its head is written only with the first item or at the end),
   * so stdout holds either a whole document or nothing. Default: always commit.
   */
  commitIf?: () => boolean;
  /**
   * Columns for csv and table. Default: the first item's keys (for table, without nested values).
   * Arrays of scalars are joined with `;` in csv and `, ` in tables; objects are JSON-encoded.
   */
  columns?: readonly ColumnSpec<T>[];
  /** Where the document goes. Committed when the document is complete, aborted if anything fails. */
  sink: Sink;
  /** Where ndjson/csv errors (JSON lines) and table errors (one line each) go; usually `process.stderr`. */
  stderr?: TextWriter;
  /** Clock for `generatedAt` (default: `new Date()`). */
  now?: () => Date;
  /** Aborts the write: the sink is aborted (target untouched) and an `AbortedError` thrown. */
  signal?: AbortSignal;
  /** JSON indentation (default 2; 0 writes the envelope on one line). */
  jsonIndent?: number;
  csv?: CsvOptions;
  /** Table layout: the terminal's width (`columns`; absent = no cut) and `wide` (cut nothing). */
  table?: RenderTableOptions;
  /**
   * Fields the table's rows are sorted by (default: the command's natural key, e.g. subscription name,
   * resource group and VM for `azure-vm-ips`; `null` keeps the arrival order).
   */
  sortBy?: readonly string[] | null;
}

/** What {@link writeResults} wrote. */
export interface WriteResultsSummary {
  format: OutputFormat;
  /** Items written. */
  items: number;
  /** Entries of `errors()` at the end. */
  errors: number;
  /** UTF-8 bytes handed to the sink. */
  bytes: number;
  /** `sink.describe()`: safe to print. */
  target: string;
  /** False when `commitIf` said the run produced nothing useful and the target was left untouched. */
  committed: boolean;
}

interface Writer<T> {
  start(): Promise<void>;
  item(item: T): Promise<void>;
  end(errors: readonly ErrorRecord[], summary: Record<string, unknown>): Promise<void>;
}

/**
 * Writes results to a sink as json (SPEC section 4 envelope), ndjson, csv or a table, streaming: each item
 * is written as soon as the iterable yields it (json writes the envelope's head first, then each item,
 * then `errors` and `summary`); only `table` holds rows until the end, to size its columns. When the
 * items are done the sink is committed; if the iterable throws, a write fails or `signal` aborts, the
 * sink is aborted (a file or blob target is left untouched) and the error is rethrown.
 *
 * @example
 * ```ts
 * import { openSink, writeResults } from "@cloudadmin/output";
 * const errors: ErrorRecord[] = [];
 * const counts = { accounts: 0 };
 * async function* items() {
 *   for await (const instance of listEc2Ips({ ...options, onError: (e) => errors.push(e) })) {
 *     yield instance;
 *   }
 * }
 * const result = await writeResults({
 *   format: "json",
 *   command: "ec2-ips",
 *   items: items(),
 *   errors: () => errors,
 *   summary: () => counts,
 *   sink: await openSink("ips.json"),
 *   stderr: process.stderr,
 * });
 * console.error(`${result.items} instances written to ${result.target}`);
 * ```
 */
export async function writeResults<T>(options: WriteResultsOptions<T>): Promise<WriteResultsSummary> {
  const { sink, signal } = options;
  const errors = options.errors ?? (() => []);
  const summary = options.summary ?? (() => ({}));
  let bytes = 0;
  let count = 0;
  const write = async (chunk: string): Promise<void> => {
    if (chunk.length === 0) return;
    bytes += Buffer.byteLength(chunk, "utf8");
    await sink.write(chunk);
  };
  const writer = createWriter(options, write);
  const iterator = options.items[Symbol.asyncIterator]();
  let errorCount = 0;
  try {
    throwIfAborted(signal);
    await writer.start();
    for (;;) {
      const next = await nextOrAbort(iterator, signal);
      if (next.done) break;
      throwIfAborted(signal);
      await writer.item(next.value);
      count += 1;
    }
    // Records are redacted when built (toErrorRecord); redact again in case a caller built its own.
    const finalErrors = errors().map((e) => ({ ...e, message: redactSecrets(e.message) }));
    errorCount = finalErrors.length;
    if (options.commitIf && !options.commitIf()) {
      await sink.abort();
      return {
        format: options.format,
        items: count,
        errors: errorCount,
        bytes,
        target: sink.describe(),
        committed: false,
      };
    }
    await writer.end(finalErrors, summary());
    throwIfAborted(signal);
    await sink.commit();
  } catch (error) {
    if (signal?.aborted) {
      // A source blocked in next() cannot be awaited: ask it to finish but do not wait for it.
      void Promise.resolve(iterator.return?.()).catch(() => undefined);
    } else {
      await Promise.resolve(iterator.return?.()).catch(() => undefined);
    }
    await sink.abort();
    throw error;
  }
  return {
    format: options.format,
    items: count,
    errors: errorCount,
    bytes,
    target: sink.describe(),
    committed: true,
  };
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError("writing the results was aborted", { cause: signal.reason });
}

function nextOrAbort<T>(
  iterator: AsyncIterator<T>,
  signal: AbortSignal | undefined,
): Promise<IteratorResult<T>> {
  if (!signal) return iterator.next();
  throwIfAborted(signal);
  return new Promise((resolve, reject) => {
    const onAbort = (): void =>
      reject(new AbortedError("writing the results was aborted", { cause: signal.reason }));
    signal.addEventListener("abort", onAbort, { once: true });
    iterator.next().then(
      (result) => {
        signal.removeEventListener("abort", onAbort);
        resolve(result);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

function createWriter<T>(
  options: WriteResultsOptions<T>,
  write: (chunk: string) => Promise<void>,
): Writer<T> {
  switch (options.format) {
    case "json":
      return jsonWriter(options, write);
    case "ndjson":
      return ndjsonWriter(options, write);
    case "csv":
      return csvWriter(options, write);
    case "table":
      return tableWriter(options, write);
    default: {
      const format: never = options.format;
      throw new Error(`unknown output format ${String(format)}`);
    }
  }
}

/** JSON.stringify, but `undefined`, functions and symbols become `null` as they would inside an array. */
function toJson(value: unknown, indent: number): string {
  return JSON.stringify(value, null, indent) ?? "null";
}

/**
 * Writes exactly what `JSON.stringify(envelope, null, indent)` would, piece by piece: nested text is
 * re-indented by prefixing its line breaks (JSON.stringify escapes line breaks inside strings, so every
 * raw newline is structural).
 */
function jsonWriter<T>(options: WriteResultsOptions<T>, write: (chunk: string) => Promise<void>): Writer<T> {
  const indent = Math.max(0, Math.min(10, Math.trunc(options.jsonIndent ?? 2)));
  const pad = " ".repeat(indent);
  const nl = indent > 0 ? "\n" : "";
  const colon = indent > 0 ? ": " : ":";
  const nest = (text: string, prefix: string): string =>
    indent > 0 ? text.replaceAll("\n", `\n${prefix}`) : text;
  let first = true;
  const reserved = new Set(["command", "generatedAt", "items", "errors", "summary"]);
  const extraFields = (): string =>
    Object.entries(options.extra?.() ?? {})
      .filter(([key, value]) => !reserved.has(key) && value !== undefined)
      .map(([key, value]) => `,${nl}${pad}${JSON.stringify(key)}${colon}${nest(toJson(value, indent), pad)}`)
      .join("");
  // The head waits for the first item (or the end), so a run that fails before it leaves nothing on
  // stdout rather than half a document.
  let head = "";
  return {
    async start() {
      const generatedAt = (options.now?.() ?? new Date()).toISOString();
      head =
        `{${nl}${pad}"command"${colon}${JSON.stringify(options.command)},` +
        `${nl}${pad}"generatedAt"${colon}${JSON.stringify(generatedAt)},${nl}${pad}"items"${colon}[`;
    },
    async item(item) {
      const text = nest(toJson(item, indent), pad + pad);
      await write(`${first ? head : ","}${nl}${pad}${pad}${text}`);
      first = false;
    },
    async end(errors, summary) {
      const close = first ? `${head}]` : `${nl}${pad}]`;
      await write(
        `${close},${nl}${pad}"errors"${colon}${nest(toJson(errors, indent), pad)},` +
          `${nl}${pad}"summary"${colon}${nest(toJson(summary, indent), pad)}${extraFields()}${nl}}\n`,
      );
    },
  };
}

/** Emits the errors that appeared since the last call, so they reach stderr while the run goes on. */
function errorReporter(options: WriteResultsOptions<unknown>, format: (error: ErrorRecord) => string) {
  let reported = 0;
  return (errors: readonly ErrorRecord[] | undefined = options.errors?.()): void => {
    if (!options.stderr || !errors) return;
    for (; reported < errors.length; reported += 1) {
      const error = errors[reported];
      if (error) options.stderr.write(`${format(error)}\n`);
    }
  };
}

function jsonLine(error: ErrorRecord): string {
  return JSON.stringify({ ...error, message: redactSecrets(error.message) });
}

function ndjsonWriter<T>(
  options: WriteResultsOptions<T>,
  write: (chunk: string) => Promise<void>,
): Writer<T> {
  const reportErrors = errorReporter(options as WriteResultsOptions<unknown>, jsonLine);
  return {
    async start() {},
    async item(item) {
      await write(`${toJson(item, 0)}\n`);
      reportErrors();
    },
    async end(errors) {
      reportErrors(errors);
    },
  };
}

function csvWriter<T>(options: WriteResultsOptions<T>, write: (chunk: string) => Promise<void>): Writer<T> {
  const reportErrors = errorReporter(options as WriteResultsOptions<unknown>, jsonLine);
  const csv = options.csv ?? {};
  const settings = {
    record_delimiter: csv.recordDelimiter === "\r\n" ? ("windows" as const) : ("unix" as const),
    // Done by neutralizeFormula on our side: csv-stringify leaves a "-" alone in number fields only.
    escape_formulas: false,
    // csv-stringify quotes "\n" but not a lone "\r", which RFC 4180 readers take as a line break too.
    quoted_match: /\r/,
  };
  let columns: ResolvedColumn<T>[] | undefined = options.columns
    ? resolveColumns(options.columns)
    : undefined;
  let started = false;
  const neutralize = csv.escapeFormulas ?? true;
  const row = (cells: string[]): string => stringify([cells], settings);
  const header = async (): Promise<void> => {
    if (started || !columns) return;
    started = true;
    await write((csv.bom ? "\ufeff" : "") + row(columns.map((c) => c.header)));
  };
  return {
    async start() {
      await header();
    },
    async item(item) {
      columns ??= columnsFromItem(item, { skipNested: false });
      await header();
      const cells = columns.map((c) => cellText(c.get(item), ";"));
      await write(row(neutralize ? cells.map(neutralizeFormula) : cells));
      reportErrors();
    },
    async end(errors) {
      reportErrors(errors);
    },
  };
}

function tableWriter<T>(options: WriteResultsOptions<T>, write: (chunk: string) => Promise<void>): Writer<T> {
  let columns: ResolvedColumn<T>[] | undefined = options.columns
    ? resolveColumns(options.columns)
    : undefined;
  const sortBy = options.sortBy === undefined ? naturalKeyFor(options.command) : options.sortBy;
  // Only the cells' text and the sort key are kept, not the items.
  const rows: Array<{ key: string[]; cells: string[] }> = [];
  return {
    async start() {},
    async item(item) {
      columns ??= columnsFromItem(item, { skipNested: true });
      rows.push({
        key: sortBy ? sortKeyOf(item, sortBy) : [],
        cells: columns.map((c) => cellText(c.get(item), ", ")),
      });
    },
    async end(errors, summary) {
      let text = "";
      if (columns && columns.length > 0) {
        if (sortBy) rows.sort((a, b) => compareKeys(a.key, b.key));
        // No colours: the same text goes to terminals, files and blobs.
        text = renderTable(
          columns.map((c) => c.header),
          rows.map((r) => r.cells),
          options.table,
        );
      }
      // The count line closes the table; summary values can hold names from clouds too.
      await write(
        text + sanitizeTerminalText(summaryLine(rows.length, errors.length, summary).trimEnd()) + "\n",
      );
      if (options.stderr) {
        for (const e of errors) {
          options.stderr.write(
            `${sanitizeTerminalText(`error: ${e.scope || "-"} (${e.phase || "-"}): ${e.code}: ${redactSecrets(e.message)}`)}\n`,
          );
        }
      }
    },
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function summaryLine(items: number, errors: number, summary: Record<string, unknown>): string {
  const parts = [plural(items, "item"), plural(errors, "error")];
  for (const [key, value] of Object.entries(summary)) {
    parts.push(
      `${key}: ${typeof value === "object" && value !== null ? JSON.stringify(value) : String(value)}`,
    );
  }
  return `${parts.join(", ")}\n`;
}
