/**
 * `@cloudadmin/output`: the results of a cloudadmin job, written the way SPEC section 4 says.
 *
 * - {@link writeResults} streams an async iterable as json (the `{ command, generatedAt, items, errors,
 *   summary }` envelope), ndjson, csv or a table into a {@link Sink}.
 * - Sinks: {@link stdoutSink}; {@link createFileSink} (atomic: temp file, fsync, rename on commit);
 *   {@link createBlobSink} (uploaded to Azure Blob Storage on commit); {@link openSink} picks file or blob
 *   from an `--out` target. {@link writeFileAtomic} writes any file atomically.
 * - {@link createProgressReporter} draws progress on stderr (live on a TTY, periodic lines elsewhere).
 *
 * @example
 * ```ts
 * import { createProgressReporter, openSink, writeResults } from "@cloudadmin/output";
 * const progress = createProgressReporter({ stream: process.stderr, label: "ec2-ips" });
 * const errors: ErrorRecord[] = [];
 * let n = 0;
 * async function* items() {
 *   for await (const instance of listEc2Ips({ ...options, onError: (e) => errors.push(e) })) {
 *     progress.update({ instances: ++n });
 *     yield instance;
 *   }
 * }
 * try {
 *   await writeResults({ format: "ndjson", command: "ec2-ips", items: items(), errors: () => errors,
 *     sink: await openSink("ips.ndjson", { format: "ndjson" }), stderr: process.stderr });
 * } finally {
 *   progress.stop();
 * }
 * ```
 * @packageDocumentation
 */
export type { ErrorRecord } from "@cloudadmin/errors";
export { type Sink, type TextWriter, stdoutSink } from "./sink.js";
export {
  type AtomicData,
  type WriteFileAtomicOptions,
  createFileSink,
  writeFileAtomic,
} from "./atomic-file.js";
export {
  type BlobAuthOptions,
  type BlobSinkOptions,
  createBlobSink,
  createContainerClient,
} from "./blob-sink.js";
export { type BlobUrlParts, looksLikeUrl, parseBlobUrl, redactUrl } from "./blob-url.js";
export {
  OUTPUT_FORMATS,
  type OpenSinkOptions,
  type OutputFormat,
  contentTypeFor,
  openSink,
} from "./open-sink.js";
export type { Column, ColumnSpec } from "./columns.js";
export {
  type CsvOptions,
  type WriteResultsOptions,
  type WriteResultsSummary,
  writeResults,
} from "./write-results.js";
export { type RenderTableOptions, renderTable, sanitizeTerminalText } from "./table.js";
export { neutralizeFormula } from "./csv-safe.js";
export {
  type ProgressFields,
  type ProgressReporter,
  type ProgressReporterOptions,
  type ProgressStream,
  type ProgressTimers,
  createProgressReporter,
} from "./progress.js";
