import type { TokenCredential } from "@azure/core-auth";
import type { ContainerClient } from "@azure/storage-blob";
import {
  AbortedError,
  type CloudAdminError,
  RemoteError,
  UsageError,
  isCloudAdminError,
} from "@cloudadmin/errors";
import { Destinations } from "./destinations.js";
import { type FetchLike, type GraphAnswer, connectGraph } from "./graph.js";
import { checkKey, extensionFor } from "./keys.js";
import { PhotoSource, isMailboxCode } from "./photos.js";
import { type DirectoryUser, listUsers, sortByKey } from "./users.js";
import { mapConcurrent } from "@cloudadmin/paging";

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
  /** Graph root, default `https://graph.microsoft.com`; https, or http on a loopback address (emulators). */
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

const KEY_ATTRIBUTE = /^[A-Za-z][A-Za-z0-9_]*$/;
/** Graph codes that mean "this user has no photo to give". */
const NO_PHOTO_CODES = new Set([
  "ImageNotFound",
  "ErrorItemNotFound",
  "ErrorEntityNotFound",
  "ResourceNotFound",
]);
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

function noPhoto(item: UserPhotoItem, answer: GraphAnswer): UserPhotoItem {
  item.status = "no-photo";
  item.reason = answer.code ?? `HTTP ${answer.status}`;
  // A 404 with an unexpected code is still "nothing to save"; its message says what Graph meant.
  if (answer.code && !NO_PHOTO_CODES.has(answer.code) && !isMailboxCode(answer.code)) {
    item.reason = `${answer.code}: ${answer.message ?? ""}`.trim();
  }
  return item;
}

function toError(error: unknown, scope: string): CloudAdminError {
  if (isCloudAdminError(error)) return error;
  const e = error as { statusCode?: number; message?: string };
  return new RemoteError(`photo of ${scope} failed: ${e?.message ?? String(error)}`, {
    cause: error,
    scope,
    phase: "photo",
    ...(typeof e?.statusCode === "number" && e.statusCode > 0 ? { status: e.statusCode } : {}),
  });
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
  const concurrency = Math.max(
    1,
    Math.min(GRAPH_PHOTO_CONCURRENCY, Math.floor(options.concurrency ?? GRAPH_PHOTO_CONCURRENCY)),
  );
  const { signal } = options;
  const emit = options.onProgress ?? (() => undefined);

  const destinations = await Destinations.open({
    outDir: options.outDir,
    container: options.container,
    size,
    signal,
  });
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
  const photos = new PhotoSource(graph.client, { size, concurrency, signal });

  /** One user: confirm the held copy with one metadata request, or download and save the photo. */
  const syncUser = async ({ user, key }: { user: DirectoryUser; key: string }): Promise<UserPhotoItem> => {
    const item: UserPhotoItem = { ...baseItem(user), key };
    const scope = user.userPrincipalName || user.id;
    try {
      const held = options.full ? null : await destinations.held(user.id, key);
      let version = held?.version ?? "v1.0";
      if (held) {
        const current = await photos.etag(user.id, version, scope);
        if ("miss" in current) return noPhoto(item, current.miss);
        if (current.etag === held.etag) {
          const where = destinations.confirm(held);
          return {
            ...item,
            ...where,
            status: "unchanged",
            etag: held.etag,
            contentType: held.contentType,
            bytes: held.bytes,
          };
        }
        version = current.version;
      }
      const photo = await photos.download(user.id, version, scope);
      if ("miss" in photo) return noPhoto(item, photo.miss);
      const fits = checkKey(key, extensionFor(photo.contentType));
      if (!fits.ok) return { ...item, status: "invalid-key", reason: fits.reason };
      const where = await destinations.save(user.id, key, photo);
      return {
        ...item,
        ...where,
        status: "saved",
        bytes: photo.bytes.length,
        contentType: photo.contentType,
        etag: photo.etag,
      };
    } catch (error) {
      if (signal?.aborted) return { ...item, status: "failed", reason: "ERR_ABORTED" };
      const e = toError(error, scope);
      options.onError?.(e);
      return { ...item, status: "failed", reason: e.remoteCode ?? e.code };
    }
  };

  /** Removes (prune) or reports a user's files and blobs that this run neither wrote nor confirmed. */
  const settleStale = async (userId: string): Promise<boolean> => {
    let removed = false;
    for (const copy of destinations.stale(userId)) {
      if (!options.prune) {
        emit({ type: "stale", ...copy });
        continue;
      }
      await destinations.remove(copy);
      removed = true;
      emit({ type: "pruned", ...copy });
    }
    return removed;
  };

  try {
    // 1. Every user, all pages, before any photo: two users sharing a key can sit on different pages.
    const users = await listUsers(graph.client, {
      keyAttribute,
      baseUrl: graph.baseUrl,
      filter: options.filter ?? `accountEnabled eq true and ${keyAttribute} ne null`,
      signal,
      onPage: (listed, done) => emit({ type: "users-listed", listed, done }),
    });

    // 2. Absent, unsafe or shared keys name no file.
    const { ready, rejected } = sortByKey(users);
    for (const r of rejected) {
      const item: UserPhotoItem = { ...baseItem(r.user), status: r.status, reason: r.reason };
      emit({ type: "photo", item });
      yield item;
    }

    // 3. Photos: at most `concurrency` Graph requests at once; writing overlaps with the next downloads.
    destinations.startAutoFlush();
    for await (const item of mapConcurrent(ready, (user) => syncUser(user), {
      concurrency: concurrency * 3,
      ...(signal ? { signal } : {}),
    })) {
      if (item.reason === "ERR_ABORTED") continue;
      if (item.status === "saved" || item.status === "unchanged" || item.status === "no-photo") {
        item.pruned = await settleStale(item.userId);
      }
      emit({ type: "photo", item });
      yield item;
    }
    if (signal?.aborted) throw new AbortedError();

    // 4. Copies of users the directory no longer lists (deleted, disabled, filtered out).
    const listed = new Set(users.map((u) => u.id));
    for (const userId of destinations.usersWithCopies()) if (!listed.has(userId)) await settleStale(userId);
  } finally {
    await graph.close();
    await destinations.close();
  }
}

/** Counts of items by status (for summaries). */
export function countByStatus(items: Iterable<UserPhotoItem>): Record<UserPhotoStatus, number> {
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<UserPhotoStatus, number>;
  for (const i of items) counts[i.status]++;
  return counts;
}
