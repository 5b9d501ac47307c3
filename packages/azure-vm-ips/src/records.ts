import { ARM_VM_TYPE, CLASSIC_VM_TYPE } from "./query.js";
import type { NetworkInterfaceIps, VmIpRecord, VmIpWarning } from "./types.js";

/** One row of the inventory query (see query.ts). */
export interface VmRow {
  id: string;
  name: string;
  type: string;
  location: string;
  resourceGroup: string;
  subscriptionId: string;
  subscriptionName?: string | null;
  vmSize?: string | null;
  powerState?: string | null;
  nicCount?: number | null;
  nics?: Array<{
    id?: string;
    primary?: string | boolean;
    ips?: Array<{ index?: number; private?: string; public?: string | null }>;
  }> | null;
  classic?: { private?: string; public?: unknown } | null;
}

const text = (v: unknown): string | null => (typeof v === "string" && v.trim() !== "" ? v : null);

function pushUnique(list: string[], value: unknown): void {
  const v = text(value);
  if (v !== null && !list.includes(v)) list.push(v);
}

const CLASSIC_POWER: Record<string, string> = {
  started: "running",
  stopped: "stopped",
  stoppeddeallocated: "deallocated",
};

function powerOf(value: unknown, classic: boolean): string | null {
  const p = text(value);
  if (p === null) return null;
  if (classic) return CLASSIC_POWER[p.toLowerCase()] ?? p.toLowerCase();
  return p.replace(/^PowerState\//i, "").toLowerCase();
}

const isPrimary = (v: unknown) => v === true || (typeof v === "string" && v.toLowerCase() === "true");

/**
 * Turns a query row into the record the user sees: NICs primary first, then by resource ID; each
 * NIC's addresses in IP-configuration order. Reports a VM that names more NICs than ARG holds.
 */
export function toRecord(row: VmRow, onWarning?: (w: VmIpWarning) => void): VmIpRecord {
  const classic = row.type.toLowerCase() === CLASSIC_VM_TYPE;
  const record: VmIpRecord = {
    subscriptionId: row.subscriptionId,
    subscriptionName: text(row.subscriptionName),
    resourceGroup: row.resourceGroup,
    location: row.location,
    vmId: row.id,
    vmName: row.name,
    vmSize: text(row.vmSize),
    powerState: powerOf(row.powerState, classic),
    deploymentModel: classic ? "classic" : "arm",
    privateIps: [],
    publicIps: [],
    networkInterfaces: [],
  };
  if (classic) {
    pushUnique(record.privateIps, row.classic?.private);
    const pub = row.classic?.public;
    if (Array.isArray(pub)) for (const ip of pub) pushUnique(record.publicIps, ip);
    return record;
  }
  if (row.type.toLowerCase() !== ARM_VM_TYPE) throw new TypeError(`unexpected resource type ${row.type}`);
  const nics = (Array.isArray(row.nics) ? row.nics : []).filter((n) => typeof n?.id === "string");
  nics.sort((a, b) => {
    const pa = isPrimary(a.primary);
    if (pa !== isPrimary(b.primary)) return pa ? -1 : 1;
    const ia = (a.id as string).toLowerCase();
    const ib = (b.id as string).toLowerCase();
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  });
  for (const n of nics) {
    const nic: NetworkInterfaceIps = { id: n.id as string, privateIps: [], publicIps: [] };
    const ips = Array.isArray(n.ips) ? [...n.ips].sort((a, b) => (a.index ?? 0) - (b.index ?? 0)) : [];
    for (const ip of ips) {
      pushUnique(nic.privateIps, ip.private);
      pushUnique(nic.publicIps, ip.public);
      pushUnique(record.privateIps, ip.private);
      pushUnique(record.publicIps, ip.public);
    }
    record.networkInterfaces.push(nic);
  }
  const named = typeof row.nicCount === "number" ? row.nicCount : 0;
  if (named > nics.length) {
    const missing = named - nics.length;
    onWarning?.({
      kind: "missing-nic",
      vmId: row.id,
      message: `VM ${row.name} (${row.id}) names ${named} NICs but Resource Graph holds ${nics.length}; the IPs of the ${missing} missing NIC${missing === 1 ? "" : "s"} are not listed`,
    });
  }
  return record;
}
