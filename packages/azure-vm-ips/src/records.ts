import { ARM_VM_TYPE, CLASSIC_VM_TYPE, VMSS_VM_TYPE } from "./query.js";
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
  scaleSet?: string | null;
  nics?: Array<{
    id?: string;
    primary?: string | boolean;
    ips?: Array<{ index?: number; private?: string; public?: string | null }>;
  }> | null;
  classic?: { private?: string; public?: unknown } | null;
}

/** One row of the `per-ip` query shape: a VM with one of its IP configurations (or none). */
export interface PerIpRow extends Omit<VmRow, "nics" | "classic"> {
  nicId?: string | null;
  nicPrimary?: string | null;
  ipIndex?: number | null;
  privateIp?: string | null;
  publicIp?: string | null;
  classicPrivate?: string | null;
  classicPublic?: unknown;
}

/**
 * Folds `per-ip` rows into the `grouped` shape, one VmRow per VM, in the order the VMs first
 * appear. A VM's rows may arrive in several calls (pages): pass the same map each time.
 */
export function groupPerIpRows(rows: readonly PerIpRow[], into: Map<string, VmRow>): void {
  for (const r of rows) {
    const key = r.id.toLowerCase();
    let vm = into.get(key);
    if (!vm) {
      const {
        nicId: _n,
        nicPrimary: _p,
        ipIndex: _i,
        privateIp: _v,
        publicIp: _u,
        classicPrivate,
        classicPublic,
        ...base
      } = r;
      vm = {
        ...base,
        nics: [],
        classic:
          r.type.toLowerCase() === CLASSIC_VM_TYPE
            ? { private: classicPrivate ?? "", public: classicPublic }
            : null,
      };
      into.set(key, vm);
    }
    if (typeof r.nicId !== "string" || r.nicId === "") continue;
    const nics = vm.nics as NonNullable<VmRow["nics"]>;
    let nic = nics.find((n) => n.id?.toLowerCase() === r.nicId?.toLowerCase());
    if (!nic) {
      nic = { id: r.nicId, primary: r.nicPrimary ?? "", ips: [] };
      nics.push(nic);
    }
    const ips = nic.ips as NonNullable<NonNullable<VmRow["nics"]>[number]["ips"]>;
    if (!ips.some((ip) => ip.index === (r.ipIndex ?? 0)))
      ips.push({ index: r.ipIndex ?? 0, private: r.privateIp ?? "", public: r.publicIp ?? null });
  }
}

const text = (v: unknown): string | null => (typeof v === "string" && v.trim() !== "" ? v : null);

function pushUnique(list: string[], value: unknown): void {
  const v = text(value);
  if (v !== null && !list.includes(v)) list.push(v);
}

/** A classic VM's role status (or, without one, its power state) as the words ARM VMs use. */
const CLASSIC_POWER: Record<string, string> = {
  readyrole: "running",
  started: "running",
  stoppedvm: "stopped",
  stopped: "stopped",
  stoppeddeallocated: "deallocated",
};

function powerOf(value: unknown, classic: boolean): string | null {
  const p = text(value);
  if (p === null) return null;
  if (classic) return CLASSIC_POWER[p.toLowerCase()] ?? p.toLowerCase();
  return p.replace(/^PowerState\//i, "").toLowerCase();
}

const UNIFORM_ID = /^(.*\/virtualmachinescalesets\/[^/]+)\/virtualmachines\/([^/]+)$/i;

/** A Uniform instance's scale set and instance ID come from its resource ID; a Flexible VM names its scale set. */
function scaleSetOf(row: VmRow): { scaleSet: string | null; instanceId: string | null } {
  const uniform = row.type.toLowerCase() === VMSS_VM_TYPE ? UNIFORM_ID.exec(row.id) : null;
  if (uniform) return { scaleSet: uniform[1] as string, instanceId: uniform[2] as string };
  return { scaleSet: text(row.scaleSet), instanceId: null };
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
    ...scaleSetOf(row),
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
  const type = row.type.toLowerCase();
  if (type !== ARM_VM_TYPE && type !== VMSS_VM_TYPE)
    throw new TypeError(`unexpected resource type ${row.type}`);
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
