import { readFile } from "node:fs/promises";
import { relative, sep } from "node:path";
import { type Item, num, text } from "./fields.js";

/** A saved photo on the contact sheet, or a user left out and why. */
export interface PhotoData {
  kind: "photos";
  photos: Array<{ key: string; user: string; status: string; bytes: number; src: string | null }>;
  left: Array<{ key: string; user: string; status: string; reason: string }>;
}

/** Where the sheet's images come from. */
export interface PhotoSourceOptions {
  /**
   * The folder the report is written to. Photos larger than `inlinePhotoBytes` are then linked by
   * their path relative to it (open the report beside the photos); without it they are all inlined.
   */
  reportDir?: string;
  /** Photos up to this size are embedded as data URIs (default 16 KiB; 256 KiB without `reportDir`). */
  inlinePhotoBytes?: number;
}

const SHOWN = new Set(["saved", "unchanged"]);
const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"]);

export function photoCollector(options: PhotoSourceOptions) {
  const photos: Array<Item> = [];
  const left: PhotoData["left"] = [];
  return {
    add(item: Item): void {
      if (SHOWN.has(text(item, "status"))) photos.push(item);
      else
        left.push({
          key: text(item, "key"),
          user: text(item, "userPrincipalName", "userId"),
          status: text(item, "status"),
          reason: text(item, "reason"),
        });
    },
    async finish(): Promise<PhotoData> {
      const inline = options.inlinePhotoBytes ?? (options.reportDir ? 16 * 1024 : 256 * 1024);
      const sheet: PhotoData["photos"] = [];
      for (const item of photos) {
        sheet.push({
          key: text(item, "key"),
          user: text(item, "userPrincipalName", "userId"),
          status: text(item, "status"),
          bytes: num(item, "bytes") ?? 0,
          src: await photoSource(item, inline, options.reportDir),
        });
      }
      const byKey = (a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key);
      return { kind: "photos", photos: sheet.sort(byKey), left: left.sort(byKey) };
    },
  };
}

/** A data URI for a small photo, a relative path for a large one, null when there is no file to show. */
async function photoSource(
  item: Item,
  inline: number,
  reportDir: string | undefined,
): Promise<string | null> {
  const file = text(item, "file");
  if (!file) return null;
  const bytes = num(item, "bytes") ?? 0;
  const type = text(item, "contentType").split(";")[0]?.trim().toLowerCase() ?? "";
  if (bytes <= inline && IMAGE_TYPES.has(type)) {
    try {
      return `data:${type};base64,${(await readFile(file)).toString("base64")}`;
    } catch {
      // Unreadable now (moved, permissions): fall back to the link.
    }
  }
  if (!reportDir) return null;
  // A relative URL: each path segment percent-encoded, so a key holding "#", "?" or "%" stays a file name.
  return relative(reportDir, file).split(sep).map(encodeURIComponent).join("/");
}
