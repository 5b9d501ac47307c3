/**
 * `@cloudadmin/azure-vm-ips`: every Azure VM (ARM and classic) in a tenant, management group or
 * subscription list, with all its private and public IPs, from Azure Resource Graph.
 *
 * @example
 * ```ts
 * import { listVmIps } from "@cloudadmin/azure-vm-ips";
 * for await (const vm of listVmIps({ credential, scope: { subscriptions: ["<id>"] } })) {
 *   console.log(vm.vmName, vm.privateIps, vm.publicIps);
 * }
 * ```
 */
export { listVmIps, MAX_PAGE } from "./list-vm-ips.js";
export { checkVmIpScope } from "./plan.js";
export { checkResourceGraphAccess } from "./check.js";
export { probeResourceGraph, PROBE_ASSUMPTIONS } from "./probe.js";
export type { ProbeResourceGraphOptions, ProbeResult } from "./probe.js";
export type { CheckResourceGraphAccessOptions, ResourceGraphAccess } from "./check.js";
export { buildVmIpQuery } from "./query.js";
export type { QueryShape, QueryTable, VmIpQueryOptions } from "./query.js";
export type {
  ListVmIpsOptions,
  NetworkInterfaceIps,
  VmIpProgress,
  VmIpRecord,
  VmIpScope,
  VmIpWarning,
} from "./types.js";
