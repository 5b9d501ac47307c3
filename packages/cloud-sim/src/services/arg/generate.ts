import type { Rng } from "../../rng.js";
import type { Scale } from "../../scale.js";
import type { ArgResource, AzureDataset, AzureSubscription } from "./dataset.js";

/** Sizes and shares of a generated `azure` section. */
export interface AzureGenerateOptions {
  subscriptions: number;
  armVms: number;
  classicVms: number;
  /** Management groups the subscriptions are spread over (default: one per 50 subscriptions, at least 1). */
  managementGroups?: number;
  /** NICs per ARM VM, inclusive range (default [1, 3]). */
  nicsPerVm?: [number, number];
  /** IP configurations per NIC, inclusive range (default [1, 2]). */
  ipConfigsPerNic?: [number, number];
  /** Share of ARM VMs with a public IP (default 0.3). */
  publicIpShare?: number;
  /** ARM VMs that are Flexible scale-set instances (ordinary VM rows naming their scale set; default 0). */
  flexibleVms?: number;
  /** Uniform scale sets, and their instances in `ComputeResources` (default 0 and 0). */
  uniformScaleSets?: number;
  uniformInstances?: number;
  /** Add the hand-made edge cases (a VM with no NIC, a missing NIC record, NAT/LB public IPs...). */
  edgeCases?: boolean;
}

const LOCATIONS = ["westeurope", "northeurope", "eastus", "eastus2", "westus2", "uksouth", "southeastasia"];
const SIZES = ["Standard_B2s", "Standard_D2s_v5", "Standard_D4s_v5", "Standard_E4s_v5", "Standard_F8s_v2"];
const CLASSIC_SIZES = ["Small", "Medium", "Large", "ExtraSmall", "Standard_D2"];
/** Shared: rows are never mutated after generation, and 300,000 empty objects cost real time. */
const EMPTY_TAGS: Record<string, string> = Object.freeze({}) as Record<string, string>;
const POWER = [
  { code: "PowerState/running", displayStatus: "VM running", weight: 0.85 },
  { code: "PowerState/deallocated", displayStatus: "VM deallocated", weight: 0.1 },
  { code: "PowerState/stopped", displayStatus: "VM stopped", weight: 0.05 },
];

export const AZURE_SCALES: Record<Scale, AzureGenerateOptions> = {
  small: {
    subscriptions: 12,
    armVms: 60,
    classicVms: 4,
    managementGroups: 3,
    edgeCases: true,
    flexibleVms: 4,
    uniformScaleSets: 3,
    uniformInstances: 14,
  },
  large: {
    subscriptions: 500,
    armVms: 100_000,
    classicVms: 500,
    managementGroups: 10,
    edgeCases: false,
    uniformScaleSets: 200,
    uniformInstances: 20_000,
  },
};

/** Randomly upper-cases some characters: the casing drift ARG shows between records of one resource. */
function recase(rng: Rng, id: string): string {
  if (!rng.chance(0.5)) return id;
  return id.replace(
    /resourceGroups\/([^/]+)/,
    (_m, g: string) => `resourceGroups/${rng.chance(0.5) ? g.toUpperCase() : g.toLowerCase()}`,
  );
}

class Ips {
  private priv = 0;
  private pub = 0;
  private v6 = 0;
  privateV4(): string {
    const n = this.priv++ + 4;
    return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  }
  privateV6(): string {
    return `fd00:db8::${(this.v6++).toString(16)}`;
  }
  publicV4(): string {
    const n = this.pub++;
    return `20.${64 + ((n >> 16) & 63)}.${(n >> 8) & 255}.${n & 255}`;
  }
}

interface Ctx {
  rng: Rng;
  tenantId: string;
  ips: Ips;
  resources: ArgResource[];
  /** Rows of the `ComputeResources` table. */
  compute: ArgResource[];
}

function base(
  ctx: Ctx,
  sub: string,
  group: string,
  provider: string,
  kind: string,
  name: string,
  location: string,
) {
  const type = `${provider}/${kind}`.toLowerCase();
  return {
    id: `/subscriptions/${sub}/resourceGroups/${group}/providers/${provider}/${kind}/${name}`,
    name,
    type,
    tenantId: ctx.tenantId,
    kind: "",
    location,
    resourceGroup: group.toLowerCase(),
    subscriptionId: sub,
    managedBy: "",
    sku: null,
    plan: null,
    tags: EMPTY_TAGS,
    identity: null,
    zones: null,
    extendedLocation: null,
  };
}

