/** Resource types the inventory reads (ARG stores `type` lower-cased). */
export const ARM_VM_TYPE = "microsoft.compute/virtualmachines";
export const CLASSIC_VM_TYPE = "microsoft.classiccompute/virtualmachines";
/** A Uniform scale set's instance, its NICs and their public IPs: rows of `ComputeResources`. */
export const VMSS_VM_TYPE = "microsoft.compute/virtualmachinescalesets/virtualmachines";
export const VMSS_NIC_TYPE = `${VMSS_VM_TYPE}/networkinterfaces`;
export const VMSS_PIP_TYPE = `${VMSS_NIC_TYPE}/ipconfigurations/publicipaddresses`;
const NIC_TYPE = "microsoft.network/networkinterfaces";
const PIP_TYPE = "microsoft.network/publicipaddresses";

/**
 * The two row shapes the inventory can ask for.
 * - `grouped`: one row per VM, its NICs and IP configurations grouped by two `summarize` inside the
 *   join. Fewest rows and pages. Whether ARG pages a `summarize` nested in a `join` is not
 *   documented (a top-level one is "first page only"), so the job checks every answer.
 * - `per-ip`: one row per VM and IP configuration, no `summarize` and no function beyond
 *   `tolower`/`tostring`/`coalesce`/`iff`/`array_length`: pages like any `Resources` query, and
 *   the rows are grouped on our side. The fallback when `grouped` is not paged or is refused.
 */
export type QueryShape = "grouped" | "per-ip";

/** Which VMs one query reads: `Resources` (ARM, Flexible scale-set and classic VMs) or Uniform instances. */
export type QueryTable = "resources" | "uniform";

export interface VmIpQueryOptions {
  includeClassic: boolean;
  /** Flexible scale-set VMs (ordinary VM rows with `properties.virtualMachineScaleSet.id`); default true. */
  scaleSets?: boolean;
  /** Default `grouped`. */
  shape?: QueryShape;
  /** Default `resources`. */
  table?: QueryTable;
}

interface Source {
  table: string;
  vmFilter: string;
  nicType: string;
  pipType: string;
}

function sourceOf(options: VmIpQueryOptions): Source {
  if ((options.table ?? "resources") === "uniform") {
    return {
      table: "ComputeResources",
      vmFilter: `type =~ '${VMSS_VM_TYPE}'`,
      nicType: VMSS_NIC_TYPE,
      pipType: VMSS_PIP_TYPE,
    };
  }
  const types = options.includeClassic ? `'${ARM_VM_TYPE}', '${CLASSIC_VM_TYPE}'` : `'${ARM_VM_TYPE}'`;
  const flexible =
    options.scaleSets === false ? "\n| where isempty(tostring(properties.virtualMachineScaleSet.id))" : "";
  return {
    table: "Resources",
    vmFilter: `type in~ (${types})${flexible}`,
    nicType: NIC_TYPE,
    pipType: PIP_TYPE,
  };
}

/** The NIC rows of a source, one per IP configuration, with the public IP's address joined. */
function ipConfigurations(s: Source): string {
  return `${s.table}
    | where type =~ '${s.nicType}'
    | extend vmKey = tolower(tostring(properties.virtualMachine.id))
    | where isnotempty(vmKey)
    | mv-expand with_itemindex=ipIndex ipconfig = properties.ipConfigurations limit 400
    | extend publicIpKey = tolower(tostring(ipconfig.properties.publicIPAddress.id))
    | join kind=leftouter (
        ${s.table}
        | where type =~ '${s.pipType}'
        | project publicIpKey = tolower(id), publicIp = tostring(properties.ipAddress)
      ) on publicIpKey`;
}

const SUBSCRIPTION_NAMES = `| join kind=leftouter (
    ResourceContainers
    | where type =~ 'microsoft.resources/subscriptions'
    | project subscriptionId, subscriptionName = name
  ) on subscriptionId`;

const VM_COLUMNS = `id, name, type, location, resourceGroup, subscriptionId, subscriptionName,
    vmSize = coalesce(tostring(properties.hardwareProfile.vmSize), tostring(properties.hardwareProfile.size), tostring(sku.name)),
    powerState = coalesce(tostring(properties.extended.instanceView.powerState.code), tostring(properties.instanceView.status), tostring(properties.instanceView.powerState)),
    nicCount = array_length(properties.networkProfile.networkInterfaces),
    scaleSet = tostring(properties.virtualMachineScaleSet.id)`;

/**
 * The Resource Graph query behind the inventory, in one of two shapes (see {@link QueryShape}) and
 * over one of two tables (ARG allows one cross-table join per query, so Uniform scale-set
 * instances in `ComputeResources` are a second query).
 *
 * - Every NIC and every IP configuration (no `primary` filter), with the public IP's address
 *   joined by lower-cased resource ID (casing differs between VM, NIC and public IP records).
 * - NICs are matched to VMs through the NIC's `virtualMachine.id`; the VM's NIC count comes along
 *   so that a NIC whose record is missing is noticed.
 * - Only functions that appear in ARG's own documented sample queries (`pack`, not `bag_pack`).
 * - `order by` a key unique per row makes `$skip` pages stable, so pages can be fetched in parallel.
 * - Limits (ARG query language): 3 joins (2 within one table, 1 with ResourceContainers),
 *   1 mv-expand with `limit 400` (a NIC holds up to 256 IP configurations; the default cap is 128).
 */
export function buildVmIpQuery(options: VmIpQueryOptions): string {
  const s = sourceOf(options);
  const classic =
    s.table === "Resources" && options.includeClassic
      ? `iff(type =~ '${CLASSIC_VM_TYPE}', pack('private', tostring(properties.instanceView.privateIpAddress), 'public', properties.instanceView.publicIpAddresses), dynamic(null))`
      : "dynamic(null)";
  if ((options.shape ?? "grouped") === "per-ip") {
    return `${s.table}
| where ${s.vmFilter}
| extend vmKey = tolower(id)
| join kind=leftouter (
    ${ipConfigurations(s)}
    | project vmKey, nicId = id, nicPrimary = tostring(properties.primary), ipIndex, privateIp = tostring(ipconfig.properties.privateIPAddress), publicIp
  ) on vmKey
${SUBSCRIPTION_NAMES}
| project ${VM_COLUMNS},
    nicId, nicPrimary, ipIndex, privateIp, publicIp,
    classicPrivate = tostring(properties.instanceView.privateIpAddress),
    classicPublic = properties.instanceView.publicIpAddresses
| order by id asc, nicId asc, ipIndex asc`;
  }
  return `${s.table}
| where ${s.vmFilter}
| extend vmKey = tolower(id)
| join kind=leftouter (
    ${ipConfigurations(s)}
    | summarize ips = make_list(pack('index', ipIndex, 'private', tostring(ipconfig.properties.privateIPAddress), 'public', publicIp)) by vmKey, nicId = id, primary = tostring(properties.primary)
    | summarize nicList = make_list(pack('id', nicId, 'primary', primary, 'ips', ips)) by vmKey
  ) on vmKey
${SUBSCRIPTION_NAMES}
| project ${VM_COLUMNS},
    nics = nicList,
    classic = ${classic}
| order by id asc`;
}
