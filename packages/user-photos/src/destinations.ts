import { mkdir, stat, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { ContainerClient } from "@azure/storage-blob";
import { RemoteError, UsageError, isCloudAdminError } from "@cloudadmin/errors";
import { entryKind } from "./files.js";
import { extensionFor } from "./keys.js";
import { Manifest } from "./manifest.js";
import type { GraphVersion, Photo } from "./photos.js";
import { writeFileAtomic } from "@cloudadmin/output";

/** What the destinations hold for a user under a key, when every one of them holds the same photo. */
export interface Held {
  etag: string;
  version: GraphVersion;
  contentType: string | null;
  bytes: number;
  fileName: string | null;
  blobName: string | null;
}

interface BlobCopy {
  name: string;
  userId: string | null;
  etag: string | null;
  size: string | null;
  version: GraphVersion;
  contentType: string | null;
  bytes: number;
  /** Last modified (ms): when a key's extension changed, the newest blob is the current one. */
  modified: number;
}

export interface StaleCopy {
  userId: string;
  file: string | null;
  blobName: string | null;
}

const baseName = (name: string) => name.slice(0, name.lastIndexOf("."));

/**
 * The folder (with its manifest) and/or the blob container (whose blob metadata is the manifest
 * there): what they hold, writing a photo to both, and finding or removing copies this run did not
 * write or confirm.
 */
export class Destinations {
  private readonly blobsByUser = new Map<string, BlobCopy[]>();
  private readonly claimedFiles = new Set<string>();
  private readonly claimedBlobs = new Set<string>();
  private timer: ReturnType<typeof setInterval> | undefined;

  private constructor(
    readonly outDir: string | null,
    private readonly manifest: Manifest | null,
    readonly container: ContainerClient | null,
    private readonly size: string | null,
    private readonly signal: AbortSignal | undefined,
  ) {}

  static async open(options: {
    outDir?: string | undefined;
    container?: ContainerClient | undefined;
    size: string | null;
    signal?: AbortSignal | undefined;
  }): Promise<Destinations> {
    const outDir = options.outDir ? resolve(options.outDir) : null;
    let manifest: Manifest | null = null;
    if (outDir) {
      await openFolder(outDir);
      manifest = await Manifest.load(outDir);
    }
    const container = options.container ?? null;
    const d = new Destinations(outDir, manifest, container, options.size, options.signal);
    if (container) await d.loadBlobs(container);
    return d;
  }

  private async loadBlobs(container: ContainerClient): Promise<void> {
    const fail = (error: unknown, phase: string) =>
      isCloudAdminError(error)
        ? error
        : new RemoteError(`${phase} ${container.containerName} failed: ${(error as Error).message}`, {
            cause: error,
            scope: container.containerName,
            phase,
            ...(typeof (error as { statusCode?: number }).statusCode === "number"
              ? { status: (error as { statusCode: number }).statusCode }
              : {}),
          });
    try {
      await container.createIfNotExists();
    } catch (error) {
      // A SAS without create permission can still list and write an existing container.
      if ((error as { statusCode?: number }).statusCode !== 403) throw fail(error, "create container");
    }
    try {
      for await (const blob of container.listBlobsFlat({ includeMetadata: true })) {
        const m = blob.metadata ?? {};
        this.addBlob({
          name: blob.name,
          userId: m.userid ?? null,
          etag: m.graphetag ?? null,
          size: m.photosize && m.photosize !== "largest" ? m.photosize : null,
          version: m.graphversion === "beta" ? "beta" : "v1.0",
          contentType: blob.properties.contentType ?? null,
          bytes: blob.properties.contentLength ?? 0,
          modified: blob.properties.lastModified?.getTime() ?? 0,
        });
      }
    } catch (error) {
      throw fail(error, "list container");
    }
  }

  private addBlob(copy: BlobCopy): void {
    if (!copy.userId) return;
    const list = (this.blobsByUser.get(copy.userId) ?? []).filter((b) => b.name !== copy.name);
    list.push(copy);
    this.blobsByUser.set(copy.userId, list);
  }

  /** Manifest entries whose names this job could not have written (ignored). */
  refusedManifestNames(): string[] {
    return this.manifest?.refused ?? [];
  }

  /** Writes the manifest every 2 s while the run goes on (it is also written at the end). */
  startAutoFlush(): void {
    if (this.manifest)
      this.timer = setInterval(() => void this.manifest?.flush().catch(() => undefined), 2000);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.manifest?.flush();
  }

  /**
   * The photo every destination holds for this user under this key and size (null when one of them
   * lacks it, holds another ETag, or the file is gone).
   */
  async held(userId: string, key: string): Promise<Held | null> {
    let held: Held | null = null;
    if (this.manifest && this.outDir) {
      // When a photo's type changed (K2.jpg -> K2.png) both stay listed until pruned: take the newest.
      const [name, entry] =
        this.manifest
          .findFor(userId)
          .filter(([n, e]) => baseName(n) === key && (e.size ?? null) === this.size)
          .sort((a, b) => b[1].savedAt.localeCompare(a[1].savedAt))[0] ?? [];
      // A symlink planted under the photo's name is not the photo: never "unchanged" through a link.
      if (!name || !entry || (await entryKind(join(this.outDir, name))) !== "file") return null;
      held = {
        etag: entry.etag,
        version: entry.version ?? "v1.0",
        contentType: entry.contentType,
        bytes: entry.bytes,
        fileName: name,
        blobName: null,
      };
    }
    if (this.container) {
      const candidates = (this.blobsByUser.get(userId) ?? []).filter(
        (b) => baseName(b.name) === key && b.size === this.size,
      );
      // The folder's copy names the blob to compare with; otherwise the newest. Last-Modified has
      // one-second resolution, so two uploads in one second would tie: the folder's name decides.
      const blob = held
        ? candidates.find((b) => b.name === held?.fileName)
        : candidates.sort((a, b) => b.modified - a.modified)[0];
      if (!blob?.etag || (held && held.etag !== blob.etag)) return null;
      held = {
        etag: blob.etag,
        version: held?.version ?? blob.version,
        contentType: held?.contentType ?? blob.contentType,
        bytes: held?.bytes ?? blob.bytes,
        fileName: held?.fileName ?? null,
        blobName: blob.name,
      };
    }
    return held;
  }

  /** Records that this run confirmed the held copies (they are not stale). */
  confirm(held: Held): { file: string | null; blobUrl: string | null } {
    if (held.fileName) this.claimedFiles.add(held.fileName);
    if (held.blobName) this.claimedBlobs.add(held.blobName);
    return {
      file: held.fileName && this.outDir ? join(this.outDir, held.fileName) : null,
      blobUrl:
        held.blobName && this.container
          ? publicUrl(this.container.getBlockBlobClient(held.blobName).url)
          : null,
    };
  }

  /** Writes the photo as `<key>.<ext>` to the folder (atomically, then the manifest) and the container. */
  async save(
    userId: string,
    key: string,
    photo: Photo,
  ): Promise<{ file: string | null; blobUrl: string | null }> {
    const name = `${key}.${extensionFor(photo.contentType)}`;
    let file: string | null = null;
    let blobUrl: string | null = null;
    if (this.outDir && this.manifest) {
      const target = join(this.outDir, name);
      // Defence in depth: the key was checked, but the file must land directly in the folder.
      if (resolve(target, "..") !== this.outDir)
        throw new UsageError(`refusing to write outside ${this.outDir}: ${name}`);
      // A symlink planted under the photo's name is replaced, never written through; a folder or
      // special file there is refused (ERR_USAGE for this user).
      await writeFileAtomic(target, photo.bytes, { noFollow: true });
      this.manifest.set(name, {
        userId,
        etag: photo.etag,
        contentType: photo.contentType,
        bytes: photo.bytes.length,
        size: this.size,
        ...(photo.version === "beta" ? { version: "beta" as const } : {}),
        savedAt: new Date().toISOString(),
      });
      this.claimedFiles.add(name);
      file = target;
    }
    if (this.container) {
      const blob = this.container.getBlockBlobClient(name);
      await blob.uploadData(photo.bytes, {
        blobHTTPHeaders: { blobContentType: photo.contentType },
        metadata: {
          graphetag: photo.etag,
          userid: userId,
          photosize: this.size ?? "largest",
          graphversion: photo.version,
        },
        ...(this.signal ? { abortSignal: this.signal } : {}),
      });
      this.addBlob({
        name,
        userId,
        etag: photo.etag,
        size: this.size,
        version: photo.version,
        contentType: photo.contentType,
        bytes: photo.bytes.length,
        modified: Date.now(),
      });
      this.claimedBlobs.add(name);
      blobUrl = publicUrl(blob.url);
    }
    return { file, blobUrl };
  }

  /** Users that have a file or blob here (to find those the directory no longer lists). */
  usersWithCopies(): Set<string> {
    const users = new Set<string>(this.blobsByUser.keys());
    for (const e of Object.values(this.manifest?.data.files ?? {})) users.add(e.userId);
    return users;
  }

  /** This user's files and blobs that this run neither wrote nor confirmed. */
  stale(userId: string): StaleCopy[] {
    const out: StaleCopy[] = [];
    for (const [name] of this.manifest?.findFor(userId) ?? []) {
      if (!this.claimedFiles.has(name))
        out.push({ userId, file: join(this.outDir as string, name), blobName: null });
    }
    for (const b of this.blobsByUser.get(userId) ?? []) {
      if (!this.claimedBlobs.has(b.name)) out.push({ userId, file: null, blobName: b.name });
    }
    return out;
  }

  /**
   * Deletes a stale copy (file and manifest entry, or blob). A file is deleted only when it is a
   * regular file directly in the folder (its manifest name passed the naming rules at load); a
   * symlink or anything else there is left alone and its entry forgotten. Returns whether something
   * was deleted.
   */
  async remove(copy: StaleCopy): Promise<boolean> {
    let removed = false;
    if (copy.file && this.outDir) {
      const name = copy.file.slice(this.outDir.length + 1);
      if (resolve(copy.file, "..") !== this.outDir)
        throw new UsageError(`refusing to delete outside the folder: ${name}`);
      if ((await entryKind(copy.file)) === "file") {
        await unlink(copy.file).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== "ENOENT") throw error;
        });
        removed = true;
      }
      this.manifest?.delete(name);
    }
    if (copy.blobName && this.container) {
      const deleted = await this.container.getBlockBlobClient(copy.blobName).deleteIfExists();
      removed = removed || deleted.succeeded;
      const list = (this.blobsByUser.get(copy.userId) ?? []).filter((b) => b.name !== copy.blobName);
      this.blobsByUser.set(copy.userId, list);
    }
    return removed;
  }
}

/** A blob URL safe to print: no SAS signature. */
export function publicUrl(url: string): string {
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}

/** Creates the folder, or checks that the path is one: a file or other non-folder is a usage error. */
async function openFolder(outDir: string): Promise<void> {
  try {
    await mkdir(outDir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ENOTDIR") {
      throw new UsageError(`the output folder ${outDir} is not a folder (a file is in the way)`, {
        cause: error,
      });
    }
    throw error;
  }
  // mkdir -p succeeds on an existing folder, and on a symlink to one: check what is there.
  if (!(await stat(outDir)).isDirectory())
    throw new UsageError(`the output folder ${outDir} is not a folder`);
}
