import { AbortedError } from "@cloudadmin/errors";
import { type IpRecordInput, compareIpRecords } from "./find.js";
import { type IpRecordStream, batchesOf } from "./read.js";
import type { IpRecord } from "./record.js";

/** One difference between two inventories (SPEC section 4: `ips diff` items). */
export interface IpChange {
  /**
   * `added`: the IP has a holder it did not have; `removed`: a holder no longer holds it; `moved`: the
   * IP is now held by another resource; `changed`: same holder, different state, interface or kind.
   */
  change: "added" | "removed" | "moved" | "changed";
  ip: string;
  before: IpRecord | null;
  after: IpRecord | null;
}

export interface DiffInventoriesOptions {
  signal?: AbortSignal;
}

/**
 * Where an IP lives: public IPs are global (the key is the address itself, no allocation); private ones
 * repeat across accounts and regions.
 */
function placeKey(r: Readonly<IpRecord>): string {
  return r.visibility === "public"
    ? r.ip
    : `${r.ip}|${r.cloud}|${r.accountId.toLowerCase()}|${r.region ?? ""}`;
}

/** Same holder: the resource ID as written, else ignoring case (ARM IDs change case between reads). */
function sameHolder(a: Readonly<IpRecord>, b: Readonly<IpRecord>): boolean {
  if (a.cloud !== b.cloud) return false;
  return a.resourceId === b.resourceId || a.resourceId.toLowerCase() === b.resourceId.toLowerCase();
}

interface Entry {
  record: IpRecord;
  matched: boolean;
}

function differs(a: Readonly<IpRecord>, b: Readonly<IpRecord>): boolean {
  return (
    a.state !== b.state ||
    (a.networkInterfaceId ?? "").toLowerCase() !== (b.networkInterfaceId ?? "").toLowerCase() ||
    a.publicIpKind !== b.publicIpKind
  );
}

const ORDER = { removed: 0, moved: 1, changed: 2, added: 3 } as const;

/**
 * What changed between two inventories, IP by IP: `added`, `removed`, `moved` and `changed`, each with
 * its `before` and `after` record. The older side is held in memory (keyed by IP, one entry per
 * holder); the newer one is streamed. Unchanged IPs yield nothing. Results come sorted by IP.
 *
 * @example
 * ```ts
 * const changes = diffInventories(readInventory("yesterday.json"), readInventory("today.json"));
 * for await (const c of changes) console.log(c.change, c.ip, c.before?.resourceName, "->", c.after?.resourceName);
 * ```
 */
export async function* diffInventories(
  before: IpRecordInput,
  after: IpRecordInput,
  options: DiffInventoriesOptions = {},
): AsyncGenerator<IpChange> {
  const check = () => {
    if (options.signal?.aborted)
      throw new AbortedError("ips diff was aborted", { cause: options.signal.reason });
  };
  const read = (input: IpRecordInput) => (typeof input === "function" ? input() : input);
  // place -> its holders (almost always one, so no inner collection unless needed).
  const old = new Map<string, Entry | Entry[]>();
  const holdersAt = (place: string): Entry[] => {
    const at = old.get(place);
    return at === undefined ? [] : Array.isArray(at) ? at : [at];
  };
  for await (const batch of batchesOf(read(before))) {
    check();
    for (const record of batch) {
      const place = placeKey(record);
      const at = old.get(place);
      const entry = { record, matched: false };
      if (at === undefined) old.set(place, entry);
      // A holder listed twice (two overlapping sources) counts once.
      else if (Array.isArray(at)) {
        if (!at.some((e) => sameHolder(e.record, record))) at.push(entry);
      } else if (!sameHolder(at.record, record)) old.set(place, [at, entry]);
    }
  }
  const changes: IpChange[] = [];
  // New holders, kept until the new side is read (moved from an old holder, or added?): changes only.
  const pending = new Map<string, IpRecord[]>();
  const findOld = (r: Readonly<IpRecord>, place: string): Entry | undefined => {
    const at = old.get(place);
    if (at === undefined) return undefined;
    if (!Array.isArray(at)) return sameHolder(at.record, r) ? at : undefined;
    return at.find((e) => sameHolder(e.record, r));
  };
  // An unchanged IP of the newer side is settled before its record is built: only changes become records.
  const unchanged = (r: Readonly<IpRecord>): boolean => {
    const was = findOld(r, placeKey(r));
    if (!was || (!was.matched && differs(was.record, r))) return true;
    was.matched = true;
    return false;
  };
  const newer = read(after);
  const filtered = (newer as Partial<IpRecordStream>).filtered;
  for await (const batch of typeof filtered === "function" ? filtered(unchanged) : batchesOf(newer)) {
    check();
    for (const r of batch) {
      const place = placeKey(r);
      const was = findOld(r, place);
      if (was) {
        if (was.matched) continue;
        was.matched = true;
        if (differs(was.record, r))
          changes.push({ change: "changed", ip: r.ip, before: was.record, after: r });
        continue;
      }
      const news = pending.get(place);
      if (!news) pending.set(place, [r]);
      else if (!news.some((n) => sameHolder(n, r))) news.push(r);
    }
  }
  for (const [place, news] of pending) {
    const gone = holdersAt(place).filter((e) => !e.matched);
    news.forEach((r, i) => {
      const was = gone[i];
      if (was) was.matched = true;
      changes.push(
        was
          ? { change: "moved", ip: r.ip, before: was.record, after: r }
          : { change: "added", ip: r.ip, before: null, after: r },
      );
    });
  }
  for (const at of old.values()) {
    for (const e of Array.isArray(at) ? at : [at])
      if (!e.matched) changes.push({ change: "removed", ip: e.record.ip, before: e.record, after: null });
  }
  changes.sort((a, b) => {
    const ra = (a.after ?? a.before) as IpRecord;
    const rb = (b.after ?? b.before) as IpRecord;
    return compareIpRecords(ra, rb) || ORDER[a.change] - ORDER[b.change];
  });
  yield* changes;
}
