import { lstat } from "node:fs/promises";

/** What sits at a path in the folder, without following a symlink. */
export async function entryKind(path: string): Promise<"none" | "file" | "symlink" | "other"> {
  try {
    const info = await lstat(path);
    return info.isSymbolicLink() ? "symlink" : info.isFile() ? "file" : "other";
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "none";
    throw error;
  }
}
