import { UsageError } from "@cloudadmin/errors";

/** One shard of a sharded run: `index` counted from 0 (as Kubernetes' `JOB_COMPLETION_INDEX`), of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/**
 * The shard (0 .. count-1) a scope ID belongs to: FNV-1a (32-bit) of the lower-cased ID, modulo
 * `count`. Stable across runs, machines and Node versions, so every shard of an Indexed Job agrees
 * on the split without talking to the others. Hand-written because it is six lines and must never
 * change with a dependency's release.
 *
 * @example
 * ```ts
 * const mine = accounts.filter((a) => shardOf(a.id, 3) === 1);
 * ```
 */
export function shardOf(id: string, count: number): number {
  if (!Number.isInteger(count) || count < 1)
    throw new UsageError(`a shard count must be a whole number >= 1, not ${count}`);
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(id.toLowerCase(), "utf8")) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % count;
}

/** Parses `"<index>/<count>"` (`"0/3"`); index from 0, below count; count at most 1,000. */
export function parseShard(text: string): Shard {
  const match = /^(\d{1,4})\/(\d{1,4})$/.exec(text.trim());
  const index = match ? Number(match[1]) : Number.NaN;
  const count = match ? Number(match[2]) : Number.NaN;
  if (!match || count < 1 || count > 1000 || index >= count) {
    throw new UsageError(
      `a shard is <index>/<count> with 0 <= index < count <= 1000 (index from 0, as JOB_COMPLETION_INDEX), not '${text.slice(0, 40)}'`,
    );
  }
  return { index, count };
}
