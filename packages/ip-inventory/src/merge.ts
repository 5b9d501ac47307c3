import {
  type CloudAdminError,
  type ErrorRecord,
  InvalidInputError,
  PartialFailureError,
} from "@cloudadmin/errors";
import { shardOf } from "@cloudadmin/paging";
import {
  type InventoryDocumentInfo,
  type RawItem,
  type ReadInventoryOptions,
  readDocument,
  shardSetProblems,
} from "./read.js";
import type { InventorySource } from "./source.js";

/** Options of {@link mergeInventories}. */
export type MergeInventoriesOptions = Omit<ReadInventoryOptions, "onDocument" | "onError" | "format">;

/** A set of shard documents checked and ready to be written as one. */
export interface MergedInventory {
  /** The job the shards ran (`azure-vm-ips`, `ec2-ips`). */
  command: string;
  /** The shard count of the set. */
  count: number;
  /** The shard indexes present, ascending. */
  indexes: number[];
  /** The earliest shard's `generatedAt`. */
  generatedAt: string | null;
  /** Every scope some shard covered, sorted. */
  scopes: string[];
  /**
   * What leaves the merged inventory incomplete: a missing shard, a scope covered by no shard
   * (`phase: "merge"`, code `ERR_PARTIAL`), and each shard's own `errors[]`, passed on as they are.
   */
  errors: ErrorRecord[];
  /** The shards' summaries, numbers added up. */
  summary: Record<string, unknown>;
  /** Every shard's items, shard by shard, streamed (each source is read a second time). */
  items(): AsyncGenerator<Record<string, unknown>>;
}

function scopeOfItem(item: Record<string, unknown>): string | null {
  const id = item.subscriptionId ?? item.accountId;
  return typeof id === "string" && id !== "" ? id.toLowerCase() : null;
}

function toRecord(error: CloudAdminError): ErrorRecord {
  return {
    scope: error.scope ?? "",
    phase: error.phase ?? "merge",
    code: error.code,
    message: error.message,
  };
}

/**
 * Checks a set of shard documents (json, with `shard: { index, count }` and `scopes`) and combines
 * them into one inventory. Reads each source twice (once for its trailing `shard` and `scopes`, once
 * for its items) so memory holds one item at a time.
 *
 * @throws InvalidInputError when the documents are of different commands or shard counts, a shard is
 * there twice, or a source is no shard document: nothing is merged.
 * @example
 * ```ts
 * const merged = await mergeInventories(["ec2-0.json", "ec2-1.json", "ec2-2.json"]);
 * console.log(merged.command, merged.indexes, merged.errors);
 * for await (const instance of merged.items()) console.log(instance.instanceId);
 * ```
 */
export async function mergeInventories(
  sources: readonly InventorySource[],
  options: MergeInventoriesOptions = {},
): Promise<MergedInventory> {
  if (sources.length === 0) throw new InvalidInputError("nothing to merge: give the shard documents");
  const infos: InventoryDocumentInfo[] = [];
  for (const source of sources) {
    const reader = readDocument(source, { ...options, format: "json", items: false });
    let next = await reader.next();
    while (!next.done) next = await reader.next();
    infos.push(next.value);
  }
  const commands = new Set(infos.map((i) => i.command));
  if (commands.size > 1) {
    throw new InvalidInputError(
      `cannot merge documents of different commands: ${infos.map((i) => `${i.source} is ${i.command}`).join(", ")}`,
      { phase: "merge" },
    );
  }
  const unsharded = infos.find((i) => i.shard === null);
  if (unsharded) {
    throw new InvalidInputError(`${unsharded.source} is not a shard document (it has no shard field)`, {
      phase: "merge",
      scope: unsharded.source,
    });
  }
  const { fatal, errors: problems } = shardSetProblems(infos);
  if (fatal) throw fatal;
  const command = infos[0]?.command ?? "";
  const count = infos[0]?.shard?.count ?? 1;
  const ordered = infos
    .map((info, i) => ({ info, source: sources[i] as InventorySource }))
    .sort((a, b) => (a.info.shard?.index ?? 0) - (b.info.shard?.index ?? 0));

  const covered = new Set<string>();
  for (const { info } of ordered) for (const s of info.scopes ?? []) covered.add(s.toLowerCase());
  const errors: ErrorRecord[] = problems.map(toRecord);
  // A scope some shard listed (`scopesListed`, when the job records its whole listing) but none covered.
  for (const { info } of ordered) {
    const listed = (info.summary as { scopesListed?: unknown } | null)?.scopesListed;
    if (!Array.isArray(listed)) continue;
    for (const scope of listed.map((s) => String(s).toLowerCase())) {
      if (covered.has(scope)) continue;
      covered.add(scope);
      errors.push(uncovered(scope, count));
    }
  }
  for (const { info } of ordered) errors.push(...info.errors);

  const summary: Record<string, unknown> = {};
  for (const { info } of ordered) {
    for (const [key, value] of Object.entries(info.summary ?? {})) {
      if (typeof value === "number") summary[key] = ((summary[key] as number | undefined) ?? 0) + value;
      else if (!(key in summary) && (typeof value === "string" || typeof value === "boolean"))
        summary[key] = value;
    }
  }
  const generatedAt =
    ordered
      .map((o) => o.info.generatedAt)
      .filter((g): g is string => g !== null)
      .sort()[0] ?? null;
  const checkScopes = infos.every((i) => i.scopes !== null);

  return {
    command,
    count,
    indexes: ordered.map((o) => o.info.shard?.index ?? 0),
    generatedAt,
    scopes: [...new Set(ordered.flatMap((o) => o.info.scopes ?? []))].sort(),
    errors,
    summary,
    async *items() {
      for (const { source } of ordered) {
        const reader = readDocument(source, { ...options, format: "json" });
        for (;;) {
          const next = await reader.next();
          if (next.done) break;
          const batch: RawItem[] = next.value;
          for (const item of batch) {
            const scope = scopeOfItem(item.value);
            // An item of a scope no shard says it covered: the set does not describe itself right.
            if (checkScopes && scope !== null && !covered.has(scope)) {
              covered.add(scope);
              errors.push(uncovered(scope, count));
            }
          }
          yield* batch.map((item) => item.value);
        }
      }
    },
  };
}

function uncovered(scope: string, count: number): ErrorRecord {
  const error = new PartialFailureError(
    `scope ${scope} is covered by no shard (it belongs to shard ${shardOf(scope, count)}/${count}); rerun that shard`,
    [],
    { phase: "merge", scope },
  );
  return toRecord(error);
}