function publicIp(
  ctx: Ctx,
  sub: string,
  group: string,
  name: string,
  location: string,
  attachedTo: string | null,
  opts: { address: boolean; natGateway?: string },
): ArgResource {
  const dynamic = !opts.address;
  const properties: Record<string, unknown> = {
    provisioningState: "Succeeded",
    resourceGuid: ctx.rng.uuid(),
    publicIPAddressVersion: "IPv4",
    publicIPAllocationMethod: dynamic ? "Dynamic" : "Static",
    idleTimeoutInMinutes: 4,
    ipTags: [],
  };
  if (opts.address) properties.ipAddress = ctx.ips.publicV4();
  if (attachedTo) properties.ipConfiguration = { id: attachedTo };
  if (opts.natGateway) properties.natGateway = { id: opts.natGateway };
  return {
    ...base(ctx, sub, group, "Microsoft.Network", "publicIPAddresses", name, location),
    sku: { name: dynamic ? "Basic" : "Standard", tier: "Regional" },
    properties,
  };
}

interface VmPlan {
  nics: number;
  ipConfigs: number[];
  publicIp: boolean;
  power: (typeof POWER)[number];
  missingNic?: boolean;
  /** A Flexible scale set's ID: the VM is one of its instances. */
  scaleSet?: string;
}

function armVm(ctx: Ctx, sub: string, group: string, name: string, location: string, plan: VmPlan): void {
  const { rng } = ctx;
  const vmBase = base(ctx, sub, group, "Microsoft.Compute", "virtualMachines", name, location);
  const nicRefs: Array<{ id: string; properties?: { primary: boolean } }> = [];
  const deallocated = plan.power.code !== "PowerState/running";
  for (let n = 0; n < plan.nics; n++) {
    const nicName = `${name}-nic${n}`;
    const nicBase = base(ctx, sub, group, "Microsoft.Network", "networkInterfaces", nicName, location);
    nicRefs.push(
      plan.nics > 1
        ? { id: recase(rng, nicBase.id), properties: { primary: n === 0 } }
        : { id: recase(rng, nicBase.id) },
    );
    if (plan.missingNic && n === plan.nics - 1) continue;
    const vnet = `/subscriptions/${sub}/resourceGroups/${group}/providers/Microsoft.Network/virtualNetworks/vnet-${group.toLowerCase()}/subnets/default`;
    const ipConfigurations: unknown[] = [];
    const count = plan.ipConfigs[n] ?? 1;
    for (let c = 0; c < count; c++) {
      const ipcId = `${nicBase.id}/ipConfigurations/ipconfig${c + 1}`;
      const v6 = c > 0 && rng.chance(0.05);
      const props: Record<string, unknown> = {
        provisioningState: "Succeeded",
        privateIPAddress: v6 ? ctx.ips.privateV6() : ctx.ips.privateV4(),
        privateIPAllocationMethod: "Dynamic",
        privateIPAddressVersion: v6 ? "IPv6" : "IPv4",
        subnet: { id: vnet },
        primary: c === 0,
      };
      if (plan.publicIp && n === 0 && c === 0) {
        const pip = publicIp(ctx, sub, group, `${name}-pip`, location, ipcId, {
          address: !(deallocated && rng.chance(0.5)),
        });
        ctx.resources.push(pip);
        props.publicIPAddress = { id: recase(rng, pip.id) };
      }
      ipConfigurations.push({
        name: `ipconfig${c + 1}`,
        id: ipcId,
        type: "Microsoft.Network/networkInterfaces/ipConfigurations",
        properties: props,
      });
    }
    ctx.resources.push({
      ...nicBase,
      properties: {
        provisioningState: "Succeeded",
        resourceGuid: rng.uuid(),
        ipConfigurations,
        dnsSettings: { dnsServers: [], appliedDnsServers: [] },
        macAddress: rng
          .hex(12)
          .toUpperCase()
          .replace(/(..)(?!$)/g, "$1-"),
        enableAcceleratedNetworking: false,
        enableIPForwarding: false,
        primary: n === 0,
        virtualMachine: { id: recase(rng, vmBase.id) },
        nicType: "Standard",
      },
    });
  }
  ctx.resources.push({
    ...vmBase,
    properties: {
      vmId: rng.uuid(),
      hardwareProfile: { vmSize: rng.pick(SIZES) },
      storageProfile: { osDisk: { osType: "Linux", name: `${name}_OsDisk_1`, createOption: "FromImage" } },
      osProfile: { computerName: name, adminUsername: "azureuser" },
      networkProfile: { networkInterfaces: nicRefs },
      ...(plan.scaleSet ? { virtualMachineScaleSet: { id: plan.scaleSet } } : {}),
      provisioningState: "Succeeded",
      extended: {
        instanceView: {
          computerName: name,
          osName: "ubuntu",
          powerState: { code: plan.power.code, level: "Info", displayStatus: plan.power.displayStatus },
        },
      },
    },
  });
}

