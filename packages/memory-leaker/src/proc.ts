import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Reads a small text file, or null when it is missing or unreadable. */
export function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** Parses an integer file such as `oom_score`; null when missing or not a number. */
export function readInteger(path: string): number | null {
  const text = readText(path);
  if (text === null) return null;
  const value = Number.parseInt(text.trim(), 10);
  return Number.isFinite(value) ? value : null;
}

/** Parses `key value` lines (memory.stat, memory.events, oom_control) into numbers. */
export function parseKeyValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [key, value] = line.trim().split(/\s+/);
    if (key === undefined || value === undefined) continue;
    const n = Number(value);
    if (Number.isFinite(n)) out.set(key, n);
  }
  return out;
}

/** Where the page size came from: the kernel's auxiliary vector, smaps, getconf, or a 4096 guess. */
export type PageSizeSource = "auxv" | "smaps" | "getconf" | "assumed";

const AT_PAGESZ = 6;

/**
 * Detects the kernel page size. Node has no API for it, and arm64 kernels use 4, 16 or 64 KiB, so
 * it is read from `/proc/self/auxv` (AT_PAGESZ, what libc's getpagesize() returns), else from the
 * `KernelPageSize` of the first mapping in `/proc/self/smaps`, else from `getconf PAGESIZE`.
 */
export function detectPageSize(
  procRoot: string,
  runGetconf = true,
): { pageSize: number; source: PageSizeSource } {
  try {
    const auxv = readFileSync(join(procRoot, "self", "auxv"));
    // Entries are (type, value) pairs of native words; 32-bit platforms use 4-byte words.
    const word = process.arch === "arm" || process.arch === "ia32" || process.arch === "mipsel" ? 4 : 8;
    for (let offset = 0; offset + 2 * word <= auxv.length; offset += 2 * word) {
      const type = word === 8 ? Number(auxv.readBigUInt64LE(offset)) : auxv.readUInt32LE(offset);
      if (type === 0) break;
      if (type === AT_PAGESZ) {
        const value =
          word === 8 ? Number(auxv.readBigUInt64LE(offset + word)) : auxv.readUInt32LE(offset + word);
        if (isPageSize(value)) return { pageSize: value, source: "auxv" };
      }
    }
  } catch {
    // Not Linux, or /proc not mounted: try the next source.
  }
  const smaps = readText(join(procRoot, "self", "smaps"));
  const match = smaps === null ? null : /^KernelPageSize:\s+(\d+)\s+kB/m.exec(smaps);
  if (match?.[1] !== undefined) {
    const value = Number(match[1]) * 1024;
    if (isPageSize(value)) return { pageSize: value, source: "smaps" };
  }
  if (runGetconf) {
    try {
      const value = Number(execFileSync("getconf", ["PAGESIZE"], { encoding: "utf8", timeout: 2000 }).trim());
      if (isPageSize(value)) return { pageSize: value, source: "getconf" };
    } catch {
      // getconf missing (distroless images): fall through.
    }
  }
  return { pageSize: 4096, source: "assumed" };
}

function isPageSize(value: number): boolean {
  return Number.isInteger(value) && value >= 1024 && (value & (value - 1)) === 0;
}

/** Transparent huge pages mode from `/sys/kernel/mm/transparent_hugepage/enabled` (the bracketed word). */
export function readThpMode(sysRoot: string): "always" | "madvise" | "never" | null {
  const text = readText(join(sysRoot, "kernel", "mm", "transparent_hugepage", "enabled"));
  const mode = text === null ? null : /\[(\w+)\]/.exec(text)?.[1];
  return mode === "always" || mode === "madvise" || mode === "never" ? mode : null;
}

/** Writes `/proc/self/oom_score_adj`; raising needs no privilege, lowering needs CAP_SYS_RESOURCE. */
export function writeOomScoreAdj(procRoot: string, value: number): void {
  writeFileSync(join(procRoot, "self", "oom_score_adj"), `${value}\n`);
}
