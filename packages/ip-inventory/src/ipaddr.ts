import { createRequire } from "node:module";
import type * as IpAddr from "ipaddr.js";

/**
 * ipaddr.js is CommonJS with an `export =` declaration: Node's ESM loader sees only its default export
 * and this project compiles without `esModuleInterop`, so it is loaded with `require` once, here.
 */
export const ipaddr: typeof IpAddr = createRequire(import.meta.url)("ipaddr.js");
export type IPv4 = IpAddr.IPv4;
export type IPv6 = IpAddr.IPv6;
