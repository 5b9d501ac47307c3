import { AbortedError } from "@cloudadmin/errors";
import { type IpRecordInput, compareIpRecords } from "./find.js";
import { batchesOf } from "./read.js";
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

/** Where an IP lives: public IPs are global; private ones repeat across accounts and regions. */
function placeKey(r: IpRecord): string {
  return r.visibility === "public"
    ? `public|${r.ip}`
    : `private|${r.cloud}|${r.accountId.toLowerCase()}|${(r.region ?? "").toLowerCase()}|${r.ip}`;
}

const holder = (r: IpRecord): string => `${r.cloud}|${r.resourceId.toLowerCase()}`;

function differs(a: IpRecord, b: IpRecord): boolean {
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
  // place -> holder -> record (a holder listed twice, e.g. in two overlapping sources, counts once).
  const old = new Map<string, Map<string, { record: IpRecord; matched: boolean }>>();
  for await (const batch of batchesOf(read(before))) {
    check();
    for (const record of batch) {
      const place = placeKey(record);
      let holders = old.get(place);
      if (!holders) {
        holders = new Map();
        old.set(place, holders);
      }
      const who = holder(record);
      if (!holders.has(who)) holders.set(who, { record, matched: false });
    }
  }
  const changes: IpChange[] = [];
  // New holders, kept until the new side is read (moved from an old holder, or added?): changes only.
  const pending = new Map<string, Map<string, IpRecord>>();
  for await (const batch of batchesOf(read(after))) {
    check();
    for (const r of batch) {
      const place = placeKey(r);
      const who = holder(r);
      const was = old.get(place)?.get(who);
      if (was) {
        if (was.matched) continue;
        was.matched = true;
        if (differs(was.record, r))
          changes.push({ change: "changed", ip: r.ip, before: was.record, after: r });
        continue;
      }
      let news = pending.get(place);
      if (!news) {
        news = new Map();
        pending.set(place, news);
      }
      if (!news.has(who)) news.set(who, r);
    }
  }
  for (const [place, news] of pending) {
    const gone = [...(old.get(place)?.values() ?? [])].filter((e) => !e.matched);
    let i = 0;
    for (const r of news.values()) {
      const was = gone[i++];
      if (was) was.matched = true;
      changes.push(
        was
          ? { change: "moved", ip: r.ip, before: was.record, after: r }
          : { change: "added", ip: r.ip, before: null, after: r },
      );
    }
  }
  for (const holders of old.values())
    for (const e of holders.values())
      if (!e.matched) changes.push({ change: "removed", ip: e.record.ip, before: e.record, after: null });
  changes.sort((a, b) => {
    const ra = (a.after ?? a.before) as IpRecord;
    const rb = (b.after ?? b.before) as IpRecord;
    return compareIpRecords(ra, rb) || ORDER[a.change] - ORDER[b.change];
  });
  yield* changes;
}
