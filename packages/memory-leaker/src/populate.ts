import { createRequire } from "node:module";

/** `populate(view, pages, pageSize, hugePageSize)` from the optional native helper (native/populate.c). */
export type PopulateFn = (
  view: Uint8Array,
  pages: number,
  pageSize: number,
  hugePageSize?: number,
) => boolean;

let loaded: PopulateFn | null | undefined;

/**
 * Loads the native helper built at install time (node-gyp), or null when it was not built. It calls
 * madvise(MADV_POPULATE_WRITE) on exactly the pages that one write per page would fault in: the
 * same pages become resident, without one page fault (a trap into the kernel) per page, which is
 * what makes stress-ng fast and plain JavaScript writes several times slower (more so in VMs).
 */
function loadPopulate(): PopulateFn | null {
  if (loaded !== undefined) return loaded;
  try {
    const require = createRequire(import.meta.url);
    const binding = require("../build/Release/populate.node") as { populate?: PopulateFn };
    loaded = typeof binding.populate === "function" ? binding.populate : null;
  } catch {
    loaded = null;
  }
  return loaded;
}

/** The populate helper when it is built and the kernel supports MADV_POPULATE_WRITE (5.14+), else null. */
export function usablePopulate(pageSize: number): PopulateFn | null {
  const populate = loadPopulate();
  if (populate === null) return null;
  try {
    return populate(Buffer.allocUnsafeSlow(pageSize * 2), 1, pageSize) ? populate : null;
  } catch {
    return null;
  }
}