function classicVm(
  ctx: Ctx,
  sub: string,
  group: string,
  name: string,
  location: string,
  withPublic: boolean,
): void {
  const { rng } = ctx;
  const running = rng.chance(0.8);
  const instanceView: Record<string, unknown> = {
    status: running ? "ReadyRole" : "StoppedDeallocated",
    powerState: running ? "Started" : "Stopped",
    computerName: name,
    fullyQualifiedDomainName: `${name}.cloudapp.net`,
  };
  if (running) instanceView.privateIpAddress = ctx.ips.privateV4();
  if (running && withPublic) instanceView.publicIpAddresses = [ctx.ips.publicV4()];
  ctx.resources.push({
    ...base(ctx, sub, group, "Microsoft.ClassicCompute", "virtualMachines", name, location),
    properties: {
      provisioningState: "Succeeded",
      instanceView,
      hardwareProfile: {
        size: rng.pick(CLASSIC_SIZES),
        platformGuestAgent: true,
        deploymentName: name,
        deploymentId: rng.hex(32),
        deploymentLabel: name,
      },
      networkProfile: {
        virtualNetwork: { name: `classic-vnet-${group.toLowerCase()}`, subnetNames: ["default"] },
        inputEndpoints: [],
      },
      domainName: {
        id: `/subscriptions/${sub}/resourceGroups/${group}/providers/Microsoft.ClassicCompute/domainNames/${name}`,
        name,
        type: "Microsoft.ClassicCompute/domainNames",
      },
    },
  });
}

/**
 * A Uniform scale set's instances as ARG's `ComputeResources` holds them: the instance
 * (`.../virtualMachineScaleSets/<set>/virtualMachines/<n>`), one NIC under it with one or two IP
 * configurations, and, when the set's model gives each instance a public IP, that address under the
 * NIC's IP configuration. The scale set itself is a `Resources` row.
 */
function uniformScaleSet(
  ctx: Ctx,
  sub: string,
  group: string,
  name: string,
  location: string,
  instances: number,
  withPublic: boolean,
): void {
  const { rng } = ctx;
  const set = base(ctx, sub, group, "Microsoft.Compute", "virtualMachineScaleSets", name, location);
  const size = rng.pick(SIZES);
  ctx.resources.push({
    ...set,
    sku: { name: size, tier: "Standard", capacity: instances },
    properties: { orchestrationMode: "Uniform", provisioningState: "Succeeded", uniqueId: rng.uuid() },
  });
  const compute = (id: string, type: string, rowName: string): ArgResource => ({
    ...set,
    id,
    name: rowName,
    type: `microsoft.compute/virtualmachinescalesets/${type}`,
    properties: {},
  });
  for (let n = 0; n < instances; n++) {
    const vmId = `${set.id}/virtualMachines/${n}`;
    const nicId = `${vmId}/networkInterfaces/${name}-nic`;
    const ipConfigurations: unknown[] = [];
    const configs = rng.int(1, 2);
    for (let c = 0; c < configs; c++) {
      const ipcId = `${nicId}/ipConfigurations/ipconfig${c + 1}`;
      const props: Record<string, unknown> = {
        privateIPAddress: ctx.ips.privateV4(),
        privateIPAddressVersion: "IPv4",
        primary: c === 0,
      };
      if (withPublic && c === 0) {
        const pipId = `${ipcId}/publicIPAddresses/${name}-pip`;
        ctx.compute.push({
          ...compute(
            pipId,
            "virtualmachines/networkinterfaces/ipconfigurations/publicipaddresses",
            `${name}-pip`,
          ),
          properties: {
            ipAddress: ctx.ips.publicV4(),
            publicIPAddressVersion: "IPv4",
            ipConfiguration: { id: ipcId },
          },
        });
        props.publicIPAddress = { id: recase(rng, pipId) };
      }
      ipConfigurations.push({ name: `ipconfig${c + 1}`, id: ipcId, properties: props });
    }
    ctx.compute.push({
      ...compute(nicId, "virtualmachines/networkinterfaces", `${name}-nic`),
      properties: { primary: true, ipConfigurations, virtualMachine: { id: recase(rng, vmId) } },
    });
    const power = pickPower(rng);
    ctx.compute.push({
      ...compute(vmId, "virtualmachines", `${name}_${n}`),
      sku: { name: size, tier: "Standard" },
      properties: {
        latestModelApplied: true,
        networkProfile: { networkInterfaces: [{ id: nicId }] },
        provisioningState: "Succeeded",
        extended: {
          instanceView: {
            powerState: { code: power.code, level: "Info", displayStatus: power.displayStatus },
          },
        },
      },
    });
  }
}

