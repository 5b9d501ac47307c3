import { InvalidInputError } from "@cloudadmin/errors";
import type { CgroupSample } from "./cgroup.js";
import type { LeakPhase, LeakSample } from "./types.js";

/** A line of a samples stream was refused (code `ERR_INVALID_INPUT`); `line` counts from 1. */
export class LeakSampleError extends InvalidInputError {
  readonly line: number;
  constructor(source: string, line: number, reason: string) {
    super(`${source} line ${line}: ${reason}`, { scope: source, phase: "read-samples" });
    this.line = line;
  }
}

/** Options of {@link readLeakSamples}. */
export interface ReadLeakSamplesOptions {
  /** Names the input in errors (a file name); default `samples`. */
  source?: string;
  /** Longest line accepted, in bytes (default 64 KiB; a sample line is well under 1 KiB). */
  maxLineBytes?: number;
  /**
   * A last line with no newline that is not valid JSON is what a run killed mid-write leaves:
   * `true` drops it, `false` (default) refuses it like any other bad line.
   */
  allowTruncatedEnd?: boolean;
}

const PHASES: ReadonlySet<string> = new Set<LeakPhase>([
  "start",
  "allocated",
  "touched",
  "allocation-failed",
  "holding",
  "released",
  "snapshot",
]);
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/**
 * Reads the NDJSON samples a run wrote (`cloudadmin leak-memory --json`, one {@link LeakSample} per
 * line) from a stream or any async iterable of text or bytes, and yields them checked: every field
 * of SPEC section 4 present with a value of its type and range, unknown fields dropped. Blank
 * lines, CRLF line ends and a leading byte order mark are accepted. The first bad line ends the
 * iteration with one {@link LeakSampleError} naming the line; memory stays bounded by
 * `maxLineBytes` whatever the input.
 *
 * @example
 * ```ts
 * import { createReadStream } from "node:fs";
 * for await (const sample of readLeakSamples(createReadStream("samples.ndjson"), { source: "samples.ndjson" })) {
 *   console.log(sample.t, sample.cgroup.workingSetBytes);
 * }
 * ```
 */
export async function* readLeakSamples(
  input: AsyncIterable<string | Uint8Array>,
  options: ReadLeakSamplesOptions = {},
): AsyncGenerator<LeakSample> {
  const source = options.source ?? "samples";
  const maxLineBytes = options.maxLineBytes ?? 64 * 1024;
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let pending = "";
  let line = 0;
  const decode = (chunk: Uint8Array | undefined): string => {
    try {
      return chunk === undefined ? decoder.decode() : decoder.decode(chunk, { stream: true });
    } catch {
      throw new LeakSampleError(source, line + 1, "not UTF-8 text");
    }
  };
  for await (const chunk of input) {
    pending += typeof chunk === "string" ? chunk : decode(chunk);
    let start = 0;
    for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n", start)) {
      line += 1;
      const text = pending.slice(start, nl);
      start = nl + 1;
      checkLength(source, line, text, maxLineBytes);
      const sample = toSample(source, line, parseJson(source, line, text));
      if (sample !== null) yield sample;
    }
    pending = pending.slice(start);
    // A line is still arriving: refuse it as soon as it is too long, not once it ends.
    checkLength(source, line + 1, pending, maxLineBytes);
  }
  pending += decode(undefined);
  if (pending.trim() === "") return;
  line += 1;
  checkLength(source, line, pending, maxLineBytes);
  const json = parseJson(source, line, pending, true);
  if (json === TRUNCATED) {
    if (options.allowTruncatedEnd === true) return;
    throw new LeakSampleError(
      source,
      line,
      "the last line is incomplete (no newline, not JSON): the run may have been killed while writing it",
    );
  }
  const sample = toSample(source, line, json);
  if (sample !== null) yield sample;
}

const BLANK = Symbol("blank line");
const TRUNCATED = Symbol("truncated last line");

/** A line's JSON value; BLANK for a blank line; TRUNCATED for an unterminated last line that is not JSON. */
function parseJson(source: string, line: number, raw: string, last = false): unknown {
  let text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
  if (line === 1 && text.startsWith("\uFEFF")) text = text.slice(1);
  if (text.trim() === "") return BLANK;
  try {
    return JSON.parse(text);
  } catch (error) {
    if (last) return TRUNCATED;
    throw new LeakSampleError(source, line, `not JSON (${(error as Error).message})`);
  }
}

