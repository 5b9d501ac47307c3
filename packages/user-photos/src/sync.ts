import type { TokenCredential } from "@azure/core-auth";
import type { ContainerClient } from "@azure/storage-blob";
import { checkEndpoint } from "@cloudadmin/auth";
import {
  AbortedError,
  CloudAdminError,
  RemoteError,
  UsageError,
  isCloudAdminError,
} from "@cloudadmin/errors";
import { type JobOptions, mapConcurrent } from "@cloudadmin/paging";
import { Destinations } from "./destinations.js";
import { type FetchLike, connectGraph } from "./graph.js";
import { checkKey, extensionFor } from "./keys.js";
import { GRAPH_PHOTO_SIZES, PhotoSource } from "./photos.js";
import { type DirectoryUser, listUsers, sortByKey } from "./users.js";

/** Graph's documented limit for the photo API: concurrent requests per app across all mailboxes. */
export const GRAPH_PHOTO_CONCURRENCY = 4;
const DEFAULT_ENDPOINT = "https://graph.microsoft.com";

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
  /** The photo's version: `@odata.mediaEtag` of `/photo`. */
  etag: string | null;
  /** The photo's file (saved or unchanged), or null. */
  file: string | null;
  /** The photo's blob URL without any SAS query, or null. */
  blobUrl: string | null;
  /**
   * Why it was not saved: the error code of a failure, the invalid-key rule, or what Graph said for
   * no-photo (`ImageNotFound`, `placeholder` for the 1x1 answer, `MailboxNotHostedInExchangeOnline`).
   */
  reason: string | null;
  /** True when a stale file or blob of this user was removed (`prune`). */
  pruned: boolean;
}

export type UserPhotosProgress =
  | { type: "users-listed"; listed: number; done: boolean }
  | { type: "photo"; item: UserPhotoItem }
  | { type: "retry"; status: number; attempt: number; delayMs: number }
  | { type: "pruned"; userId: string; file: string | null; blobName: string | null }
  | { type: "stale"; userId: string; file: string | null; blobName: string | null }
  | { type: "manifest-entry-ignored"; name: string };

/**
 * Options of {@link syncUserPhotos}: the shared {@link JobOptions} (`signal`, `timeoutMs`,
 * `concurrency` 1..4, default 4, Graph's photo limit per app; `maxRetries`, `timer`, `random`,
 * `onError`) and the job's own.
 */
export interface SyncUserPhotosOptions extends JobOptions {
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
  /** Blob container for the photos (blob metadata is the manifest there); its URL passes the endpoint policy. */
  container?: ContainerClient;
  /** Download and upload every photo, ignoring the manifest. */
  full?: boolean;
  /** Remove files and blobs of photos that no longer exist in Graph. */
  prune?: boolean;
  /** Photo size `WxH`, one of {@link GRAPH_PHOTO_SIZES}; default the largest. */
  size?: string;
  /** Extra CA certificate (PEM) to trust for the Graph endpoint (a private or emulator CA). */
  ca?: string | Buffer;
  /** A fetch implementation to send Graph requests with. */
  fetch?: FetchLike;
  onProgress?: (event: UserPhotosProgress) => void;
}

const KEY_ATTRIBUTE = /^[A-Za-z][A-Za-z0-9_]*$/;
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

/** The error of one user's failure, always naming the user (scope) and step (phase). */
function toError(error: unknown, scope: string): CloudAdminError {
  if (isCloudAdminError(error)) {
    if (error.scope !== undefined && error.phase !== undefined) return error;
    // A failure before any request for this user (a token that could not be had): name the user.
    return new CloudAdminError(error.code, error.message, {
      cause: error,
      scope: error.scope ?? scope,
      phase: error.phase ?? "photo",
      status: error.status,
      remoteCode: error.remoteCode,
      retryable: error.retryable,
    });
  }
  const e = error as { statusCode?: number; message?: string };
  return new RemoteError(`photo of ${scope} failed: ${e?.message ?? String(error)}`, {
    cause: error,
    scope,
    phase: "photo",
    ...(typeof e?.statusCode === "number" && e.statusCode > 0 ? { status: e.statusCode } : {}),
  });
}