function pickPower(rng: Rng): (typeof POWER)[number] {
  const r = rng.next();
  let acc = 0;
  for (const p of POWER) {
    acc += p.weight;
    if (r < acc) return p;
  }
  return POWER[0] as (typeof POWER)[number];
}

/**
 * A seeded `azure` section: subscriptions under management groups and the raw `Resources` rows
 * (VMs, NICs, public IPs, classic VMs) ARG would hold for them. Rows reference each other with the
 * casing drift real tenants show, so a client that joins case-sensitively loses IPs.
 */
export function generateAzureDataset(rng: Rng, options: AzureGenerateOptions): AzureDataset {
  const ctx: Ctx = { rng, tenantId: rng.uuid(), ips: new Ips(), resources: [], compute: [] };
  const mgCount = options.managementGroups ?? Math.max(1, Math.ceil(options.subscriptions / 50));
  const subscriptions: AzureSubscription[] = [];
  for (let i = 0; i < options.subscriptions; i++) {
    const mg = `mg-${(i % mgCount) + 1}`;
    subscriptions.push({
      subscriptionId: rng.uuid(),
      displayName: `sub-${String(i + 1).padStart(4, "0")}-${rng.pick(["prod", "dev", "test", "shared"])}`,
      managementGroups: [mg, "mg-root"],
      state: "Enabled",
    });
  }
  const [nicMin, nicMax] = options.nicsPerVm ?? [1, 3];
  const [ipcMin, ipcMax] = options.ipConfigsPerNic ?? [1, 2];
  const share = options.publicIpShare ?? 0.3;
  // A few heavy subscriptions and many light ones, as real tenants are.
  const weights = subscriptions.map(() => rng.next() ** 2 + 0.05);
  const total = weights.reduce((a, b) => a + b, 0);
  const cumulative: number[] = [];
  let acc = 0;
  for (const w of weights) {
    acc += w / total;
    cumulative.push(acc);
  }
  const pickSub = (): AzureSubscription => {
    const r = rng.next();
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] as number) < r) lo = mid + 1;
      else hi = mid;
    }
    return subscriptions[lo] as AzureSubscription;
  };
  const groupOf = (sub: AzureSubscription, i: number) =>
    `RG-${sub.displayName.slice(4, 8)}-${["Web", "App", "Data"][i % 3]}`;
  for (let i = 0; i < options.armVms; i++) {
    const sub = pickSub();
    const nics = rng.int(nicMin, nicMax);
    armVm(ctx, sub.subscriptionId, groupOf(sub, i), `vm-${String(i).padStart(6, "0")}`, rng.pick(LOCATIONS), {
      nics,
      ipConfigs: Array.from({ length: nics }, () => rng.int(ipcMin, ipcMax)),
      publicIp: rng.chance(share),
      power: pickPower(rng),
    });
  }
  for (let i = 0; i < options.classicVms; i++) {
    const sub = pickSub();
    classicVm(
      ctx,
      sub.subscriptionId,
      `Classic-${sub.displayName.slice(4, 8)}`,
      `cvm-${String(i).padStart(5, "0")}`,
      rng.pick(LOCATIONS),
      rng.chance(0.5),
    );
  }
  if (options.edgeCases && subscriptions.length > 0) addEdgeCases(ctx, subscriptions[0] as AzureSubscription);
  // Scale sets come last, so that a dataset without them is the same as before they existed.
  for (let i = 0; i < (options.flexibleVms ?? 0); i++) {
    const sub = pickSub();
    const group = `RG-${sub.displayName.slice(4, 8)}-Flex`;
    const set = `/subscriptions/${sub.subscriptionId}/resourceGroups/${group}/providers/Microsoft.Compute/virtualMachineScaleSets/flex-${i % 2}`;
    armVm(ctx, sub.subscriptionId, group, `flex-${String(i).padStart(5, "0")}`, rng.pick(LOCATIONS), {
      nics: 1,
      ipConfigs: [1],
      publicIp: rng.chance(share),
      power: pickPower(rng),
      scaleSet: set,
    });
  }
  const sets = options.uniformScaleSets ?? 0;
  const instances = options.uniformInstances ?? 0;
  for (let i = 0; i < sets; i++) {
    const sub = pickSub();
    const count = Math.floor(((i + 1) * instances) / sets) - Math.floor((i * instances) / sets);
    uniformScaleSet(
      ctx,
      sub.subscriptionId,
      `RG-${sub.displayName.slice(4, 8)}-Aks`,
      `vmss-${String(i).padStart(4, "0")}`,
      rng.pick(LOCATIONS),
      count,
      // The first set always gives its instances public IPs, so that every dataset has some.
      i === 0 || rng.chance(share),
    );
  }
  return {
    tenantId: ctx.tenantId,
    subscriptions,
    resources: ctx.resources,
    ...(ctx.compute.length > 0 ? { computeResources: ctx.compute } : {}),
  };
}