function checkLength(source: string, line: number, text: string, maxLineBytes: number): void {
  // UTF-16 length <= UTF-8 bytes * 1, and bytes <= length * 3: only count bytes near the limit.
  if (
    text.length > maxLineBytes ||
    (text.length * 3 > maxLineBytes && Buffer.byteLength(text) > maxLineBytes)
  ) {
    throw new LeakSampleError(source, line, `longer than ${maxLineBytes} bytes: not a sample`);
  }
}

/** A line's JSON value checked as a sample, with only the sample's fields; null for a blank line. */
function toSample(source: string, line: number, value: unknown): LeakSample | null {
  if (value === BLANK) return null;
  const bad = (reason: string): never => {
    throw new LeakSampleError(source, line, reason);
  };
  const record = asRecord(value) ?? bad("not a JSON object");
  const t = record.t;
  if (typeof t !== "string" || !ISO_TIME.test(t) || Number.isNaN(Date.parse(t))) {
    bad(`t must be an ISO 8601 UTC time (got ${describe(t)})`);
  }
  const phase = record.phase;
  if (typeof phase !== "string" || !PHASES.has(phase)) {
    bad(`phase must be one of ${[...PHASES].join(", ")} (got ${describe(phase)})`);
  }
  const count = (name: string, value: unknown): number =>
    isCount(value) ? value : bad(`${name} must be a whole number from 0 (got ${describe(value)})`);
  const countOrNull = (name: string, value: unknown): number | null =>
    value === null ? null : count(name, value);
  const cgroupRecord =
    asRecord(record.cgroup) ?? bad(`cgroup must be an object (got ${describe(record.cgroup)})`);
  const version = cgroupRecord.version;
  if (version !== 1 && version !== 2 && version !== null) {
    bad(`cgroup.version must be 1, 2 or null (got ${describe(version)})`);
  }
  const cgroup: CgroupSample = {
    version: version as 1 | 2 | null,
    limitBytes: countOrNull("cgroup.limitBytes", cgroupRecord.limitBytes),
    usageBytes: countOrNull("cgroup.usageBytes", cgroupRecord.usageBytes),
    inactiveFileBytes: countOrNull("cgroup.inactiveFileBytes", cgroupRecord.inactiveFileBytes),
    workingSetBytes: countOrNull("cgroup.workingSetBytes", cgroupRecord.workingSetBytes),
    oomEvents: countOrNull("cgroup.oomEvents", cgroupRecord.oomEvents),
    oomKillEvents: countOrNull("cgroup.oomKillEvents", cgroupRecord.oomKillEvents),
  };
  const oomScore = record.oomScore;
  if (oomScore !== null && !isCount(oomScore))
    bad(`oomScore must be a whole number from 0 or null (got ${describe(oomScore)})`);
  const oomScoreAdj = record.oomScoreAdj;
  if (oomScoreAdj !== null && !(Number.isInteger(oomScoreAdj) && Math.abs(oomScoreAdj as number) <= 1000)) {
    bad(`oomScoreAdj must be a whole number from -1000 to 1000 or null (got ${describe(oomScoreAdj)})`);
  }
  const sample: LeakSample = {
    t: t as string,
    phase: phase as LeakPhase,
    block: count("block", record.block),
    allocatedBytes: count("allocatedBytes", record.allocatedBytes),
    touchedBytes: count("touchedBytes", record.touchedBytes),
    rssBytes: count("rssBytes", record.rssBytes),
    heapUsedBytes: count("heapUsedBytes", record.heapUsedBytes),
    externalBytes: count("externalBytes", record.externalBytes),
    oomScore: oomScore as number | null,
    oomScoreAdj: oomScoreAdj as number | null,
    cgroup,
  };
  if (record.error !== undefined) {
    if (typeof record.error !== "string") bad(`error must be a string (got ${describe(record.error)})`);
    sample.error = record.error as string;
  }
  return sample;
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** A short, printable account of a refused value (never the whole of a long string). */
function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
