import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { PopulateFn } from "./populate.js";

/**
 * The blocks a run holds and the counts the samples report. Allocation and touching are separate
 * steps, so a sample can be written between them (before the page faults that may get the process
 * OOM-killed). No method returns a block: a caller holding one in a local (a suspended generator
 * keeps its locals alive) would keep it resident after {@link BlockStore.release}.
 */
export class BlockStore {
  private blocks: Uint8Array[] = [];
  /** Blocks allocated so far; not reset by a release, so samples keep counting from the last block. */
  count = 0;
  allocatedBytes = 0;
  touchedBytes = 0;

  constructor(
    private readonly allocator: (bytes: number) => Uint8Array,
    private readonly pageSize: number,
    private readonly populate: PopulateFn | null,
    private readonly hugePageBytes: number,
  ) {}

  /** Allocates one block of `bytes`; returns the RangeError of a failed allocation, else null. */
  allocate(bytes: number): RangeError | null {
    try {
      this.blocks.push(this.allocator(bytes));
    } catch (error) {
      if (error instanceof RangeError) return error;
      throw error;
    }
    this.count += 1;
    this.allocatedBytes += bytes;
    return null;
  }

  /** Makes the first `pages` pages of the last block resident. */
  touchLast(pages: number): void {
    const block = this.blocks[this.blocks.length - 1];
    if (block !== undefined)
      this.touchedBytes += touch(block, pages, this.pageSize, this.populate, this.hugePageBytes);
  }

  /** Drops every block and forces a full GC, so the memory is unmapped now rather than later. */
  release(): void {
    this.blocks = [];
    this.allocatedBytes = 0;
    this.touchedBytes = 0;
    collectGarbage();
  }
}

/** Makes the first `pages` pages of the block resident; returns the bytes that covers. */
function touch(
  block: Uint8Array,
  pages: number,
  pageSize: number,
  populate: PopulateFn | null,
  hugePageBytes: number,
): number {
  if (pages > 0 && populate !== null && populate(block, pages, pageSize, hugePageBytes)) {
    return Math.min(block.length, pages * pageSize);
  }
  // A write (not a read: a read maps the shared zero page) faults in a private page. The block
  // starts a few bytes into its first page (malloc's chunk header), so offset k * pageSize lies in
  // page k of the mapping and exactly `pages` pages are faulted.
  for (let page = 0, offset = 0; page < pages; page++, offset += pageSize) block[offset] = 1;
  return Math.min(block.length, pages * pageSize);
}

/**
 * Freed blocks are unmapped only when V8 collects their ArrayBuffers, and dropping references alone
 * triggers no collection; a full GC makes `release()` visible in RSS and the cgroup at once.
 */
function collectGarbage(): void {
  try {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as unknown;
    if (typeof gc === "function") gc();
  } catch {
    // Without a GC the memory is still freed, later.
  }
}
