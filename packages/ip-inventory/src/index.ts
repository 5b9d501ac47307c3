/**
 * `@cloudadmin/ip-inventory`: who holds this IP, across the Azure and AWS inventories.
 *
 * - {@link readInventory} turns saved `azure-vm-ips` / `ec2-ips` outputs (json, ndjson, csv; files or
 *   blob URLs; shard sets) into one {@link IpRecord} per IP and holder, as a stream.
 * - {@link findIps} finds the holders of addresses, CIDRs or name globs and flags anomalies.
 * - {@link diffInventories} says what was added, removed, moved or changed between two inventories.
 * - {@link mergeInventories} combines the shard documents of a sharded run; {@link shardOf} is the
 *   split the jobs use.
 * - {@link fromAzureItem} / {@link fromEc2Item} turn live job records into IP records.
 *
 * @example
 * ```ts
 * import { findIps, readInventory } from "@cloudadmin/ip-inventory";
 * for await (const hit of findIps(() => readInventory(["vms.json", "instances.json"]), ["10.20.3.7"]))
 *   console.log(hit.cloud, hit.resourceName, hit.anomaly);
 * ```
 * @packageDocumentation
 */
export { shardOf, parseShard, type Shard } from "@cloudadmin/paging";
export {
  type IpRecord,
  type AzureVmItem,
  type Ec2Item,
  fromAzureItem,
  fromEc2Item,
  canonicalIp,
  ipVersion,
} from "./record.js";
export {
  type InventoryDocumentInfo,
  type InventoryFormat,
  type ReadInventoryOptions,
  readInventory,
} from "./read.js";
export type { InventorySource, SourceOptions } from "./source.js";
export { type IpQuery, parseQuery, matchesQuery } from "./query.js";
export {
  type FindIpsOptions,
  type IpAnomaly,
  type IpFindRecord,
  type IpRecordInput,
  compareIpRecords,
  findIps,
} from "./find.js";
export { type DiffInventoriesOptions, type IpChange, diffInventories } from "./diff.js";
export { type MergeInventoriesOptions, type MergedInventory, mergeInventories } from "./merge.js";
export { type ListSnapshotsOptions, type Snapshot, listSnapshots, pickSnapshots } from "./snapshots.js";
