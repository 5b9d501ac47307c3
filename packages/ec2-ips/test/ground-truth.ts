import {
  type AwsDataset,
  type LoggedRequest,
  enabledRegionsOf,
  expectedInstanceIps,
} from "@cloudadmin/cloud-sim";
import type { Ec2InstanceRecord } from "../src/index.js";

/** What a correct run must list, computed straight from the dataset (independently of the library). */
export interface Expected {
  accountId: string;
  region: string;
  instanceId: string;
  state: string;
  privateIps: string[];
  publicIps: string[];
  ipv6Ips: string[];
}

export interface Reach {
  /** Accounts read (default: every ACTIVE account except denied ones, management included). */
  accounts?: string[];
  regions?: string[];
  states?: string[];
  /** Accounts whose regions come from this list (DescribeRegions denied). */
  fallbackRegions?: string[];
}

/** Instances a run over `aws` in org mode can see. */
export function expectedOrg(aws: AwsDataset, reach: Reach = {}): Expected[] {
  const out: Expected[] = [];
  for (const a of aws.accounts ?? []) {
    if (a.State !== "ACTIVE") continue;
    if (reach.accounts && !reach.accounts.includes(a.Id)) continue;
    if (!reach.accounts && a.Id !== aws.managementAccountId && aws.assumeRoleDenied?.includes(a.Id)) continue;
    let regions = [...enabledRegionsOf(aws, a.Id)];
    if (aws.describeRegionsDenied?.includes(a.Id)) regions = reach.fallbackRegions ?? [];
    if (reach.regions) regions = regions.filter((r) => reach.regions?.includes(r));
    for (const region of regions) {
      if (aws.regionsDenied?.[a.Id]?.includes(region)) continue;
      for (const i of aws.instances?.[a.Id]?.[region] ?? []) {
        if (reach.states && !reach.states.includes(i.State.Name)) continue;
        out.push({
          accountId: a.Id,
          region,
          instanceId: i.InstanceId,
          state: i.State.Name,
          ...expectedInstanceIps(i),
        });
      }
    }
  }
  return out.sort((x, y) => x.instanceId.localeCompare(y.instanceId));
}

export function actual(records: Ec2InstanceRecord[]): Expected[] {
  return records
    .map((r) => ({
      accountId: r.accountId,
      region: r.region,
      instanceId: r.instanceId,
      state: r.state ?? "",
      privateIps: [...r.privateIps].sort(),
      publicIps: [...r.publicIps].sort(),
      ipv6Ips: [...r.ipv6Ips].sort(),
    }))
    .sort((x, y) => x.instanceId.localeCompare(y.instanceId));
}

/** EC2 calls made in a region the account has not enabled (must be none). */
export function callsOutsideEnabledRegions(aws: AwsDataset, log: readonly LoggedRequest[]): LoggedRequest[] {
  return log.filter((e) => {
    if (!e.operation.startsWith("ec2:") || !e.principal) return false;
    const [account, region] = e.principal.split("/") as [string, string];
    return !enabledRegionsOf(aws, account).includes(region);
  });
}