/** The hand-made cases every client gets wrong once. */
function addEdgeCases(ctx: Ctx, sub: AzureSubscription): void {
  const s = sub.subscriptionId;
  const g = "RG-Edge";
  const running = POWER[0] as (typeof POWER)[number];
  const deallocated = POWER[1] as (typeof POWER)[number];
  armVm(ctx, s, g, "edge-no-nic", "westeurope", { nics: 0, ipConfigs: [], publicIp: false, power: running });
  armVm(ctx, s, g, "edge-three-nics", "westeurope", {
    nics: 3,
    ipConfigs: [3, 1, 2],
    publicIp: true,
    power: running,
  });
  armVm(ctx, s, g, "edge-missing-nic", "westeurope", {
    nics: 2,
    ipConfigs: [1, 1],
    publicIp: true,
    power: running,
    missingNic: true,
  });
  // Deallocated with a dynamic public IP: ARG keeps the PIP record, without ipAddress.
  armVm(ctx, s, g, "edge-deallocated", "westeurope", {
    nics: 1,
    ipConfigs: [1],
    publicIp: false,
    power: deallocated,
  });
  const vmNic = ctx.resources.find((r) => r.name === "edge-deallocated-nic0");
  if (vmNic) {
    const ipc = (
      vmNic.properties.ipConfigurations as Array<{ id: string; properties: Record<string, unknown> }>
    )[0];
    if (ipc) {
      const pip = publicIp(ctx, s, g, "edge-deallocated-pip", "westeurope", ipc.id, { address: false });
      ctx.resources.push(pip);
      ipc.properties.publicIPAddress = {
        id: pip.id.toUpperCase().replace("/SUBSCRIPTIONS/", "/subscriptions/"),
      };
    }
  }
  // Public IPs that belong to no VM: a NAT gateway's and a load balancer frontend's.
  const nat = `/subscriptions/${s}/resourceGroups/${g}/providers/Microsoft.Network/natGateways/edge-nat`;
  ctx.resources.push(
    publicIp(ctx, s, g, "edge-nat-pip", "westeurope", null, { address: true, natGateway: nat }),
  );
  const lbFrontend = `/subscriptions/${s}/resourceGroups/${g}/providers/Microsoft.Network/loadBalancers/edge-lb/frontendIPConfigurations/fe`;
  ctx.resources.push(publicIp(ctx, s, g, "edge-lb-pip", "westeurope", lbFrontend, { address: true }));
  // A NIC attached to nothing.
  const orphan = base(ctx, s, g, "Microsoft.Network", "networkInterfaces", "edge-orphan-nic", "westeurope");
  ctx.resources.push({
    ...orphan,
    properties: {
      provisioningState: "Succeeded",
      ipConfigurations: [
        {
          name: "ipconfig1",
          id: `${orphan.id}/ipConfigurations/ipconfig1`,
          type: "Microsoft.Network/networkInterfaces/ipConfigurations",
          properties: {
            privateIPAddress: ctx.ips.privateV4(),
            privateIPAddressVersion: "IPv4",
            primary: true,
          },
        },
      ],
      primary: true,
    },
  });
}

/** The `azure` section at a named scale (the dataset generator's entry point). */
export function generateAzureAtScale(rng: Rng, scale: Scale): AzureDataset {
  return generateAzureDataset(rng, AZURE_SCALES[scale]);
}
