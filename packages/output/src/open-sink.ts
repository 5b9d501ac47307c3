import { UsageError } from "@cloudadmin/errors";
import { type BlobSinkOptions, createBlobSink } from "./blob-sink.js";
import { looksLikeUrl, parseBlobUrl } from "./blob-url.js";
import { createFileSink } from "./atomic-file.js";
import type { Sink } from "./sink.js";

/** The output formats of SPEC section 4 (`-o, --output`). */
export type OutputFormat = "json" | "ndjson" | "csv" | "table";

/** The formats as a list, for flag validation and help text. */
export const OUTPUT_FORMATS: readonly OutputFormat[] = ["json", "ndjson", "csv", "table"];

const CONTENT_TYPES: Record<OutputFormat, string> = {
  json: "application/json",
  ndjson: "application/x-ndjson",
  csv: "text/csv; charset=utf-8",
  table: "text/plain; charset=utf-8",
};

/**
 * The `Content-Type` a document of this format is stored with: `application/json`,
 * `application/x-ndjson`, `text/csv; charset=utf-8` or `text/plain; charset=utf-8`.
 */
export function contentTypeFor(format: OutputFormat): string {
  return CONTENT_TYPES[format];
}

/** Options of {@link openSink}: the blob options, plus the format that sets the blob's content type. */
export interface OpenSinkOptions extends Omit<BlobSinkOptions, "contentType"> {
  /** Sets the blob's content type (see {@link contentTypeFor}); `contentType` wins when both are given. */
  format?: OutputFormat;
  contentType?: string;
  /** File mode for a new file (an existing file keeps its mode). */
  mode?: number;
}

/**
 * Opens the sink for an `--out` target: an Azure Blob URL becomes a {@link createBlobSink} (uploaded on
 * commit), anything that is not a URL a {@link createFileSink} (atomic rename on commit).
 *
 * @throws ConfigError (`ERR_CONFIG`, exit 3) for plain http to a non-loopback host, or missing blob
 * credentials; UsageError (`ERR_USAGE`, exit 2) for a URL that is not a blob URL, an empty target or a
 * folder that does not exist.
 * @example
 * ```ts
 * import { openSink, writeResults } from "@cloudadmin/output";
 * const sink = await openSink(flags.out, {
 *   format: "csv",
 *   connectionString: env.AZURE_STORAGE_CONNECTION_STRING,
 *   credential: new DefaultAzureCredential(),
 * });
 * await writeResults({ format: "csv", command: "ec2-ips", items: listEc2Ips(options), sink });
 * ```
 */
export async function openSink(target: string, options: OpenSinkOptions = {}): Promise<Sink> {
  if (target.trim() === "")
    throw new UsageError("the output target is empty: name a file path or an Azure Blob URL");
  if (looksLikeUrl(target)) {
    // Validate before anything else so a bad URL is reported the same way whatever the credentials.
    parseBlobUrl(target, { kind: "blob" });
    const { format, contentType, mode: _mode, ...blob } = options;
    const type = contentType ?? (format ? contentTypeFor(format) : undefined);
    return createBlobSink(target, { ...blob, ...(type === undefined ? {} : { contentType: type }) });
  }
  return createFileSink(target, options.mode === undefined ? {} : { mode: options.mode });
}
