import { DescribeInstancesCommand, type EC2Client } from "@aws-sdk/client-ec2";
import { paginate } from "@cloudadmin/paging";
import { toInstanceRecord } from "./extract.js";
import type { Account, RunContext } from "./run-context.js";
import type { Ec2InstanceRecord } from "./types.js";

/**
 * Step 4: every instance of one account-region, page by page (always with `MaxResults`, which puts
 * the calls in EC2's larger paginated bucket), as records with all their IPs. A failed region is
 * reported (`describe-instances`, scope `account/region`) and `onFailure` marks its account failed.
 */
export async function* listInstances(
  run: RunContext,
  account: Account,
  region: string,
  client: EC2Client,
  onFailure: () => void,
): AsyncGenerator<Ec2InstanceRecord> {
  const { options, counts } = run;
  const states = options.states;
  const pageSize = options.pageSize ?? 1000;
  const scope = `${account.accountId}/${region}`;
  let found = 0;
  let first = true;
  try {
    const pages = paginate(
      async (token: string | undefined) => {
        const urgent = !first;
        first = false;
        const out = await run.call(
          `DescribeInstances in ${account.accountId} ${region}`,
          urgent,
          (abortSignal) =>
            client.send(
              new DescribeInstancesCommand({
                MaxResults: pageSize,
                ...(token ? { NextToken: token } : {}),
                ...(states && states.length > 0
                  ? { Filters: [{ Name: "instance-state-name", Values: [...states] }] }
                  : {}),
              }),
              { abortSignal },
            ),
          // EC2 answers AuthFailure for a region the account has not enabled.
          (code) => (code === "AuthFailure" ? "the region may be disabled in this account" : undefined),
        );
        return { items: (out.Reservations ?? []).flatMap((r) => r.Instances ?? []), next: out.NextToken };
      },
      { signal: run.signal },
    );
    for await (const instance of pages) {
      found++;
      counts.instances++;
      yield toInstanceRecord(instance, account, region);
    }
    counts.regionsDone++;
  } catch (error) {
    onFailure();
    counts.regionsFailed++;
    run.fail(error, scope, "describe-instances");
  }
  run.emit({
    type: "region-done",
    accountId: account.accountId,
    region,
    instances: found,
    counts: run.snapshot(),
  });
}
