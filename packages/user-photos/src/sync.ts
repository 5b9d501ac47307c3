import { mkdir, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { TokenCredential } from "@azure/core-auth";
import type { ContainerClient } from "@azure/storage-blob";
import {
  AbortedError,
  type CloudAdminError,
  RemoteError,
  UsageError,
  isCloudAdminError,
} from "@cloudadmin/errors";
import { type FetchLike, type GraphAnswer, answerError, connectGraph, getRaw } from "./graph.js";
import { checkKey, extensionFor, keyIdentity } from "./keys.js";
import { Manifest, type ManifestEntry } from "./manifest.js";
import { Semaphore, mapUnordered, writeFileAtomic } from "./util.js";

/** Graph's documented limit for the photo API: concurrent requests per app across all mailboxes. */
export const GRAPH_PHOTO_CONCURRENCY = 4;

export type UserPhotoStatus =
  | "saved"
  | "unchanged"
  | "no-photo"
  | "no-key"
  | "invalid-key"
  | "duplicate-key"
  | "failed";

/** One user's outcome (SPEC section 4), plus why when it was not saved. */
export interface UserPhotoItem {
  userId: string;
  userPrincipalName: string;
  /** The key attribute's value as the directory holds it (null when unset). */
  key: string | null;
  status: UserPhotoStatus;
  /** Photo size in bytes (0 when there is none). */
  bytes: number;
  contentType: string | null;
  etag: string | null;
  /** The photo's file (saved or unchanged), or null. */
  file: string | null;
  /** The photo's blob URL without any SAS query, or null. */
  blobUrl: string | null;
  /** Why it was not saved (error code, invalid-key reason, or the Graph code behind no-photo), else null. */
  reason: string | null;
  /** True when a stale file or blob of this user was removed (`prune`). */
  pruned: boolean;
}

export type UserPhotosProgress =
  | { type: "users-listed"; listed: number; done: boolean }
  | { type: "photo"; item: UserPhotoItem }
  | { type: "retry"; status: number; attempt: number; delayMs: number }
  | { type: "pruned"; userId: string; file: string | null; blobName: string | null }
  | { type: "stale"; userId: string; file: string | null; blobName: string | null };

export interface SyncUserPhotosOptions {
  /** Graph credential (app-only, needs User.Read.All). */
  credential: TokenCredential;
  /** Graph root, default `https://graph.microsoft.com`; https only. */
  endpoint?: string;
  /** Token scopes (default `<graph root>/.default`). */
  scopes?: string[];
  /** User attribute naming the files (default `employeeId`; `extension_<appid>_<name>` works). */
  keyAttribute?: string;
  /** OData filter replacing the default `accountEnabled eq true and <key> ne null`. */
  filter?: string;
  /** Folder for the photos and the manifest. */
  outDir?: string;
  /** Blob container for the photos (blob metadata is the manifest there). */
  container?: ContainerClient;
  /** Download and upload every photo, ignoring the manifest. */
  full?: boolean;
  /** Remove files and blobs of photos that no longer exist in Graph. */
  prune?: boolean;
  /** Photo size `WxH` (one of Graph's HD sizes, e.g. `240x240`); default the largest. */
  size?: string;
  /** Photo requests in flight (1..4; Graph allows 4 per app). */
  concurrency?: number;
  /** Retries per request for 429/503/504 and connection failures (default 5). */
  maxRetries?: number;
  /** Per-request timeout in ms. */
  timeoutMs?: number;
  /** Extra CA certificate (PEM) to trust for the Graph endpoint (a private or emulator CA). */
  ca?: string | Buffer;
  /** A fetch implementation to send Graph requests with. */
  fetch?: FetchLike;
  signal?: AbortSignal;
  onProgress?: (event: UserPhotosProgress) => void;
  /** Called for every user whose photo failed, with the error (the run goes on). */
  onError?: (error: CloudAdminError) => void;
}

interface DirectoryUser {
  id: string;
  userPrincipalName: string;
  keyValue: unknown;
}

interface BlobState {
  name: string;
  userId: string | null;
  etag: string | null;
  size: string | null;
  version: "v1.0" | "beta";
  /** Last modified (ms): when a key's extension changed, the newest blob is the current one. */
  modified: number;
}

interface Photo {
  bytes: Buffer;
  contentType: string;
  etag: string;
  version: "v1.0" | "beta";
}

const KEY_ATTRIBUTE = /^[A-Za-z][A-Za-z0-9_]*$/;
/** Graph codes that mean "this user has no photo to give". */
const NO_PHOTO_CODES = new Set([
  "ImageNotFound",
  "ErrorItemNotFound",
  "ErrorEntityNotFound",
  "ResourceNotFound",
]);
/** Codes v1.0 gives for mailboxes outside Exchange Online; beta falls back to Entra ID for those. */
const MAILBOX_CODES = new Set(["MailboxNotHostedInExchangeOnline", "MailboxNotEnabledForRESTAPI"]);
const STATUSES: UserPhotoStatus[] = [
  "saved",
  "unchanged",
  "no-photo",
  "no-key",
  "invalid-key",
  "duplicate-key",
  "failed",
];

function baseItem(user: DirectoryUser): UserPhotoItem {
  return {
    userId: user.id,
    userPrincipalName: user.userPrincipalName,
    key: user.keyValue === undefined || user.keyValue === null ? null : String(user.keyValue),
    status: "failed",
    bytes: 0,
    contentType: null,
    etag: null,
    file: null,
    blobUrl: null,
    reason: null,
    pruned: false,
  };
}

function toError(error: unknown, scope: string, phase: string): CloudAdminError {
  if (isCloudAdminError(error)) return error;
  const e = error as { statusCode?: number; code?: string; message?: string };
  return new RemoteError(`${phase} failed for ${scope}: ${e?.message ?? String(error)}`, {
    cause: error,
    scope,
    phase,
    ...(typeof e?.statusCode === "number" && e.statusCode > 0 ? { status: e.statusCode } : {}),
  });
}

/** A blob URL safe to print: no SAS signature. */
function publicUrl(url: string): string {
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}

async function fileExists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Saves every eligible Entra ID user's profile photo from Microsoft Graph to a folder and/or an Azure
 * Blob container, named `<key>.<ext>` after a user attribute, incrementally: a photo whose Graph ETag
 * matches the folder's manifest (or the blob's metadata) is neither downloaded nor uploaded again.
 * Photo requests stay within Graph's limit of 4 concurrent per app; throttled requests are retried
 * after `Retry-After`. Yields one item per user as its outcome is known.
 *
 * @example
 * ```ts
 * import { syncUserPhotos } from "@cloudadmin/user-photos";
 * for await (const item of syncUserPhotos({ credential, outDir: "./photos" })) {
 *   console.log(item.status, item.key, item.file);
 * }
 * ```
 */
