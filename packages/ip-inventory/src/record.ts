import { ipaddr } from "./ipaddr.js";
import type { IpFilter } from "./query.js";

/** One IP and the resource holding it (SPEC section 4, "ips find / ips diff"). */
export interface IpRecord {
  ip: string;
  version: 4 | 6;
  visibility: "private" | "public";
  cloud: "azure" | "aws";
  /** The subscription ID or AWS account ID. */
  accountId: string;
  accountName: string | null;
  /** Azure location or AWS region. */
  region: string | null;
  /** The VM's ARM resource ID or the EC2 instance ID. */
  resourceId: string;
  resourceName: string | null;
  /** Power state (Azure) or instance state (AWS). */
  state: string | null;
  networkInterfaceId: string | null;
  publicIpKind: "elastic" | "ephemeral" | null;
  /** The scale set's ARM ID for scale-set instances, else null. */
  scaleSet: string | null;
  /** The source document's `generatedAt` (for ndjson/csv: the file's or blob's modification time). */
  observedAt: string | null;
}

/** The fields of an `ec2-ips` item this package reads (json/ndjson hold all of them; csv fewer). */
export interface Ec2Item {
  accountId: string;
  accountName?: string | null;
  region?: string | null;
  instanceId: string;
  state?: string | null;
  name?: string | null;
  privateIps?: string[];
  publicIps?: string[];
  ipv6Ips?: string[];
  networkInterfaces?: Array<{
    id: string;
    privateIps?: string[];
    publicIps?: Array<{ ip: string; kind?: "elastic" | "ephemeral" | null } | string>;
    ipv6Ips?: string[];
  }>;
}

/** The fields of an `azure-vm-ips` item this package reads. */
export interface AzureVmItem {
  subscriptionId: string;
  subscriptionName?: string | null;
  location?: string | null;
  vmId: string;
  vmName?: string | null;
  powerState?: string | null;
  scaleSet?: string | null;
  privateIps?: string[];
  publicIps?: string[];
  /** From csv: the NIC IDs only (strings). */
  networkInterfaces?: Array<{ id: string; privateIps?: string[]; publicIps?: string[] } | string>;
}

const str = (value: unknown): string | null =>
  typeof value === "string" && value !== "" ? value : value == null ? null : String(value);

/** Whether `text` is a dotted-quad IPv4 address (hand-rolled: it runs once per IP read). */
function isDottedQuad(text: string): boolean {
  const n = text.length;
  if (n < 7 || n > 15) return false;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 255) return false;
      dots++;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      // A leading zero ("010") is ambiguous (octal to some parsers): not an address here.
      if (digits === 1 && part === 0) return false;
      part = part * 10 + c - 48;
      if (++digits > 3) return false;
    } else return false;
  }
  return dots === 3 && digits > 0 && part <= 255;
}

/** 4 or 6, or null when `text` is no IP address. */
export function ipVersion(text: string): 4 | 6 | null {
  if (isDottedQuad(text)) return 4;
  if (text.includes(":") && ipaddr.IPv6.isValid(text)) return 6;
  return null;
}

/**
 * An IPv6 address in RFC 5952 form (lower case, longest zero run compressed), so that `2001:DB8::1`
 * from one source and `2001:db8:0::1` from another are one address. IPv4 is kept as it is.
 */
export function canonicalIp(text: string): string {
  if (!text.includes(":")) return text;
  try {
    return ipaddr.IPv6.parse(text).toRFC5952String();
  } catch {
    return text;
  }
}

/** AWS IPv6 addresses are global unicast unless they fall in the unique-local or link-local ranges. */
function ipv6Visibility(ip: string): "private" | "public" {
  try {
    const range = ipaddr.IPv6.parse(ip).range();
    return range === "uniqueLocal" || range === "linkLocal" ? "private" : "public";
  } catch {
    return "public";
  }
}

type Base = Pick<
  IpRecord,
  | "cloud"
  | "accountId"
  | "accountName"
  | "region"
  | "resourceId"
  | "resourceName"
  | "state"
  | "scaleSet"
  | "observedAt"
>;

/** The one object a filter sees for every IP before its record is built (see IpFilter). */
const CANDIDATE: IpRecord = {
  ip: "",
  version: 4,
  visibility: "private",
  cloud: "aws",
  accountId: "",
  accountName: null,
  region: null,
  resourceId: "",
  resourceName: null,
  state: null,
  networkInterfaceId: null,
  publicIpKind: null,
  scaleSet: null,
  observedAt: null,
};

