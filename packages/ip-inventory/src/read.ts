import { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import {
  CloudAdminError,
  type ErrorRecord,
  InvalidInputError,
  PartialFailureError,
} from "@cloudadmin/errors";
import type { JobOptions, Shard } from "@cloudadmin/paging";
import { parse as parseCsv } from "csv-parse";
import { scanJsonDocument } from "./json-items.js";
import {
  type AzureVmItem,
  type Ec2Item,
  type IpRecord,
  fromAzureItem,
  fromEc2Item,
  isIpRecordShape,
  normaliseIpRecord,
} from "./record.js";
import type { IpFilter } from "./query.js";
import { type InventorySource, type OpenedSource, type SourceOptions, openSource } from "./source.js";

export type InventoryFormat = "json" | "ndjson" | "csv";

/** What one source held besides its items: read when the source has been read to its end. */
export interface InventoryDocumentInfo {
  /** The source's display name (a URL without its SAS). */
  source: string;
  format: InventoryFormat;
  /** The json document's `command` (`azure-vm-ips`, `ec2-ips`), else null. */
  command: string | null;
  generatedAt: string | null;
  /** A sharded run's `shard`, else null. */
  shard: Shard | null;
  /** The scopes (subscription or account IDs) a sharded run covered, else null. */
  scopes: string[] | null;
  /** The document's own `errors[]` (scopes its run could not read). */
  errors: ErrorRecord[];
  summary: Record<string, unknown> | null;
  /** Items read (VMs or instances, or IP records). */
  items: number;
}

/** Options of {@link readInventory}. */
export interface ReadInventoryOptions extends SourceOptions, Pick<JobOptions, "signal" | "onError"> {
  /** Every source's format (default: from the name's extension, else sniffed from its first bytes). */
  format?: InventoryFormat;
  /** Called when a source has been read to its end, with what it held besides items. */
  onDocument?: (info: InventoryDocumentInfo) => void;
  /**
   * A problem with a set of shard documents that leaves the inventory incomplete (a missing shard):
   * a CloudAdminError with `scope` and `phase` set. Without this callback it is thrown at the end.
   */
  onError?: (error: CloudAdminError) => void;
}

/** The commands whose documents are inventories (`ips find` output, command `ips`, is one too). */
const INVENTORY_COMMANDS = new Set(["azure-vm-ips", "ec2-ips", "ips", "merge"]);

/** A raw item with the time it was observed. */
export interface RawItem {
  value: Record<string, unknown>;
  observedAt: string | null;
}

function formatFromName(name: string): InventoryFormat | undefined {
  const path = name.toLowerCase().split(/[?#]/)[0] ?? "";
  if (path.endsWith(".json")) return "json";
  if (path.endsWith(".ndjson") || path.endsWith(".jsonl")) return "ndjson";
  if (path.endsWith(".csv")) return "csv";
  return undefined;
}

/** Re-yields a stream after its first chunk was taken to look at. */
async function* prepend(
  first: Buffer | string,
  rest: AsyncIterator<Buffer | string>,
): AsyncGenerator<Buffer | string> {
  yield first;
  for (;;) {
    const next = await rest.next();
    if (next.done) return;
    yield next.value;
  }
}

async function sniff(
  opened: OpenedSource,
): Promise<{ format: InventoryFormat; chunks: AsyncIterable<Buffer | string> }> {
  const iterator = opened.chunks[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done)
    throw new InvalidInputError(`${opened.name} is not an inventory (it is empty)`, { phase: "read" });
  const head = (
    typeof first.value === "string" ? first.value : first.value.toString("utf8", 0, 65536)
  ).replace(/^\ufeff/, "");
  const chunks = prepend(first.value, iterator);
  const trimmed = head.trimStart();
  if (trimmed.startsWith("{")) {
    const line = trimmed.split("\n", 1)[0] ?? "";
    try {
      const value = JSON.parse(line) as unknown;
      if (value !== null && typeof value === "object" && !("items" in value))
        return { format: "ndjson", chunks };
    } catch {
      // Not one object per line: a json document (pretty-printed or long).
    }
    return { format: "json", chunks };
  }
  const headerLine = trimmed.split(/\r?\n/, 1)[0] ?? "";
  if (/^[A-Za-z"][\w" ]*(,[\w" ]+)+$/.test(headerLine)) return { format: "csv", chunks };
  throw new InvalidInputError(`${opened.name} is not an inventory (not json, ndjson or csv)`, {
    phase: "read",
  });
}

/**
 * The items of one source, as plain objects in batches (one per chunk read), and (as the generator's
 * return value) what else it held.
 * With `items: false` a json document's items are skipped without being parsed.
 */
export async function* readDocument(
  source: InventorySource,
  options: ReadInventoryOptions & { items?: boolean } = {},
): AsyncGenerator<RawItem[], InventoryDocumentInfo> {
  const opened = await openSource(source, options);
  let format = options.format ?? formatFromName(opened.name);
  let chunks = opened.chunks;
  if (format === undefined) ({ format, chunks } = await sniff(opened));
  const fallbackTime = opened.modifiedAt ? opened.modifiedAt.toISOString() : null;
  const info: InventoryDocumentInfo = {
    source: opened.name,
    format,
    command: null,
    generatedAt: null,
    shard: null,
    scopes: null,
    errors: [],
    summary: null,
    items: 0,
  };
  const notInventory = (why: string) =>
    new InvalidInputError(`${opened.name} is not an inventory (${why})`, {
      phase: "read",
      scope: opened.name,
    });
  if (format === "json") {
    let sawItems = false;
    for await (const events of scanJsonDocument(chunks, opened.name, { items: options.items !== false })) {
      const batch: RawItem[] = [];
      for (const event of events) {
        if (event.type === "items-end") {
          sawItems = true;
          continue;
        }
        if (event.type === "items") {
          const observedAt = info.generatedAt ?? fallbackTime;
          for (const value of event.values) {
            if (value === null || typeof value !== "object" || Array.isArray(value))
              throw notInventory("an item is not an object");
            batch.push({ value: value as Record<string, unknown>, observedAt });
          }
          info.items += event.values.length;
          continue;
        }
        const { key, value } = event;
        if (key === "command") {
          if (typeof value !== "string" || !INVENTORY_COMMANDS.has(value))
            throw notInventory(`its command is ${JSON.stringify(value)}, not azure-vm-ips or ec2-ips`);
          info.command = value;
        } else if (key === "generatedAt" && typeof value === "string") info.generatedAt = value;
        else if (key === "items") sawItems = Array.isArray(value);
        else if (key === "errors" && Array.isArray(value)) info.errors = value as ErrorRecord[];
        else if (key === "summary" && value && typeof value === "object")
          info.summary = value as Record<string, unknown>;
        else if (key === "shard") info.shard = checkShardField(value, opened.name);
        else if (key === "scopes" && Array.isArray(value)) info.scopes = value.map(String);
      }
      if (batch.length > 0) yield batch;
    }
    if (!sawItems) throw notInventory("it has no items array");
    if (info.command === null) throw notInventory("it names no command");
    return info;
  }
  const observedAt = fallbackTime;
  const items = format === "ndjson" ? ndjsonItems(chunks, opened.name) : csvItems(chunks, opened.name);
  for await (const values of items) {
    info.items += values.length;
    yield values.map((value) => ({ value, observedAt }));
  }
  return info;
}

function checkShardField(value: unknown, name: string): Shard {
  const shard = value as { index?: unknown; count?: unknown } | null;
  const index = shard?.index;
  const count = shard?.count;
  if (
    typeof index !== "number" ||
    typeof count !== "number" ||
    !Number.isInteger(index) ||
    !Number.isInteger(count) ||
    count < 1 ||
    index < 0 ||
    index >= count
  ) {
    throw new InvalidInputError(
      `${name}: shard ${JSON.stringify(value)} is not valid (index from 0, below count)`,
      { phase: "read", scope: name },
    );
  }
  return { index, count };
}

async function* ndjsonItems(
  chunks: AsyncIterable<Buffer | string>,
  name: string,
): AsyncGenerator<Record<string, unknown>[]> {
  const decoder = new StringDecoder("utf8");
  let rest = "";
  let line = 0;
  const parseLine = (text: string): Record<string, unknown> | undefined => {
    line++;
    if (text.trim() === "") return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new InvalidInputError(`${name} is not an inventory (line ${line} is not JSON)`, {
        phase: "read",
      });
    }
    if (value === null || typeof value !== "object" || Array.isArray(value))
      throw new InvalidInputError(`${name} is not an inventory (line ${line} is not an object)`, {
        phase: "read",
      });
    return value as Record<string, unknown>;
  };
  for await (const chunk of chunks) {
    const text = rest + (typeof chunk === "string" ? chunk : decoder.write(chunk));
    let start = 0;
    const batch: Record<string, unknown>[] = [];
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
      const value = parseLine(text.slice(start, nl));
      if (value) batch.push(value);
      start = nl + 1;
    }
    rest = text.slice(start);
    if (batch.length > 0) yield batch;
  }
  const value = parseLine(rest + decoder.end());
  if (value) yield [value];
}

const LIST_FIELDS = new Set(["privateIps", "publicIps", "ipv6Ips"]);

/** A csv cell back to a value: lists split on `;`, JSON-encoded nested values parsed, formula guards removed. */
function csvValue(key: string, cell: string): unknown {
  const text = /^'[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell;
  if (LIST_FIELDS.has(key)) return text === "" ? [] : text.split(";").filter((s) => s !== "");
  if (key === "networkInterfaces") {
    if (text.startsWith("[")) {
      try {
        return JSON.parse(text);
      } catch {
        return [];
      }
    }
    return text === "" ? [] : text.split(";").filter((s) => s !== "");
  }
  return text === "" ? null : text;
}

async function* csvItems(
  chunks: AsyncIterable<Buffer | string>,
  name: string,
): AsyncGenerator<Record<string, unknown>[]> {
  const parser = parseCsv({ columns: true, bom: true, skip_empty_lines: true, relax_quotes: false });
  const input = Readable.from(chunks);
  input.on("error", (error) => parser.destroy(error));
  input.pipe(parser);
  try {
    for await (const row of parser as AsyncIterable<Record<string, string>>) {
      const value: Record<string, unknown> = {};
      for (const [key, cell] of Object.entries(row)) value[key] = csvValue(key, cell);
      yield [value];
    }
  } catch (error) {
    if (error instanceof CloudAdminError) throw error;
    const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new InvalidInputError(`${name} is not an inventory (bad csv: ${message})`, {
      phase: "read",
      cause: error,
    });
  } finally {
    input.destroy();
  }
}

/** The IP records of one raw item, whichever job wrote it; invalid input when it is neither. */
export function ipRecordsOf(raw: RawItem, name: string, keep?: IpFilter): IpRecord[] {
  const item = raw.value;
  if (typeof item.instanceId === "string" && item.accountId != null)
    return fromEc2Item(item as unknown as Ec2Item, raw.observedAt, keep);
  if (typeof item.vmId === "string" && item.subscriptionId != null)
    return fromAzureItem(item as unknown as AzureVmItem, raw.observedAt, keep);
  if (isIpRecordShape(item)) {
    const record = normaliseIpRecord(item, raw.observedAt);
    if (record) return !keep || keep(record) ? [record] : [];
  }
  throw new InvalidInputError(
    `${name} is not an inventory (an item is neither an azure-vm-ips nor an ec2-ips record)`,
    { phase: "read", scope: name },
  );
}

/**
 * Every IP of every VM and instance in saved inventories, as one {@link IpRecord} per IP and holder,
 * read as a stream: memory holds one item at a time, whatever the inventory's size.
 *
 * Sources are files or blob URLs holding `azure-vm-ips` or `ec2-ips` output as json (the envelope,
 * including the Functions app's `vm-ips/<timestamp>.json` and `latest.json`), ndjson or csv, or earlier
 * `ips find` output. A set of shard documents is read as one inventory; a missing shard is reported
 * through `onError`.
 *
 * @throws InvalidInputError when a source is not an inventory (one clear line naming it).
 * @example
 * ```ts
 * for await (const record of readInventory(["vms.json", "instances.ndjson"])) {
 *   console.log(record.ip, record.cloud, record.resourceName);
 * }
 * ```
 */
export function readInventory(
  sources: InventorySource | readonly InventorySource[],
  options: ReadInventoryOptions = {},
): IpRecordStream {
  const list: readonly InventorySource[] =
    typeof sources === "string" || !Array.isArray(sources) ? [sources as InventorySource] : sources;
  const batches = () => readInventoryBatches(list, options, undefined);
  return {
    batches,
    filtered: (keep) => readInventoryBatches(list, options, keep),
    async *[Symbol.asyncIterator]() {
      for await (const batch of batches()) yield* batch;
    },
  };
}

/**
 * IP records as an async iterable, plus the same records in batches (one per chunk read): the
 * batches skip an async step per record, which costs more than reading it ({@link findIps} and
 * {@link diffInventories} use them).
 */
export interface IpRecordStream extends AsyncIterable<IpRecord> {
  batches(): AsyncIterable<IpRecord[]>;
  /** Only the records whose IP and holder pass `keep`, tested before the record is built. */
  filtered(keep: IpFilter): AsyncIterable<IpRecord[]>;
}

async function* readInventoryBatches(
  list: readonly InventorySource[],
  options: ReadInventoryOptions,
  keep: IpFilter | undefined,
): AsyncGenerator<IpRecord[]> {
  const infos: InventoryDocumentInfo[] = [];
  for (const source of list) {
    const reader = readDocument(source, options);
    const name = sourceLabel(source);
    for (;;) {
      const next = await reader.next();
      if (next.done) {
        infos.push(next.value);
        options.onDocument?.(next.value);
        break;
      }
      const records: IpRecord[] = [];
      for (const raw of next.value) for (const record of ipRecordsOf(raw, name, keep)) records.push(record);
      if (records.length > 0) yield records;
    }
  }
  const problems = shardSetProblems(infos);
  if (problems.fatal) throw problems.fatal;
  for (const error of problems.errors) {
    if (options.onError) options.onError(error);
    else throw error;
  }
}

/** Records in batches, whatever the input: a stream's own batches, an array, or groups of 1,024. */
export async function* batchesOf(
  input: AsyncIterable<IpRecord> | Iterable<IpRecord>,
): AsyncGenerator<IpRecord[]> {
  const stream = input as Partial<IpRecordStream>;
  if (typeof stream.batches === "function") {
    yield* stream.batches();
    return;
  }
  if (Array.isArray(input)) {
    yield input;
    return;
  }
  let batch: IpRecord[] = [];
  for await (const record of input) {
    batch.push(record);
    if (batch.length >= 1024) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

function sourceLabel(source: InventorySource): string {
  return typeof source === "string" ? (source.split(/[?#]/)[0] ?? source) : source.name;
}

/**
 * Checks a set of documents that are shards of one run: one command, one shard count, no index twice
 * (`fatal`, invalid input), and every shard present, every scope covered by the shard it hashes to
 * (`errors`, the inventory is incomplete). Documents without `shard` are not part of a shard set.
 */
export function shardSetProblems(infos: readonly InventoryDocumentInfo[]): {
  fatal: CloudAdminError | undefined;
  errors: CloudAdminError[];
} {
  const sharded = infos.filter((i) => i.shard !== null);
  const errors: CloudAdminError[] = [];
  if (sharded.length === 0) return { fatal: undefined, errors };
  // Shards of different jobs (an azure set beside an ec2 set) are checked per command.
  const byCommand = new Map<string, InventoryDocumentInfo[]>();
  for (const info of sharded) {
    const list = byCommand.get(info.command ?? "") ?? [];
    list.push(info);
    byCommand.set(info.command ?? "", list);
  }
  for (const [command, set] of byCommand) {
    const counts = new Set(set.map((i) => i.shard?.count));
    if (counts.size > 1) {
      return {
        fatal: new InvalidInputError(
          `the ${command} shard documents are of different shard counts (${[...counts].join(", ")}): ${set.map((i) => `${i.source} is ${i.shard?.index}/${i.shard?.count}`).join(", ")}`,
          { phase: "merge" },
        ),
        errors,
      };
    }
    const count = set[0]?.shard?.count ?? 1;
    const seen = new Map<number, string>();
    for (const info of set) {
      const index = info.shard?.index ?? 0;
      const other = seen.get(index);
      if (other !== undefined) {
        return {
          fatal: new InvalidInputError(
            `${other} and ${info.source} are both shard ${index}/${count} of ${command}`,
            {
              phase: "merge",
            },
          ),
          errors,
        };
      }
      seen.set(index, info.source);
    }
    for (let index = 0; index < count; index++) {
      if (!seen.has(index)) {
        errors.push(
          new PartialFailureError(
            `shard ${index}/${count} of ${command} is missing: the scopes it covers are not in the inventory`,
            [],
            { phase: "merge", scope: `${command} shard ${index}/${count}` },
          ),
        );
      }
    }
  }
  return { fatal: undefined, errors };
}