export async function* syncUserPhotos(options: SyncUserPhotosOptions): AsyncGenerator<UserPhotoItem> {
  const keyAttribute = options.keyAttribute ?? "employeeId";
  if (!KEY_ATTRIBUTE.test(keyAttribute)) {
    throw new UsageError(
      `--key ${JSON.stringify(keyAttribute)} is not a user attribute name (letters, digits, _)`,
    );
  }
  if (!options.outDir && !options.container)
    throw new UsageError("give an output folder, a blob container, or both");
  const size = options.size ?? null;
  if (size !== null && !/^\d{1,4}x\d{1,4}$/.test(size)) {
    throw new UsageError(`--size ${JSON.stringify(size)} is not WxH (for example 240x240)`);
  }
  const photoLimit = Math.max(
    1,
    Math.min(GRAPH_PHOTO_CONCURRENCY, Math.floor(options.concurrency ?? GRAPH_PHOTO_CONCURRENCY)),
  );
  const signal = options.signal;
  const emit = options.onProgress ?? (() => undefined);
  const outDir = options.outDir ? resolve(options.outDir) : null;
  const container = options.container ?? null;

  let manifest: Manifest | null = null;
  if (outDir) {
    await mkdir(outDir, { recursive: true });
    manifest = await Manifest.load(outDir);
  }
  const blobs = new Map<string, BlobState>();
  if (container) {
    try {
      await container.createIfNotExists();
    } catch (error) {
      // A SAS without create permission can still list and write an existing container.
      if ((error as { statusCode?: number }).statusCode !== 403)
        throw toError(error, container.containerName, "open container");
    }
    try {
      for await (const blob of container.listBlobsFlat({ includeMetadata: true })) {
        const m = blob.metadata ?? {};
        blobs.set(blob.name, {
          name: blob.name,
          userId: m.userid ?? null,
          etag: m.graphetag ?? null,
          size: m.photosize && m.photosize !== "largest" ? m.photosize : null,
          version: m.graphversion === "beta" ? "beta" : "v1.0",
          modified: blob.properties.lastModified?.getTime() ?? 0,
        });
      }
    } catch (error) {
      throw toError(error, container.containerName, "list container");
    }
  }

  const graph = connectGraph({
    credential: options.credential,
    endpoint: options.endpoint ?? "https://graph.microsoft.com",
    ...(options.scopes ? { scopes: options.scopes } : {}),
    ...(options.ca ? { ca: options.ca } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    maxRetries: options.maxRetries ?? 5,
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    ...(signal ? { signal } : {}),
    onRetry: (r) => emit({ type: "retry", ...r }),
  });
  const client = graph.client;
  const photoGate = new Semaphore(photoLimit);
  const seenUsers = new Set<string>();
  /** Users whose stale files and blobs may go: no photo any more, or saved under another name. */
  const claimedFiles = new Set<string>();
  const claimedBlobs = new Set<string>();
  const noPhotoUsers = new Set<string>();
  const settledUsers = new Set<string>();
  let flushTimer: ReturnType<typeof setInterval> | undefined;
  try {
    // 1. Every eligible user, all pages, before any photo: duplicates can sit on different pages.
    const users: DirectoryUser[] = [];
    const select = [...new Set(["id", "userPrincipalName", keyAttribute])].join(",");
    const filter = options.filter ?? `accountEnabled eq true and ${keyAttribute} ne null`;
    const query = new URLSearchParams({ $select: select, $filter: filter, $count: "true", $top: "999" });
    let next: string | undefined = `/users?${query.toString().replace(/\+/g, "%20")}`;
    for (let pages = 0; next; pages++) {
      if (signal?.aborted) throw new AbortedError();
      if (pages > 100_000)
        throw new RemoteError("Microsoft Graph kept returning more pages of users; giving up");
      let answer: GraphAnswer;
      try {
        answer = await getRaw(client, next, { ConsistencyLevel: "eventual" });
      } catch (error) {
        if (signal?.aborted) throw new AbortedError();
        throw toError(error, "users", "list users");
      }
      if (answer.status !== 200) throw answerError(answer, "listing users", "users");
      const page = JSON.parse(answer.body.toString("utf8")) as {
        value?: Array<Record<string, unknown>>;
        "@odata.nextLink"?: string;
      };
      for (const u of page.value ?? []) {
        const id = String(u.id ?? "");
        if (!id || seenUsers.has(id)) continue;
        seenUsers.add(id);
        users.push({ id, userPrincipalName: String(u.userPrincipalName ?? ""), keyValue: u[keyAttribute] });
      }
      next = page["@odata.nextLink"];
      emit({ type: "users-listed", listed: users.length, done: !next });
    }

    // 2. Keys: absent, unsafe or shared keys name no file.
    const ready: Array<{ user: DirectoryUser; key: string }> = [];
    const rejected: UserPhotoItem[] = [];
    const byIdentity = new Map<string, Array<{ user: DirectoryUser; key: string }>>();
    for (const user of users) {
      const check = checkKey(user.keyValue, "webp");
      if (!check.ok) {
        rejected.push({ ...baseItem(user), status: check.status, reason: check.reason });
        continue;
      }
      const id = keyIdentity(check.key);
      const list = byIdentity.get(id) ?? [];
      list.push({ user, key: check.key });
      byIdentity.set(id, list);
    }
    for (const list of byIdentity.values()) {
      if (list.length === 1) ready.push(list[0] as { user: DirectoryUser; key: string });
      else {
        const others = (u: DirectoryUser) =>
          list
            .filter((x) => x.user !== u)
            .map((x) => x.user.userPrincipalName)
            .join(", ");
        for (const { user } of list) {
          rejected.push({
            ...baseItem(user),
            status: "duplicate-key",
            reason: `key shared with ${others(user)}`,
          });
        }
      }
    }
    for (const item of rejected) {
      settledUsers.add(item.userId);
      emit({ type: "photo", item });
      yield item;
    }

    // 3. Photos: at most `photoLimit` Graph requests at once; writing overlaps with the next downloads.
    if (manifest) flushTimer = setInterval(() => void manifest?.flush().catch(() => undefined), 2000);
    const request = async (id: string, version: "v1.0" | "beta", value: boolean): Promise<GraphAnswer> => {
      await photoGate.acquire();
      try {
        if (signal?.aborted) throw new AbortedError();
        const path = `/users/${encodeURIComponent(id)}/${size ? `photos/${size}` : "photo"}${value ? "/$value" : ""}`;
        return await getRaw(client, path, {}, version);
      } finally {
        photoGate.release();
      }
    };

    const processUser = async ({
      user,
      key,
    }: {
      user: DirectoryUser;
      key: string;
    }): Promise<UserPhotoItem> => {
      const item: UserPhotoItem = { ...baseItem(user), key };
      try {
        // What the destinations already hold for this user under this key.
        let known: string | null | undefined;
        let version: "v1.0" | "beta" = "v1.0";
        let folderEntry: [string, ManifestEntry] | undefined;
        if (manifest && outDir) {
          // When a photo's type changed (K2.jpg -> K2.png) both may be listed until pruned: take the newest.
          folderEntry = manifest
            .findFor(user.id)
            .filter(([name, e]) => name.slice(0, name.lastIndexOf(".")) === key && e.size === size)
            .sort((a, b) => b[1].savedAt.localeCompare(a[1].savedAt))[0];
          const ok = folderEntry !== undefined && (await fileExists(join(outDir, folderEntry[0])));
          known = ok ? (folderEntry?.[1].etag ?? null) : null;
          if (ok && folderEntry?.[1].version === "beta") version = "beta";
        }
        let blobState: BlobState | undefined;
        if (container) {
          blobState = blobsForUser(user.id)
            .filter((b) => b.name.slice(0, b.name.lastIndexOf(".")) === key && b.size === size)
            .sort((a, b) => b.modified - a.modified)[0];
          const etag = blobState?.etag ?? null;
          known = known === undefined ? etag : known === etag ? known : null;
          if (blobState?.version === "beta") version = "beta";
        }
        if (options.full) known = null;

        let photo: Photo | null = null;
        if (known) {
          // Incremental: one metadata request; the photo itself only when its ETag changed.
          let meta = await request(user.id, version, false);
          if (meta.status === 404 && version === "v1.0" && meta.code && MAILBOX_CODES.has(meta.code)) {
            version = "beta";
            meta = await request(user.id, version, false);
          }
          if (meta.status === 200) {
            const m = JSON.parse(meta.body.toString("utf8")) as Record<string, unknown>;
            if (m["@odata.mediaEtag"] === known) {
              const entry = folderEntry?.[1];
              item.status = "unchanged";
              item.etag = known;
              item.contentType = String(m["@odata.mediaContentType"] ?? entry?.contentType ?? "") || null;
              item.bytes = entry?.bytes ?? 0;
              if (outDir && folderEntry) {
                item.file = join(outDir, folderEntry[0]);
                claimedFiles.add(folderEntry[0]);
              }
              if (container && blobState) {
                item.blobUrl = publicUrl(container.getBlockBlobClient(blobState.name).url);
                claimedBlobs.add(blobState.name);
              }
              return item;
            }
            const got = await download(user.id, version);
            if ("miss" in got) return noPhoto(item, got.miss);
            photo = got;
          } else if (meta.status === 404) {
            return noPhoto(item, meta);
          } else throw answerError(meta, "reading photo metadata", user.userPrincipalName);
        } else {
          const got = await download(user.id, version);
          if ("miss" in got) return noPhoto(item, got.miss);
          photo = got;
        }
        return await save(item, key, photo);
      } catch (error) {
        if (signal?.aborted && !(error instanceof RemoteError && error.status)) {
          item.status = "failed";
          item.reason = "ERR_ABORTED";
          return item;
        }
        const e = toError(error, user.userPrincipalName, "photo");
        item.status = "failed";
        item.reason = e.remoteCode ?? e.code;
        options.onError?.(e);
        return item;
      }

      async function download(
        id: string,
        startVersion: "v1.0" | "beta",
      ): Promise<Photo | { miss: GraphAnswer }> {
        let v = startVersion;
        let answer = await request(id, v, true);
        if (answer.status === 404 && v === "v1.0" && answer.code && MAILBOX_CODES.has(answer.code)) {
          v = "beta";
          answer = await request(id, v, true);
        }
        if (answer.status === 404) return { miss: answer };
        if (answer.status !== 200) throw answerError(answer, "downloading the photo", user.userPrincipalName);
        const contentType = answer.headers.get("content-type")?.split(";")[0]?.trim() || "image/jpeg";
        let etag = answer.headers.get("etag");
        if (!etag) {
          // Without an ETag on the bytes, the metadata has it.
          const meta = await request(id, v, false);
          if (meta.status === 200) {
            etag = String(
              (JSON.parse(meta.body.toString("utf8")) as Record<string, unknown>)["@odata.mediaEtag"] ?? "",
            );
          }
        }
        return { bytes: answer.body, contentType, etag: etag ?? "", version: v };
      }
    };

    function blobsForUser(userId: string): BlobState[] {
      return [...blobs.values()].filter((b) => b.userId === userId);
    }

    function noPhoto(item: UserPhotoItem, answer: GraphAnswer): UserPhotoItem {
      item.status = "no-photo";
      item.reason = answer.code ?? `HTTP ${answer.status}`;
      if (answer.code && !NO_PHOTO_CODES.has(answer.code) && !MAILBOX_CODES.has(answer.code)) {
        // A 404 with an unknown code is still "nothing to save", but say which code it was.
        item.reason = `${answer.code}: ${answer.message ?? ""}`.trim();
      }
      noPhotoUsers.add(item.userId);
      return item;
    }

    async function save(item: UserPhotoItem, key: string, photo: Photo): Promise<UserPhotoItem> {
      const name = `${key}.${extensionFor(photo.contentType)}`;
      const recheck = checkKey(key, extensionFor(photo.contentType));
      if (!recheck.ok) {
        item.status = "invalid-key";
        item.reason = recheck.reason;
        return item;
      }
      if (outDir && manifest) {
        const target = join(outDir, name);
        // Defence in depth: the key was checked, but the file must land directly in the folder.
        if (resolve(target) !== join(outDir, name) || resolve(target, "..") !== outDir) {
          throw new UsageError(`refusing to write outside ${outDir}: ${name}`);
        }
        await writeFileAtomic(target, photo.bytes);
        manifest.set(name, {
          userId: item.userId,
          etag: photo.etag,
          contentType: photo.contentType,
          bytes: photo.bytes.length,
          size,
          ...(photo.version === "beta" ? { version: "beta" as const } : {}),
          savedAt: new Date().toISOString(),
        });
        claimedFiles.add(name);
        item.file = target;
      }
      if (container) {
        const blob = container.getBlockBlobClient(name);
        await blob.uploadData(photo.bytes, {
          blobHTTPHeaders: { blobContentType: photo.contentType },
          metadata: {
            graphetag: photo.etag,
            userid: item.userId,
            photosize: size ?? "largest",
            graphversion: photo.version,
          },
          ...(signal ? { abortSignal: signal } : {}),
        });
        blobs.set(name, {
          name,
          userId: item.userId,
          etag: photo.etag,
          size,
          version: photo.version,
          modified: Date.now(),
        });
        claimedBlobs.add(name);
        item.blobUrl = publicUrl(blob.url);
      }
      item.status = "saved";
      item.bytes = photo.bytes.length;
      item.contentType = photo.contentType;
      item.etag = photo.etag;
      return item;
    }

    const results = mapUnordered(
      ready,
      photoLimit * 3,
      async (entry) => {
        const item = await processUser(entry);
        if (item.status === "failed" && item.reason === null) item.reason = "ERR_REMOTE";
        return item;
      },
      signal,
    );
    for await (const item of results) {
      if (item.reason === "ERR_ABORTED") continue;
      settledUsers.add(item.userId);
      if (item.status === "no-photo" || item.status === "saved" || item.status === "unchanged") {
        await pruneUser(item);
      }
      emit({ type: "photo", item });
      yield item;
    }
    if (signal?.aborted) throw new AbortedError();

    // 4. Files and blobs of users the directory no longer lists (deleted, disabled, filtered out).
    const gone = new Set<string>();
    for (const [, e] of Object.entries(manifest?.data.files ?? {}))
      if (!seenUsers.has(e.userId)) gone.add(e.userId);
    for (const b of blobs.values()) if (b.userId && !seenUsers.has(b.userId)) gone.add(b.userId);
    for (const userId of gone) await removeStale(userId, null, null);
  } finally {
    if (flushTimer) clearInterval(flushTimer);
    await graph.close();
    await manifest?.flush();
  }

  /** Removes (with prune) or reports this user's files and blobs that this run did not write or confirm. */
  async function pruneUser(item: UserPhotoItem): Promise<void> {
    const removed = await removeStale(item.userId, claimedFiles, claimedBlobs);
    item.pruned = removed;
  }

  async function removeStale(
    userId: string,
    keepFiles: Set<string> | null,
    keepBlobs: Set<string> | null,
  ): Promise<boolean> {
    let removed = false;
    const staleFiles = (manifest?.findFor(userId) ?? []).map(([n]) => n).filter((n) => !keepFiles?.has(n));
    const staleBlobs = [...blobs.values()]
      .filter((b) => b.userId === userId && !keepBlobs?.has(b.name))
      .map((b) => b.name);
    for (const name of staleFiles) {
      const file = outDir ? join(outDir, name) : null;
      if (!options.prune) {
        emit({ type: "stale", userId, file, blobName: null });
        continue;
      }
      if (file) await rm(file, { force: true });
      manifest?.delete(name);
      removed = true;
      emit({ type: "pruned", userId, file, blobName: null });
    }
    for (const name of staleBlobs) {
      if (!options.prune || !container) {
        emit({ type: "stale", userId, file: null, blobName: name });
        continue;
      }
      await container.getBlockBlobClient(name).deleteIfExists();
      blobs.delete(name);
      removed = true;
      emit({ type: "pruned", userId, file: null, blobName: name });
    }
    return removed;
  }
}

/** Counts of items by status (for summaries). */
export function countByStatus(items: Iterable<UserPhotoItem>): Record<UserPhotoStatus, number> {
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<UserPhotoStatus, number>;
  for (const i of items) counts[i.status]++;
  return counts;
}
