/** Resource types the inventory reads (ARG stores `type` lower-cased). */
export const ARM_VM_TYPE = "microsoft.compute/virtualmachines";
export const CLASSIC_VM_TYPE = "microsoft.classiccompute/virtualmachines";

/**
 * The one Resource Graph query behind the inventory: one row per VM (ARM and classic), so a
 * tenant needs as few pages (quota units) as it has thousands of VMs, and rows stay small.
 *
 * - Every NIC and every IP configuration (no `primary` filter), with the public IP's address
 *   joined by lower-cased resource ID (casing differs between VM, NIC and public IP records).
 * - NICs are matched to VMs through the NIC's `virtualMachine.id`; the VM's NIC count comes along
 *   so that a NIC whose record is missing is noticed.
 * - The grouping (IP configurations per NIC, NICs per VM) is done by two `summarize` inside the
 *   join, never at the top: a top-level summarize gets only a first page, and the top level keeps
 *   `id` so that ARG pages the result. Each NIC ID appears once per row.
 * - `order by id` makes `$skip` pages stable, so pages can be fetched in parallel.
 * - Limits (ARG query language): 3 joins (2 Resources<->Resources, 1 Resources<->ResourceContainers),
 *   1 mv-expand with `limit 400` (a NIC holds up to 256 IP configurations; the default cap is 128).
 */
export function buildVmIpQuery(options: { includeClassic: boolean }): string {
  const types = options.includeClassic ? `'${ARM_VM_TYPE}', '${CLASSIC_VM_TYPE}'` : `'${ARM_VM_TYPE}'`;
  return `Resources
| where type in~ (${types})
| extend vmKey = tolower(id)
| join kind=leftouter (
    Resources
    | where type =~ 'microsoft.network/networkinterfaces'
    | extend vmKey = tolower(tostring(properties.virtualMachine.id))
    | where isnotempty(vmKey)
    | mv-expand with_itemindex=ipIndex ipconfig = properties.ipConfigurations limit 400
    | extend publicIpKey = tolower(tostring(ipconfig.properties.publicIPAddress.id))
    | join kind=leftouter (
        Resources
        | where type =~ 'microsoft.network/publicipaddresses'
        | project publicIpKey = tolower(id), publicIp = tostring(properties.ipAddress)
      ) on publicIpKey
    | summarize ips = make_list(bag_pack('index', ipIndex, 'private', tostring(ipconfig.properties.privateIPAddress), 'public', publicIp)) by vmKey, nicId = id, primary = tostring(properties.primary)
    | summarize nicList = make_list(bag_pack('id', nicId, 'primary', primary, 'ips', ips)) by vmKey
  ) on vmKey
| join kind=leftouter (
    ResourceContainers
    | where type =~ 'microsoft.resources/subscriptions'
    | project subscriptionId, subscriptionName = name
  ) on subscriptionId
| project id, name, type, location, resourceGroup, subscriptionId, subscriptionName,
    vmSize = coalesce(tostring(properties.hardwareProfile.vmSize), tostring(properties.hardwareProfile.size)),
    powerState = coalesce(tostring(properties.extended.instanceView.powerState.code), tostring(properties.instanceView.powerState)),
    nicCount = array_length(properties.networkProfile.networkInterfaces),
    nics = nicList,
    classic = iff(type =~ '${CLASSIC_VM_TYPE}', bag_pack('private', tostring(properties.instanceView.privateIpAddress), 'public', properties.instanceView.publicIpAddresses), dynamic(null))
| order by id asc`;
}
