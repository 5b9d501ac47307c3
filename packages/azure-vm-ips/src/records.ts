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
  nics?: Array<{ id?: string; properties?: { primary?: boolean | string } }> | null;
  ipConfigs?: Array<{
    nicId?: string;
    ipIndex?: number;
    privateIp?: string;
    publicIp?: string | null;
  }> | null;
  classicSize?: string | null;
  classicPowerState?: string | null;
  classicPrivateIp?: string | null;
  classicPublicIps?: unknown;
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

function powerOf(row: VmRow, classic: boolean): string | null {
  if (classic) {
    const p = text(row.classicPowerState);
    return p === null ? null : (CLASSIC_POWER[p.toLowerCase()] ?? p.toLowerCase());
  }
  const code = text(row.powerState);
  if (code === null) return null;
  return code.replace(/^PowerState\//i, "").toLowerCase();
}

/** Turns a query row into the record the user sees, reporting NICs the VM names but ARG does not hold. */
export function toRecord(row: VmRow, onWarning?: (w: VmIpWarning) => void): VmIpRecord {
  const classic = row.type.toLowerCase() === CLASSIC_VM_TYPE;
  const base = {
    subscriptionId: row.subscriptionId,
    subscriptionName: text(row.subscriptionName),
    resourceGroup: row.resourceGroup,
    location: row.location,
    vmId: row.id,
    vmName: row.name,
  };
  if (classic) {
    const privateIps: string[] = [];
    pushUnique(privateIps, row.classicPrivateIp);
    const publicIps: string[] = [];
    if (Array.isArray(row.classicPublicIps)) for (const ip of row.classicPublicIps) pushUnique(publicIps, ip);
    return {
      ...base,
      vmSize: text(row.classicSize),
      powerState: powerOf(row, true),
      deploymentModel: "classic",
      privateIps,
      publicIps,
      networkInterfaces: [],
    };
  }
  if (row.type.toLowerCase() !== ARM_VM_TYPE) throw new TypeError(`unexpected resource type ${row.type}`);
  // NICs in the VM's own order, the primary one first.
  const refs = (Array.isArray(row.nics) ? row.nics : []).filter((n) => typeof n?.id === "string");
  const primary = refs.findIndex((n) => n.properties?.primary === true || n.properties?.primary === "true");
  const ordered = primary > 0 ? [refs[primary], ...refs.filter((_, i) => i !== primary)] : refs;
  const byNic = new Map<string, { id: string; configs: NonNullable<VmRow["ipConfigs"]> }>();
  for (const c of Array.isArray(row.ipConfigs) ? row.ipConfigs : []) {
    if (typeof c?.nicId !== "string") continue;
    const key = c.nicId.toLowerCase();
    const entry = byNic.get(key) ?? { id: c.nicId, configs: [] };
    entry.configs.push(c);
    byNic.set(key, entry);
  }
  const networkInterfaces: NetworkInterfaceIps[] = [];
  const toNic = (id: string, configs: NonNullable<VmRow["ipConfigs"]>): NetworkInterfaceIps => {
    const sorted = [...configs].sort((a, b) => (a.ipIndex ?? 0) - (b.ipIndex ?? 0));
    const nic: NetworkInterfaceIps = { id, privateIps: [], publicIps: [] };
    for (const c of sorted) {
      pushUnique(nic.privateIps, c.privateIp);
      pushUnique(nic.publicIps, c.publicIp);
    }
    return nic;
  };
  for (const ref of ordered) {
    const id = ref?.id as string;
    const found = byNic.get(id.toLowerCase());
    if (found) {
      networkInterfaces.push(toNic(found.id, found.configs));
      byNic.delete(id.toLowerCase());
    } else {
      networkInterfaces.push({ id, privateIps: [], publicIps: [] });
      onWarning?.({
        kind: "missing-nic",
        vmId: row.id,
        nicId: id,
        message: `VM ${row.name} (${row.id}) names NIC ${id}, which Resource Graph does not hold; its IPs are not listed`,
      });
    }
  }
  // NICs that say they belong to this VM although the VM does not list them (ARG lagging behind).
  for (const extra of byNic.values()) networkInterfaces.push(toNic(extra.id, extra.configs));
  const privateIps: string[] = [];
  const publicIps: string[] = [];
  for (const nic of networkInterfaces) {
    for (const ip of nic.privateIps) pushUnique(privateIps, ip);
    for (const ip of nic.publicIps) pushUnique(publicIps, ip);
  }
  return {
    ...base,
    vmSize: text(row.vmSize),
    powerState: powerOf(row, false),
    deploymentModel: "arm",
    privateIps,
    publicIps,
    networkInterfaces,
  };
}
