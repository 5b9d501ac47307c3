import { UsageError } from "@cloudadmin/errors";
import { type IPv4, type IPv6, ipaddr } from "./ipaddr.js";
import type { IpRecord } from "./record.js";

/** A parsed `ips find` query: one address, a CIDR range, or a glob over resource names and IDs. */
export type IpQuery =
  | { kind: "address"; text: string; ip: string; version: 4 | 6 }
  | { kind: "cidr"; text: string; version: 4 | 6; test: (ip: string) => boolean }
  | { kind: "name"; text: string; test: (value: string) => boolean };

const LOOKS_NUMERIC_V4 = /^[\d.]+$/;
const LOOKS_V6 = /^[0-9a-f:.]*:[0-9a-f:.]*(%.+)?$/i;

/** IPv4 dotted quad to an unsigned 32-bit number, or -1 (the hot path of a CIDR search). */
function v4ToInt(text: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 255) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      part = part * 10 + (c - 48);
      digits++;
    } else return -1;
  }
  if (dots !== 3 || digits === 0 || part > 255) return -1;
  return value * 256 + part;
}

/** `*` any run of characters, `?` one character, `[...]` a set; case-insensitive; the whole value. */
function globToRegExp(glob: string): RegExp {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*") out += ".*";
    else if (c === "?") out += ".";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end < 0) throw new UsageError(`'${glob}': a '[' without its ']'`);
      let set = glob.slice(i + 1, end).replace(/[\\^\]]/g, "\\$&");
      if (set.startsWith("!")) set = `^${set.slice(1)}`;
      out += `[${set}]`;
      i = end;
    } else out += c.replace(/[.+^${}()|\\/]/g, "\\$&");
  }
  return new RegExp(`^${out}$`, "i");
}

/**
 * Parses one query: an IPv4 or IPv6 address, a CIDR (`10.20.0.0/16`, `2001:db8::/32`), or a name glob
 * (`web-*`, matched against the resource's name and ID, case-insensitive).
 *
 * @throws UsageError for a malformed address or CIDR (`10.0.0.300`, `10.0.0.0/33`), in one line.
 */
export function parseQuery(text: string): IpQuery {
  const q = text.trim();
  if (q === "") throw new UsageError("an empty query: give an IP address, a CIDR or a name glob");
  if (q.includes("/") && (LOOKS_NUMERIC_V4.test(q.split("/")[0] ?? "") || q.includes(":"))) {
    let range: [IPv4 | IPv6, number];
    try {
      range = ipaddr.parseCIDR(q);
    } catch {
      throw new UsageError(`'${q}' is not a valid CIDR (e.g. 10.20.0.0/16 or 2001:db8::/32)`);
    }
    const [address, bits] = range;
    if (address.kind() === "ipv4") {
      if (!ipaddr.IPv4.isValidFourPartDecimal(q.split("/")[0] ?? ""))
        throw new UsageError(`'${q}' is not a valid CIDR (e.g. 10.20.0.0/16 or 2001:db8::/32)`);
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      const network = (v4ToInt(address.toString()) & mask) >>> 0;
      return {
        kind: "cidr",
        text: q,
        version: 4,
        test: (ip) => {
          const n = v4ToInt(ip);
          return n >= 0 && (n & mask) >>> 0 === network;
        },
      };
    }
    return {
      kind: "cidr",
      text: q,
      version: 6,
      test: (ip) => {
        if (!ip.includes(":")) return false;
        try {
          const parsed = ipaddr.IPv6.parse(ip);
          return parsed.match(address as IPv6, bits);
        } catch {
          return false;
        }
      },
    };
  }
  if (LOOKS_NUMERIC_V4.test(q)) {
    if (!ipaddr.IPv4.isValidFourPartDecimal(q)) throw new UsageError(`'${q}' is not a valid IPv4 address`);
    return { kind: "address", text: q, ip: q, version: 4 };
  }
  if (LOOKS_V6.test(q)) {
    if (!ipaddr.IPv6.isValid(q)) throw new UsageError(`'${q}' is not a valid IPv6 address`);
    return { kind: "address", text: q, ip: ipaddr.IPv6.parse(q).toRFC5952String(), version: 6 };
  }
  if (/[\u0000-\u001f]/.test(q)) throw new UsageError("a name glob cannot hold control characters");
  const regex = globToRegExp(q);
  return { kind: "name", text: q, test: (value) => regex.test(value) };
}

/** The resource an IP belongs to, as far as a name query looks at it. */
export type IpHolder = Pick<IpRecord, "resourceName" | "resourceId">;

/** Whether a record matches a query. */
export function matchesQuery(record: IpRecord, query: IpQuery): boolean {
  return matchesIp(record.ip, record.version, record, query);
}

/** Whether an IP (canonical form) of a holder matches a query, before any record is built. */
export function matchesIp(ip: string, version: 4 | 6, holder: IpHolder, query: IpQuery): boolean {
  switch (query.kind) {
    case "address":
      return ip === query.ip;
    case "cidr":
      return version === query.version && query.test(ip);
    case "name":
      return (
        (holder.resourceName !== null && query.test(holder.resourceName)) ||
        query.test(holder.resourceId) ||
        query.test(holder.resourceId.slice(holder.resourceId.lastIndexOf("/") + 1))
      );
  }
}

/**
 * A test on a record before it is built, applied while reading: records are built only for what
 * passes. The candidate is one object reused for every IP: read it, do not keep it.
 */
export type IpFilter = (candidate: Readonly<IpRecord>) => boolean;

/**
 * One test for all the queries: addresses by a set lookup, the others query by query.
 */
export function compileQueries(queries: readonly IpQuery[]): IpFilter {
  const addresses = new Set(queries.filter((q) => q.kind === "address").map((q) => q.ip));
  const others = queries.filter((q) => q.kind !== "address");
  return (r) => {
    if (addresses.has(r.ip)) return true;
    for (const query of others) if (matchesIp(r.ip, r.version, r, query)) return true;
    return false;
  };
}
