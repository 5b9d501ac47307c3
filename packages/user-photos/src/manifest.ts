import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "@cloudadmin/output";
import { entryKind } from "./files.js";
import { isPhotoFileName } from "./keys.js";

/** The folder's manifest file: what each photo file is and which Graph ETag it was saved from. */
export const MANIFEST_NAME = ".cloudadmin-photos.json";

export interface ManifestEntry {
  userId: string;
  etag: string;
  contentType: string;
  bytes: number;
  /** Photo size requested (`648x648`), or null for the largest. */
  size: string | null;
  /** Graph version the photo came from: `beta` for on-premises mailboxes (Entra ID fallback). */
  version?: "v1.0" | "beta";
  savedAt: string;
}

export interface ManifestFile {
  version: 1;
  /** File name (`<key>.<ext>`) -> entry. */
  files: Record<string, ManifestEntry>;
}

/**
 * The manifest of one folder, kept in memory and written atomically (every entry describes a file
 * that was completely written before the entry was recorded, so an interrupted run leaves it true).
 *
 * The file is untrusted input: anyone who can write the folder can edit it. A manifest that is not a
 * regular file (a planted symlink) is not read, and an entry whose name is not one this job could
 * have written (`<key>.<ext>`, the key passing the same rules as user attributes) is dropped and
 * listed in `refused`, so it can never name a file to confirm, overwrite or delete.
 */
export class Manifest {
  private dirty = false;
  private lastFlush = 0;
  private flushing: Promise<void> = Promise.resolve();
  private constructor(
    private readonly file: string,
    readonly data: ManifestFile,
    /** Names the manifest held that this job could not have written (never used). */
    readonly refused: string[],
  ) {}

  static async load(dir: string): Promise<Manifest> {
    const file = join(dir, MANIFEST_NAME);
    const data: ManifestFile = { version: 1, files: {} };
    const refused: string[] = [];
    // A missing, unreadable or planted (not a regular file) manifest only means every photo is
    // downloaded again.
    if ((await entryKind(file)) !== "file") return new Manifest(file, data, refused);
    let parsed: Partial<ManifestFile> | null = null;
    try {
      parsed = JSON.parse(await readFile(file, "utf8")) as Partial<ManifestFile>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT" && !(error instanceof SyntaxError)) throw error;
    }
    if (parsed && parsed.version === 1 && parsed.files && typeof parsed.files === "object") {
      for (const [name, e] of Object.entries(parsed.files)) {
        if (!isPhotoFileName(name)) refused.push(name);
        else if (isEntry(e)) data.files[name] = e;
      }
    }
    return new Manifest(file, data, refused);
  }

  /** The file this user's photo was saved to under `keyName` (`<key>.` prefix), if any. */
  findFor(userId: string): Array<[string, ManifestEntry]> {
    return Object.entries(this.data.files).filter(([, e]) => e.userId === userId);
  }

  set(name: string, entry: ManifestEntry): void {
    this.data.files[name] = entry;
    this.dirty = true;
  }

  delete(name: string): void {
    if (name in this.data.files) {
      delete this.data.files[name];
      this.dirty = true;
    }
  }

  /** Writes when something changed and `minIntervalMs` passed since the last write. */
  async flush(minIntervalMs = 0): Promise<void> {
    if (!this.dirty || Date.now() - this.lastFlush < minIntervalMs) return this.flushing;
    this.dirty = false;
    this.lastFlush = Date.now();
    const text = `${JSON.stringify(this.data, null, 2)}\n`;
    this.flushing = this.flushing
      .catch(() => undefined)
      .then(async () => {
        // A symlink planted under the manifest's name is replaced, never written through.
        await writeFileAtomic(this.file, text, { noFollow: true });
      });
    return this.flushing;
  }
}

function isEntry(e: unknown): e is ManifestEntry {
  if (!e || typeof e !== "object") return false;
  const x = e as Record<string, unknown>;
  return (
    typeof x.userId === "string" &&
    typeof x.etag === "string" &&
    typeof x.savedAt === "string" &&
    (x.size === null || x.size === undefined || typeof x.size === "string")
  );
}