/** Collects (ip, visibility) once per resource and interface, in the source's order. */
class Emitter {
  readonly out: IpRecord[] = [];
  // A resource holds a handful of IPs: an array beats a Set here.
  private readonly seen: string[] = [];
  constructor(
    private readonly base: Base,
    private readonly keep: IpFilter | undefined,
  ) {}
  add(
    raw: unknown,
    visibility: "private" | "public" | "v6",
    nic: string | null,
    kind: "elastic" | "ephemeral" | null = null,
  ): void {
    if (typeof raw !== "string" || raw === "") return;
    // The instance's own lists repeat its interfaces' IPs: drop those before any parsing.
    if (visibility !== "v6" && this.seen.includes(visibility === "public" ? `+${raw}` : raw)) return;
    const version = ipVersion(raw);
    if (version === null) return;
    const ip = canonicalIp(raw);
    const vis = visibility === "v6" ? ipv6Visibility(ip) : visibility;
    const key = vis === "public" ? `+${ip}` : ip;
    if (this.seen.includes(key)) return;
    this.seen.push(key);
    const b = this.base;
    if (this.keep) {
      const c = CANDIDATE;
      c.ip = ip;
      c.version = version;
      c.visibility = vis;
      c.cloud = b.cloud;
      c.accountId = b.accountId;
      c.accountName = b.accountName;
      c.region = b.region;
      c.resourceId = b.resourceId;
      c.resourceName = b.resourceName;
      c.state = b.state;
      c.networkInterfaceId = nic;
      c.publicIpKind = kind;
      c.scaleSet = b.scaleSet;
      c.observedAt = b.observedAt;
      if (!this.keep(c)) return;
    }
    this.out.push({
      ip,
      version,
      visibility: vis,
      cloud: b.cloud,
      accountId: b.accountId,
      accountName: b.accountName,
      region: b.region,
      resourceId: b.resourceId,
      resourceName: b.resourceName,
      state: b.state,
      networkInterfaceId: nic,
      publicIpKind: kind,
      scaleSet: b.scaleSet,
      observedAt: b.observedAt,
    });
  }
}

/** The IP records of one `ec2-ips` item: every private, public and IPv6 address of every interface. */
export function fromEc2Item(item: Ec2Item, observedAt: string | null, keep?: IpFilter): IpRecord[] {
  const e = new Emitter(
    {
      cloud: "aws",
      accountId: String(item.accountId),
      accountName: str(item.accountName),
      region: str(item.region),
      resourceId: String(item.instanceId),
      resourceName: str(item.name),
      state: str(item.state),
      scaleSet: null,
      observedAt,
    },
    keep,
  );
  for (const nic of item.networkInterfaces ?? []) {
    for (const ip of nic.privateIps ?? []) e.add(ip, "private", nic.id);
    for (const p of nic.publicIps ?? []) {
      if (typeof p === "string") e.add(p, "public", nic.id);
      else e.add(p.ip, "public", nic.id, p.kind === "elastic" || p.kind === "ephemeral" ? p.kind : null);
    }
    for (const ip of nic.ipv6Ips ?? []) e.add(ip, "v6", nic.id);
  }
  // What no interface accounts for (csv holds no interfaces): the instance's own lists.
  for (const ip of item.privateIps ?? []) e.add(ip, "private", null);
  for (const ip of item.publicIps ?? []) e.add(ip, "public", null);
  for (const ip of item.ipv6Ips ?? []) e.add(ip, "v6", null);
  return e.out;
}

/** The IP records of one `azure-vm-ips` item (ARM or classic VM). */
export function fromAzureItem(item: AzureVmItem, observedAt: string | null, keep?: IpFilter): IpRecord[] {
  const e = new Emitter(
    {
      cloud: "azure",
      accountId: String(item.subscriptionId),
      accountName: str(item.subscriptionName),
      region: str(item.location),
      resourceId: String(item.vmId),
      resourceName: str(item.vmName),
      state: str(item.powerState),
      scaleSet: str(item.scaleSet),
      observedAt,
    },
    keep,
  );
  const nics = item.networkInterfaces ?? [];
  // A csv row names the NICs but not which IP is on which: with one NIC there is no doubt.
  const onlyNic = nics.length === 1 && typeof nics[0] === "string" ? nics[0] : null;
  for (const nic of nics) {
    if (typeof nic === "string") continue;
    for (const ip of nic.privateIps ?? []) e.add(ip, "private", nic.id);
    for (const ip of nic.publicIps ?? []) e.add(ip, "public", nic.id);
  }
  for (const ip of item.privateIps ?? []) e.add(ip, "private", onlyNic);
  for (const ip of item.publicIps ?? []) e.add(ip, "public", onlyNic);
  return e.out;
}

const IP_RECORD_KEYS = ["ip", "cloud", "resourceId", "visibility"] as const;

/** Whether an item already is an {@link IpRecord} (an earlier `ips find` output). */
export function isIpRecordShape(item: Record<string, unknown>): boolean {
  return IP_RECORD_KEYS.every((k) => typeof item[k] === "string");
}

/** An {@link IpRecord} read back from json/ndjson/csv (csv gives every field as text). */
export function normaliseIpRecord(item: Record<string, unknown>, observedAt: string | null): IpRecord | null {
  const ip = String(item.ip);
  const version = ipVersion(ip);
  if (version === null) return null;
  const cloud = item.cloud === "aws" ? "aws" : item.cloud === "azure" ? "azure" : null;
  const visibility =
    item.visibility === "public" ? "public" : item.visibility === "private" ? "private" : null;
  if (!cloud || !visibility) return null;
  const kind = item.publicIpKind;
  return {
    ip: canonicalIp(ip),
    version,
    visibility,
    cloud,
    accountId: String(item.accountId ?? ""),
    accountName: str(item.accountName),
    region: str(item.region),
    resourceId: String(item.resourceId),
    resourceName: str(item.resourceName),
    state: str(item.state),
    networkInterfaceId: str(item.networkInterfaceId),
    publicIpKind: kind === "elastic" || kind === "ephemeral" ? kind : null,
    scaleSet: str(item.scaleSet),
    observedAt: str(item.observedAt) ?? observedAt,
  };
}
