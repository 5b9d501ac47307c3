import type { ArgResource, AzureDataset } from "./dataset.js";

/** What an inventory of the dataset must say about one VM (SPEC section 4, azure-vm-ips item). */
export interface ExpectedVm {
  subscriptionId: string;
  subscriptionName: string | null;
  resourceGroup: string;
  location: string;
  vmId: string;
  vmName: string;
  vmSize: string | null;
  powerState: string | null;
  deploymentModel: "arm" | "classic";
  scaleSet: string | null;
  instanceId: string | null;
  privateIps: string[];
  publicIps: string[];
  networkInterfaces: Array<{ id: string; privateIps: string[]; publicIps: string[] }>;
  /** NIC IDs the VM names that the dataset does not hold (the inventory warns; they are not listed). */
  missingNics: string[];
}

type Props = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);
const obj = (v: unknown): Props =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Props) : {};
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function add(list: string[], v: unknown): void {
  const s = str(v);
  if (s !== null && !list.includes(s)) list.push(s);
}

/**
 * A classic VM's state in ARM's words, derived from the role's instance status the way the Azure
 * portal shows it ("ReadyRole" is a running VM; "StoppedDeallocated" is not billed; "StoppedVM" is
 * stopped but allocated). The job may read another field; the dataset's generator writes both.
 */
function classicState(view: Props): string | null {
  const status = str(view.status);
  if (status !== null) {
    if (/^ready/i.test(status)) return "running";
    if (/deallocated$/i.test(status)) return "deallocated";
    if (/^stopped/i.test(status)) return "stopped";
    return status.toLowerCase();
  }
  const power = str(view.powerState);
  if (power === null) return null;
  return /^started$/i.test(power) ? "running" : power.toLowerCase();
}

const VM_TYPES = new Set([
  "microsoft.compute/virtualmachines",
  "microsoft.compute/virtualmachinescalesets/virtualmachines",
]);
const NIC_TYPES = new Set([
  "microsoft.network/networkinterfaces",
  "microsoft.compute/virtualmachinescalesets/virtualmachines/networkinterfaces",
]);
const PIP_TYPES = new Set([
  "microsoft.network/publicipaddresses",
  "microsoft.compute/virtualmachinescalesets/virtualmachines/networkinterfaces/ipconfigurations/publicipaddresses",
]);

/**
 * The ground truth of the azure-vm-ips job, computed straight from the raw rows with plain maps
 * (no KQL): every ARM VM with each NIC attached to it (primary first, then by resource ID), each
 * NIC's IP configurations in order, and the address of each attached public IP, matched by
 * case-insensitive resource ID; NICs the VM names that the dataset lacks in `missingNics`;
 * classic VMs with their inline addresses. Public IPs on NAT gateways or load balancers belong to
 * no VM; a public IP without an address (dynamic, deallocated) adds nothing.
 */
