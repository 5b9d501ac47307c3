/** Longest file name most file systems accept, in bytes (ext4, NTFS in UTF-16 units is 255 too). */
const MAX_NAME_BYTES = 255;
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$/i;
// Path separators, characters Windows forbids in names, and control characters.
const FORBIDDEN = /[/\\<>:"|?*\u0000-\u001f\u007f-\u009f]/;

export type KeyCheck =
  | { ok: true; key: string }
  | { ok: false; status: "no-key" | "invalid-key"; reason: string };

/**
 * Checks a user's key attribute value (untrusted directory data) before it names a file or a blob.
 * Returns the key as text, or why it cannot be used: absent (`no-key`), or unsafe (`invalid-key`): a path
 * separator or `..`, a reserved device name, control or forbidden characters, a leading or trailing dot
 * or space, empty, or too long for a file name.
 */
export function checkKey(value: unknown, extension = "jpg"): KeyCheck {
  if (value === undefined || value === null)
    return { ok: false, status: "no-key", reason: "the key attribute is not set" };
  if (typeof value !== "string" && typeof value !== "number") {
    return { ok: false, status: "invalid-key", reason: "the key attribute is not a string" };
  }
  const key = String(value).normalize("NFC");
  if (key.length === 0) return { ok: false, status: "invalid-key", reason: "empty key" };
  if (key === "." || key === ".." || key.includes(".."))
    return { ok: false, status: "invalid-key", reason: "contains '..'" };
  const bad = FORBIDDEN.exec(key);
  if (bad) {
    const ch = bad[0];
    const what =
      ch === "/" || ch === "\\"
        ? "a path separator"
        : (ch.codePointAt(0) ?? 0) < 0x20 || (ch.codePointAt(0) ?? 0) >= 0x7f
          ? "a control character"
          : `'${ch}'`;
    return { ok: false, status: "invalid-key", reason: `contains ${what}` };
  }
  if (/^[ .]|[ .]$/.test(key))
    return { ok: false, status: "invalid-key", reason: "starts or ends with a dot or space" };
  if (RESERVED.test(key.split(".")[0] ?? ""))
    return { ok: false, status: "invalid-key", reason: "is a reserved device name" };
  if (Buffer.byteLength(`${key}.${extension}`, "utf8") > MAX_NAME_BYTES) {
    return { ok: false, status: "invalid-key", reason: `longer than ${MAX_NAME_BYTES} bytes as a file name` };
  }
  return { ok: true, key };
}

/** Two keys collide when they would name the same file on a case-insensitive file system. */
export function keyIdentity(key: string): string {
  return key.normalize("NFC").toLowerCase();
}

/**
 * Photo content type -> file extension: the one table (@cloudadmin/output has none for images). Graph
 * serves JPEG for Exchange Online photos; the others occur for photos stored in Entra ID.
 */
const EXTENSIONS: Record<string, string> = {
  "image/jpeg": "jpg",
  "image/jpg": "jpg",
  "image/pjpeg": "jpg",
  "image/png": "png",
  "image/gif": "gif",
  "image/bmp": "bmp",
  "image/webp": "webp",
  "image/tiff": "tif",
};

/** File extension for a photo's content type (`image/jpeg` -> `jpg`); `jpg` when unknown, as Graph photos are. */
export function extensionFor(contentType: string | null | undefined): string {
  const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  return EXTENSIONS[type] ?? "jpg";
}

const PHOTO_EXTENSIONS = new Set(Object.values(EXTENSIONS));

/**
 * Whether `name` is a file name this job could have written: `<key>.<ext>` with a key that passes
 * {@link checkKey} and an extension from the content-type table. Names read back from the folder's
 * manifest (untrusted: anyone who can write the folder can edit it) must pass this before they are
 * compared, confirmed or deleted.
 */
export function isPhotoFileName(name: unknown): name is string {
  if (typeof name !== "string") return false;
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return false;
  const ext = name.slice(dot + 1);
  if (!PHOTO_EXTENSIONS.has(ext)) return false;
  const check = checkKey(name.slice(0, dot), ext);
  return check.ok && check.key === name.slice(0, dot);
}
