import { AbortedError } from "@cloudadmin/errors";
import { type IpQuery, compileQueries, parseQuery } from "./query.js";
import { type IpRecordStream, batchesOf } from "./read.js";
import type { IpRecord } from "./record.js";

/** What `ips find` says about an IP besides who holds it. */
export type IpAnomaly = "public-ip-shared" | "private-ip-duplicate";

/** An {@link IpRecord} that matched a query, with the anomaly its IP shows, if any. */
export interface IpFindRecord extends IpRecord {
  anomaly: IpAnomaly | null;
}

/** Records to search: an iterable, or a function that reads them afresh (allows a second pass). */
export type IpRecordInput =
  | AsyncIterable<IpRecord>
  | Iterable<IpRecord>
  | (() => AsyncIterable<IpRecord> | Iterable<IpRecord>);

export interface FindIpsOptions {
  signal?: AbortSignal;
}

/** The key under which two holders of one IP clash: public IPs are global, private ones per account and region. */
function clashKey(r: IpRecord): string {
  return r.visibility === "public"
    ? `public|${r.ip}`
    : `private|${r.cloud}|${r.accountId.toLowerCase()}|${(r.region ?? "").toLowerCase()}|${r.ip}`;
}

function holderKey(r: IpRecord): string {
  return `${r.visibility}|${r.ip}|${r.cloud}|${r.resourceId.toLowerCase()}|${r.networkInterfaceId ?? ""}`;
}

function ipSortKey(r: IpRecord): string {
  if (r.version === 4)
    return `4${r.ip
      .split(".")
      .map((p) => p.padStart(3, "0"))
      .join(".")}`;
  return `6${r.ip}`;
}

/** Natural order of results: IP (numerically for IPv4), then cloud, account and resource. */
export function compareIpRecords(a: IpRecord, b: IpRecord): number {
  const ka = ipSortKey(a);
  const kb = ipSortKey(b);
  if (ka !== kb) return ka < kb ? -1 : 1;
  const ra = `${a.cloud}|${a.accountId}|${a.resourceId}|${a.visibility}`;
  const rb = `${b.cloud}|${b.accountId}|${b.resourceId}|${b.visibility}`;
  return ra < rb ? -1 : ra > rb ? 1 : 0;
}

/**
 * Every holder of the queried IPs (addresses, CIDRs or name globs, see {@link parseQuery}), with the
 * anomalies an admin wants to see: `public-ip-shared` (one public IP held by two resources) and
 * `private-ip-duplicate` (one private IP held by two resources in one account or subscription and
 * region). Results come sorted by IP once the input is read; memory holds the matches only.
 *
 * An address or CIDR query finds every holder of a matching IP in one pass. A name query matches
 * resources, whose IPs may have other holders: given a function that reads the input again, a
 * second pass finds them; given a one-shot iterable, anomalies are judged among the matches.
 *
 * @throws UsageError for a malformed address or CIDR, before anything is read.
 * @example
 * ```ts
 * for await (const hit of findIps(() => readInventory(["vms.json", "ec2.json"]), ["10.20.3.7", "web-*"]))
 *   console.log(hit.ip, hit.cloud, hit.resourceName, hit.anomaly ?? "");
 * ```
 */
export async function* findIps(
  input: IpRecordInput,
  queries: ReadonlyArray<string | IpQuery>,
  options: FindIpsOptions = {},
): AsyncGenerator<IpFindRecord> {
  const parsed = queries.map((q) => (typeof q === "string" ? parseQuery(q) : q));
  const open = typeof input === "function" ? input : () => input;
  const keep = compileQueries(parsed);
  const matches = new Map<string, IpRecord>();
  const source = open();
  // A stream from readInventory tests each IP before it builds a record: most IPs never become one.
  const filtered = (source as Partial<IpRecordStream>).filtered;
  const batches = typeof filtered === "function" ? filtered(keep) : batchesOf(source);
  for await (const batch of batches) {
    if (options.signal?.aborted)
      throw new AbortedError("ips find was aborted", { cause: options.signal.reason });
    for (const record of batch) {
      if (!keep(record)) continue;
      const key = holderKey(record);
      if (!matches.has(key)) matches.set(key, record);
    }
  }
  const holders = new Map<string, Set<string>>();
  const count = (r: IpRecord) => {
    const key = clashKey(r);
    let set = holders.get(key);
    if (!set) {
      set = new Set();
      holders.set(key, set);
    }
    set.add(`${r.cloud}|${r.resourceId.toLowerCase()}`);
  };
  const byName = parsed.some((q) => q.kind === "name");
  if (byName && typeof input === "function" && matches.size > 0) {
    const ips = new Set([...matches.values()].map((r) => r.ip));
    for await (const batch of batchesOf(input()))
      for (const record of batch) if (ips.has(record.ip)) count(record);
  } else {
    for (const record of matches.values()) count(record);
  }
  const sorted = [...matches.values()].sort(compareIpRecords);
  for (const record of sorted) {
    const shared = (holders.get(clashKey(record))?.size ?? 0) > 1;
    yield {
      ...record,
      anomaly: shared ? (record.visibility === "public" ? "public-ip-shared" : "private-ip-duplicate") : null,
    };
  }
}