export function expectedVmInventory(
  azure: AzureDataset,
  options: {
    includeClassic?: boolean;
    /** Scale-set instances, Uniform and Flexible (default true). */
    scaleSets?: boolean;
    subscriptions?: readonly string[];
    managementGroup?: string;
  } = {},
): Map<string, ExpectedVm> {
  const includeClassic = options.includeClassic ?? true;
  const scaleSets = options.scaleSets ?? true;
  let scope: Set<string> | undefined;
  if (options.subscriptions) scope = new Set(options.subscriptions.map((s) => s.toLowerCase()));
  if (options.managementGroup) {
    const mg = options.managementGroup.toLowerCase();
    scope = new Set(
      azure.subscriptions
        .filter((s) => (s.managementGroups ?? []).some((m) => m.toLowerCase() === mg))
        .map((s) => s.subscriptionId.toLowerCase()),
    );
  }
  const names = new Map(azure.subscriptions.map((s) => [s.subscriptionId.toLowerCase(), s.displayName]));
  const byId = new Map<string, ArgResource>();
  const nicsOfVm = new Map<string, ArgResource[]>();
  // Uniform instances, their NICs and public IPs live in ComputeResources; IDs never collide.
  const rows = [...azure.resources, ...(scaleSets ? (azure.computeResources ?? []) : [])];
  for (const r of rows) {
    byId.set(r.id.toLowerCase(), r);
    if (NIC_TYPES.has(r.type)) {
      const vm = str(obj(r.properties.virtualMachine).id);
      if (vm) {
        const key = vm.toLowerCase();
        nicsOfVm.set(key, [...(nicsOfVm.get(key) ?? []), r]);
      }
    }
  }
  const out = new Map<string, ExpectedVm>();
  for (const r of rows) {
    if (scope && !scope.has(r.subscriptionId.toLowerCase())) continue;
    const classic = r.type === "microsoft.classiccompute/virtualmachines";
    if (!VM_TYPES.has(r.type) && !(classic && includeClassic)) continue;
    const flexibleSet = str(obj(r.properties.virtualMachineScaleSet).id);
    if (!scaleSets && flexibleSet !== null) continue;
    // A Uniform instance's ID is its scale set's ID + /virtualMachines/<instance ID>.
    const parts = r.id.split("/");
    const uniform = r.type === "microsoft.compute/virtualmachinescalesets/virtualmachines";
    const vm: ExpectedVm = {
      subscriptionId: r.subscriptionId,
      subscriptionName: names.get(r.subscriptionId.toLowerCase()) ?? null,
      resourceGroup: r.resourceGroup,
      location: r.location,
      vmId: r.id,
      vmName: r.name,
      vmSize: null,
      powerState: null,
      deploymentModel: classic ? "classic" : "arm",
      scaleSet: uniform ? parts.slice(0, -2).join("/") : flexibleSet,
      instanceId: uniform ? (parts.at(-1) as string) : null,
      privateIps: [],
      publicIps: [],
      networkInterfaces: [],
      missingNics: [],
    };
    const p = r.properties;
    if (classic) {
      const view = obj(p.instanceView);
      vm.vmSize = str(obj(p.hardwareProfile).size);
      vm.powerState = classicState(view);
      add(vm.privateIps, view.privateIpAddress);
      for (const ip of arr(view.publicIpAddresses)) add(vm.publicIps, ip);
    } else {
      vm.vmSize = str(obj(p.hardwareProfile).vmSize) ?? str(obj(r.sku).name);
      // From the status ARM shows people ("VM running", "VM deallocated"), not from the code the job
      // reads, so that a job that misreads the code is caught; the code only where there is no text.
      const power = obj(obj(obj(p.extended).instanceView).powerState);
      const shown = str(power.displayStatus);
      const code = str(power.code);
      vm.powerState =
        shown !== null
          ? shown.replace(/^VM /, "").toLowerCase()
          : code === null
            ? null
            : (code.split("/")[1] ?? code).toLowerCase();
      const refs = arr(obj(p.networkProfile).networkInterfaces)
        .map((n) => str(obj(n).id))
        .filter((id): id is string => id !== null);
      // The NICs that say they belong to this VM: primary first, then by resource ID.
      const attached = [...(nicsOfVm.get(r.id.toLowerCase()) ?? [])].sort((a, b) => {
        const pa = a.properties.primary === true;
        if (pa !== (b.properties.primary === true)) return pa ? -1 : 1;
        const ia = a.id.toLowerCase();
        const ib = b.id.toLowerCase();
        return ia < ib ? -1 : ia > ib ? 1 : 0;
      });
      for (const nic of attached) {
        const entry = { id: nic.id, privateIps: [] as string[], publicIps: [] as string[] };
        for (const c of arr(nic.properties.ipConfigurations).slice(0, 400).map(obj)) {
          const cp = obj(c.properties);
          add(entry.privateIps, cp.privateIPAddress);
          const pipId = str(obj(cp.publicIPAddress).id);
          const pip = pipId ? byId.get(pipId.toLowerCase()) : undefined;
          if (pip && PIP_TYPES.has(pip.type)) add(entry.publicIps, pip.properties.ipAddress);
        }
        vm.networkInterfaces.push(entry);
      }
      const found = new Set(attached.map((n) => n.id.toLowerCase()));
      vm.missingNics = refs.filter((id) => !found.has(id.toLowerCase()));
      for (const nic of vm.networkInterfaces) {
        for (const ip of nic.privateIps) add(vm.privateIps, ip);
        for (const ip of nic.publicIps) add(vm.publicIps, ip);
      }
    }
    out.set(r.id.toLowerCase(), vm);
  }
  return out;
}
