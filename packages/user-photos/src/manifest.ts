import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "@cloudadmin/output";

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
 */
export class Manifest {
  private dirty = false;
  private lastFlush = 0;
  private flushing: Promise<void> = Promise.resolve();
  private constructor(
    private readonly file: string,
    readonly data: ManifestFile,
  ) {}

  static async load(dir: string): Promise<Manifest> {
    const file = join(dir, MANIFEST_NAME);
    let data: ManifestFile = { version: 1, files: {} };
    try {
      const parsed = JSON.parse(await readFile(file, "utf8")) as Partial<ManifestFile>;
      if (parsed && parsed.version === 1 && parsed.files && typeof parsed.files === "object") {
        data = { version: 1, files: {} };
        for (const [name, e] of Object.entries(parsed.files)) {
          if (e && typeof e.userId === "string" && typeof e.etag === "string") data.files[name] = e;
        }
      }
    } catch (error) {
      // A missing or unreadable manifest only means every photo is downloaded again.
      if ((error as NodeJS.ErrnoException).code !== "ENOENT" && !(error instanceof SyntaxError)) throw error;
    }
    return new Manifest(file, data);
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
        await writeFileAtomic(this.file, text);
      });
    return this.flushing;
  }
}