/** Checks the options a run cannot start without; throws before any request or file access. */
function checkOptions(options: SyncUserPhotosOptions): { keyAttribute: string; size: string | null } {
  const keyAttribute = options.keyAttribute ?? "employeeId";
  if (!KEY_ATTRIBUTE.test(keyAttribute)) {
    throw new UsageError(
      `keyAttribute ${JSON.stringify(keyAttribute)} is not a user attribute name (letters, digits, _)`,
    );
  }
  if (options.outDir !== undefined && options.outDir.trim() === "")
    throw new UsageError("outDir is empty; name a folder");
  if (!options.outDir && !options.container)
    throw new UsageError("give an output folder (outDir), a blob container (container), or both");
  const size = options.size ?? null;
  if (size !== null && !(GRAPH_PHOTO_SIZES as readonly string[]).includes(size)) {
    throw new UsageError(
      `size ${JSON.stringify(size)} is not a size Graph serves; use one of ${GRAPH_PHOTO_SIZES.join(", ")}`,
    );
  }
  checkEndpoint(options.endpoint ?? DEFAULT_ENDPOINT, "the Graph endpoint");
  if (options.container) checkEndpoint(options.container.url, "the blob container URL");
  return { keyAttribute, size };
}

/**
 * Saves every eligible Entra ID user's profile photo from Microsoft Graph to a folder and/or an Azure
 * Blob container, named `<key>.<ext>` after a user attribute, incrementally: a photo whose
 * `@odata.mediaEtag` matches the folder's manifest (or the blob's metadata) is neither downloaded nor
 * uploaded again. Photo requests stay within Graph's limit of 4 concurrent per app; throttled requests
 * are retried after `Retry-After`. Yields one item per user as its outcome is known.
 *
 * Options are checked when it is called (a bad size, key attribute, endpoint or container URL throws
 * at once); Graph is called as the iterable is read.
 *
 * @example
 * ```ts
 * import { syncUserPhotos } from "@cloudadmin/user-photos";
 * for await (const item of syncUserPhotos({ credential, outDir: "./photos" })) {
 *   console.log(item.status, item.key, item.file);
 * }
 * ```
 */
export function syncUserPhotos(options: SyncUserPhotosOptions): AsyncGenerator<UserPhotoItem> {
  return runSync(options, checkOptions(options));
}

async function* runSync(
  options: SyncUserPhotosOptions,
  { keyAttribute, size }: { keyAttribute: string; size: string | null },
): AsyncGenerator<UserPhotoItem> {
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
  for (const name of destinations.refusedManifestNames()) emit({ type: "manifest-entry-ignored", name });
  const graph = connectGraph({
    credential: options.credential,
    endpoint: options.endpoint ?? DEFAULT_ENDPOINT,
    scopes: options.scopes,
    ca: options.ca,
    fetch: options.fetch,
    maxRetries: options.maxRetries,
    timeoutMs: options.timeoutMs,
    signal,
    timer: options.timer,
    random: options.random,
    onRetry: (r) => emit({ type: "retry", ...r }),
  });
  const photos = new PhotoSource(graph, { size, concurrency, signal });

  /**
   * One user: the photo's version from `/photo` (one request; also tells the 404 and the 1x1
   * placeholder apart from a photo), then the bytes only when the destinations lack that version.
   */
  const syncUser = async ({ user, key }: { user: DirectoryUser; key: string }): Promise<UserPhotoItem> => {
    const item: UserPhotoItem = { ...baseItem(user), key };
    const scope = user.userPrincipalName || user.id;
    try {
      const held = options.full ? null : await destinations.held(user.id, key);
      const current = await photos.current(user.id, held?.version ?? "v1.0", scope);
      if ("none" in current) return { ...item, status: "no-photo", reason: current.none };
      if (held && current.etag !== "" && current.etag === held.etag) {
        return {
          ...item,
          ...destinations.confirm(held),
          status: "unchanged",
          etag: held.etag,
          contentType: held.contentType,
          bytes: held.bytes,
        };
      }
      const photo = await photos.download(user.id, current, scope);
      if ("none" in photo) return { ...item, status: "no-photo", reason: photo.none };
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
      if (options.prune && (await destinations.remove(copy))) {
        removed = true;
        emit({ type: "pruned", ...copy });
      } else if (!options.prune) emit({ type: "stale", ...copy });
    }
    return removed;
  };

  try {
    // 1. Every user, all pages, before any photo: two users sharing a key can sit on different pages.
    const users = await listUsers(graph, {
      keyAttribute,
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
