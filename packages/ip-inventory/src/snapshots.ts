import { InvalidInputError } from "@cloudadmin/errors";
import type { BlobAuthOptions } from "@cloudadmin/output";
import { createContainerClient } from "@cloudadmin/output";
import { checkEndpoint } from "@cloudadmin/auth";
import { blobReadError } from "./source.js";

/** One snapshot in a container: a blob, or the blobs of one sharded run (same timestamp in their names). */
export interface Snapshot {
  /** When it was taken: the UTC timestamp in its name, else the blob's last modification. */
  takenAt: Date;
  /** Blob URLs (with the container URL's SAS, if any), shard order by name. */
  urls: string[];
  /** Blob names, for display. */
  names: string[];
}

export interface ListSnapshotsOptions extends BlobAuthOptions {
  /** Only blobs whose names start with this (`vm-ips/`, `ec2/`). */
  prefix?: string;
  signal?: AbortSignal;
}

/** The UTC time written in a blob name: `2026-11-28T02-15-00Z` (the CLI's `{timestamp}`), `2026-11-28T021500Z` (the Functions app), `2026-11-28T02:15:00.000Z`... */
const STAMP = /(\d{4})-?(\d{2})-?(\d{2})T(\d{2})[-:]?(\d{2})[-:]?(\d{2})(?:[.,](\d{1,9}))?Z/;

export function stampOf(name: string): { text: string; date: Date } | null {
  const m = STAMP.exec(name);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = frac ? Number(`0.${frac}`) * 1000 : 0;
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms));
  return Number.isNaN(date.getTime()) ? null : { text: m[0], date };
}

/**
 * The inventory snapshots in a blob container, oldest first: the blobs the CronJobs (`--out
 * .../{timestamp}.json`) or the Functions app (`vm-ips/<timestamp>.json`) wrote. `latest.json` is left
 * out (it is a copy of the newest). Blobs that share a timestamp (the shards of one run) are one snapshot.
 *
 * @example
 * ```ts
 * const snapshots = await listSnapshots("https://acct.blob.core.windows.net/inventory", { prefix: "vm-ips/", credential });
 * console.log(snapshots.map((s) => s.takenAt.toISOString()));
 * ```
 */
export async function listSnapshots(
  containerUrl: string,
  options: ListSnapshotsOptions = {},
): Promise<Snapshot[]> {
  checkEndpoint(containerUrl, "container URL");
  const container = createContainerClient(containerUrl, options);
  const base = containerUrl.split("?")[0]?.replace(/\/+$/, "") ?? containerUrl;
  const query = new URL(containerUrl).search;
  const blobs: BlobEntry[] = [];
  try {
    for await (const blob of container.listBlobsFlat({
      ...(options.prefix ? { prefix: options.prefix } : {}),
      ...(options.signal ? { abortSignal: options.signal } : {}),
    })) {
      blobs.push({ name: blob.name, lastModified: blob.properties.lastModified });
    }
  } catch (error) {
    throw blobReadError(base, error);
  }
  return groupSnapshots(
    blobs,
    (name) => `${base}/${name.split("/").map(encodeURIComponent).join("/")}${query}`,
  );
}

/** A blob as a container listing gives it. */
export interface BlobEntry {
  name: string;
  lastModified: Date;
}

/**
 * Snapshots of a container listing, oldest first. A snapshot is one blob, or the shards of one run:
 * blobs whose names hold the same timestamp, or `shard-<n>...` blobs in one folder (the Indexed Job
 * writes them under its run's UID), taken at the latest of their times. `latest.*` and files that
 * are no inventory (by extension) are left out.
 */
export function groupSnapshots(blobs: readonly BlobEntry[], urlOf: (name: string) => string): Snapshot[] {
  const groups = new Map<string, Snapshot>();
  for (const blob of blobs) {
    const slash = blob.name.lastIndexOf("/");
    const leaf = blob.name.slice(slash + 1).toLowerCase();
    if (leaf.startsWith("latest.")) continue;
    if (!/\.(json|ndjson|jsonl|csv)$/.test(leaf)) continue;
    const stamp = stampOf(blob.name);
    const folder = blob.name.slice(0, slash + 1);
    const key = stamp
      ? `${blob.name.slice(0, blob.name.indexOf(stamp.text))}|${stamp.text}`
      : /^shard-\d+/.test(leaf)
        ? `folder|${folder}`
        : `blob|${blob.name}`;
    const takenAt = stamp?.date ?? blob.lastModified;
    const group = groups.get(key);
    if (group) {
      group.urls.push(urlOf(blob.name));
      group.names.push(blob.name);
      if (!stamp && takenAt > group.takenAt) group.takenAt = takenAt;
    } else groups.set(key, { takenAt, urls: [urlOf(blob.name)], names: [blob.name] });
  }
  return [...groups.values()].sort((a, b) => a.takenAt.getTime() - b.takenAt.getTime());
}

/**
 * The newest snapshot and, among the others, the one taken closest to `sinceMs` before `now`
 * (what `ips diff --since 24h` compares).
 *
 * @throws InvalidInputError when there are fewer than two snapshots.
 */
export function pickSnapshots(
  snapshots: readonly Snapshot[],
  sinceMs: number,
  now: Date,
): { older: Snapshot; newer: Snapshot } {
  if (snapshots.length < 2) {
    throw new InvalidInputError(
      `the container holds ${snapshots.length} snapshot${snapshots.length === 1 ? "" : "s"}; a diff needs two`,
      { phase: "list-snapshots" },
    );
  }
  const sorted = [...snapshots].sort((a, b) => a.takenAt.getTime() - b.takenAt.getTime());
  const newer = sorted[sorted.length - 1] as Snapshot;
  const target = now.getTime() - sinceMs;
  let older = sorted[0] as Snapshot;
  for (const s of sorted.slice(0, -1)) {
    if (Math.abs(s.takenAt.getTime() - target) < Math.abs(older.takenAt.getTime() - target)) older = s;
  }
  return { older, newer };
}
