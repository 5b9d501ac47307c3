import { DescribeRegionsCommand } from "@aws-sdk/client-ec2";
import { toAwsError } from "./errors.js";
import type { Account, RunContext } from "./run-context.js";

/**
 * Step 3: the regions to read in an account: those DescribeRegions lists as enabled (so no call
 * goes to a region the account has not enabled), narrowed to `regions`. When an SCP denies
 * DescribeRegions, `fallbackRegions` (else `regions`) are read instead, with a warning; without
 * either the account fails (`describe-regions`). Null when the account failed.
 */
export async function regionsOf(
  run: RunContext,
  account: Account,
  describeRegions: () => Promise<string[]>,
): Promise<string[] | null> {
  const { options, counts } = run;
  const id = account.accountId;
  let enabled: string[];
  try {
    enabled = await describeRegions();
  } catch (error) {
    const e = toAwsError(error, `DescribeRegions in ${id}`);
    const fallback = options.fallbackRegions ?? options.regions;
    if (e.remoteCode !== "UnauthorizedOperation" || !fallback || fallback.length === 0) {
      run.fail(e, id, "describe-regions");
      return null;
    }
    run.emit({
      type: "warning",
      accountId: id,
      message: `DescribeRegions is denied in ${id}; reading the configured regions ${fallback.join(", ")}`,
      counts: run.snapshot(),
    });
    enabled = [...fallback];
  }
  let regions = enabled;
  if (options.regions) {
    const asked = options.regions;
    regions = asked.filter((r) => enabled.includes(r));
    counts.regionsNotEnabled += asked.length - regions.length;
  }
  counts.regionsTotal += regions.length;
  run.emit({ type: "regions-listed", accountId: id, regions, counts: run.snapshot() });
  return regions;
}

/** DescribeRegions with an account's EC2 client in the home region: the enabled regions' names. */
export function describeRegionsWith(
  run: RunContext,
  account: Account,
  send: (
    command: DescribeRegionsCommand,
    signal: AbortSignal,
  ) => Promise<{ Regions?: Array<{ RegionName?: string }> }>,
): () => Promise<string[]> {
  return async () => {
    const out = await run.call(`DescribeRegions in ${account.accountId}`, false, (signal) =>
      send(new DescribeRegionsCommand({}), signal),
    );
    return (out.Regions ?? []).map((r) => r.RegionName).filter((r): r is string => !!r);
  };
}
