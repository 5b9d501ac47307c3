import { DescribeInstancesCommand, DescribeRegionsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { ListAccountsCommand, OrganizationsClient } from "@aws-sdk/client-organizations";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import {
  type AwsDataset,
  enabledRegionsOf,
  expectedInstanceIps,
  generateDataset,
} from "@cloudadmin/cloud-sim";
import { type Ec2InstanceRecord, type Ec2IpsCounts, listEc2Ips } from "@cloudadmin/ec2-ips";
import type { CloudAdminError } from "@cloudadmin/errors";
import { benchResult, measureRequestRate, timed } from "../measure.js";
import type { BenchContext, BenchResult, Scenario } from "../scenario.js";
import { type RemoteSimulator, startSimulatorWorker } from "../sim-worker.js";
import type { Ec2SimWorkerData } from "./ec2-sim-worker.js";

/** SPEC section 8: 50 ms per call; EC2 buckets 100 burst / 20 per s per account, region and action (the simulator's default). */
const LATENCY_MS = 50;
const ORG_PAGE = 20;
const EC2_PAGE = 1000;
const HOME = "us-east-1";
/** Requests the library keeps in flight in this scenario (its default is 64). */
const CONCURRENCY = 64;
/** Accounts the one-at-a-time baseline reads before its time is extrapolated per account-region. */
const BASELINE_ACCOUNTS = 12;
const SEED = 1;

const regionsOf = enabledRegionsOf;

/** Ground truth: instance id -> "account/region|sorted private|sorted public|sorted ipv6", and the scopes that must fail. */
function groundTruth(aws: AwsDataset): { items: Map<string, string>; failures: string[] } {
  const items = new Map<string, string>();
  const failures: string[] = [];
  for (const a of aws.accounts ?? []) {
    if (a.State !== "ACTIVE") continue;
    if (a.Id !== aws.managementAccountId && aws.assumeRoleDenied?.includes(a.Id)) {
      failures.push(`${a.Id}:assume-role`);
      continue;
    }
    if (aws.describeRegionsDenied?.includes(a.Id)) {
      failures.push(`${a.Id}:describe-regions`);
      continue;
    }
    for (const region of regionsOf(aws, a.Id)) {
      if (aws.regionsDenied?.[a.Id]?.includes(region)) {
        failures.push(`${a.Id}/${region}:describe-instances`);
        continue;
      }
      for (const i of aws.instances?.[a.Id]?.[region] ?? []) {
        const { privateIps, publicIps, ipv6Ips } = expectedInstanceIps(i);
        items.set(i.InstanceId, `${a.Id}/${region}|${privateIps}|${publicIps}|${ipv6Ips}`);
      }
    }
  }
  return { items, failures: failures.sort() };
}

/** What a record says, in the ground truth's terms (computed as records arrive, so they need not be kept). */
function recordKey(r: Ec2InstanceRecord): string {
  return `${r.accountId}/${r.region}|${[...r.privateIps].sort()}|${[...r.publicIps].sort()}|${[...r.ipv6Ips].sort()}`;
}

/**
 * The work the job must do, in the baseline's unit: account-regions to read (every enabled region of
 * every ACTIVE account whose credentials and regions can be had). Extrapolating the baseline per
 * account-region, not per request, keeps extra requests (retries, more pages) from inflating it.
 */
function accountRegions(aws: AwsDataset): number {
  let n = 0;
  for (const a of aws.accounts ?? []) {
    if (a.State !== "ACTIVE") continue;
    if (a.Id !== aws.managementAccountId && aws.assumeRoleDenied?.includes(a.Id)) continue;
    if (aws.describeRegionsDenied?.includes(a.Id)) continue;
    n += regionsOf(aws, a.Id).length;
  }
  return n;
}

function sameAsTruth(
  seen: Map<string, string>,
  errors: CloudAdminError[],
  truth: ReturnType<typeof groundTruth>,
): boolean {
  if (seen.size !== truth.items.size) return false;
  for (const [id, key] of seen) if (truth.items.get(id) !== key) return false;
  const failed = errors.map((e) => `${e.scope}:${e.phase}`).sort();
  return JSON.stringify(failed) === JSON.stringify(truth.failures);
}

/**
 * The model's lower bound. Organizations pages come one after another (each token comes with the
 * previous page), so an account on page p is known at p x 50 ms. Then, per account, its credentials
 * (AssumeRole; none for the management account), DescribeRegions (no region may be called before it
 * lists them) and the longest chain of DescribeInstances pages of one region, each 50 ms. EC2 buckets
 * never bind: no account-region needs more than a few calls of its 100-token bucket.
 */
function boundModelMs(aws: AwsDataset): number {
  let worst = 0;
  (aws.accounts ?? []).forEach((a, index) => {
    if (a.State !== "ACTIVE") return;
    const known = (Math.floor(index / ORG_PAGE) + 1) * LATENCY_MS;
    const assume = a.Id === aws.managementAccountId ? 0 : LATENCY_MS;
    if (a.Id !== aws.managementAccountId && aws.assumeRoleDenied?.includes(a.Id)) {
      worst = Math.max(worst, known + assume);
      return;
    }
    let pages = 0;
    if (!aws.describeRegionsDenied?.includes(a.Id)) {
      for (const region of regionsOf(aws, a.Id)) {
        const n = aws.instances?.[a.Id]?.[region]?.length ?? 0;
        pages = Math.max(pages, Math.max(1, Math.ceil(n / EC2_PAGE)));
      }
    }
    worst = Math.max(worst, known + assume + LATENCY_MS + pages * LATENCY_MS);
  });
  return worst;
}

/** The simulator running in a worker thread (see ec2-sim-worker.ts). */
type RemoteSim = RemoteSimulator<{ httpUrl: string; env: Record<string, string> }>;

const startSimWorker = (data: Ec2SimWorkerData): Promise<RemoteSim> =>
  startSimulatorWorker(new URL("./ec2-sim-worker.js", import.meta.url), data);

function credentialsOf(sim: RemoteSim) {
  return {
    accessKeyId: sim.env.AWS_ACCESS_KEY_ID as string,
    secretAccessKey: sim.env.AWS_SECRET_ACCESS_KEY as string,
  };
}

/**
 * The same EC2 client on a trivial request (DescribeInstances of an empty region) against the same
 * simulator (the same dataset, in a worker thread as in the run), with no latency and no limits.
 */
async function calibrate(): Promise<number> {
  const sim = await startSimWorker({ seed: SEED, scale: "large", latencyMs: 0, unlimited: true });
  try {
    const client = new EC2Client({
      region: "sa-east-1",
      endpoint: sim.httpUrl,
      credentials: credentialsOf(sim),
    });
    const request = () => client.send(new DescribeInstancesCommand({ MaxResults: 5 }));
    const rates = [];
    for (const concurrency of [16, 64]) rates.push(await measureRequestRate(request, { concurrency }));
    return Math.max(...rates);
  } finally {
    await sim.close();
  }
}

/**
 * What the original tool did, with the same SDK: ListAccounts page by page, then for each ACTIVE
 * account one after another AssumeRole, DescribeRegions, and each region in turn, page by page.
 * Failures are skipped (the original would have stopped). Runs on the first `accounts` accounts.
 */
async function baseline(sim: RemoteSim, aws: AwsDataset, accounts: number, signal: AbortSignal) {
  const caller = credentialsOf(sim);
  const org = new OrganizationsClient({ region: HOME, endpoint: sim.httpUrl, credentials: caller });
  const sts = new STSClient({ region: HOME, endpoint: sim.httpUrl, credentials: caller });
  const started = performance.now();
  let requests = 0;
  let instances = 0;
  let read = 0;
  let regionsRead = 0;
  let token: string | undefined;
  const listed: Array<{ Id?: string; State?: string }> = [];
  do {
    const page = await org.send(new ListAccountsCommand({ ...(token ? { NextToken: token } : {}) }));
    requests++;
    listed.push(...(page.Accounts ?? []));
    token = page.NextToken;
  } while (token && listed.length < accounts);
  for (const a of listed.slice(0, accounts)) {
    signal.throwIfAborted();
    if (a.State !== "ACTIVE" || !a.Id) continue;
    read++;
    let credentials = caller as { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
    if (a.Id !== aws.managementAccountId) {
      try {
        requests++;
        const out = await sts.send(
          new AssumeRoleCommand({
            RoleArn: `arn:aws:iam::${a.Id}:role/OrganizationAccountAccessRole`,
            RoleSessionName: "baseline",
          }),
        );
        credentials = {
          accessKeyId: out.Credentials?.AccessKeyId as string,
          secretAccessKey: out.Credentials?.SecretAccessKey as string,
          sessionToken: out.Credentials?.SessionToken as string,
        };
      } catch {
        continue;
      }
    }
    let regions: string[] = [];
    try {
      requests++;
      const out = await new EC2Client({ region: HOME, endpoint: sim.httpUrl, credentials }).send(
        new DescribeRegionsCommand({}),
      );
      regions = (out.Regions ?? []).map((r) => r.RegionName as string);
    } catch {
      continue;
    }
    for (const region of regions) {
      regionsRead++;
      const ec2 = new EC2Client({ region, endpoint: sim.httpUrl, credentials });
      let next: string | undefined;
      try {
        do {
          requests++;
          const out = await ec2.send(
            new DescribeInstancesCommand({ ...(next ? { NextToken: next } : {}), MaxResults: EC2_PAGE }),
          );
          for (const r of out.Reservations ?? []) instances += r.Instances?.length ?? 0;
          next = out.NextToken;
        } while (next);
      } catch {
        // An SCP-denied region: the original would have stopped; the baseline moves on.
      }
    }
  }
  return {
    ms: performance.now() - started,
    requests,
    instances,
    accounts: read,
    accountRegions: regionsRead,
  };
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const starting = startSimWorker({ seed: SEED, scale: "large", latencyMs: LATENCY_MS, unlimited: false });
  const aws = generateDataset({ scale: "large", seed: SEED, services: ["aws"] }).aws as AwsDataset;
  const truth = groundTruth(aws);
  const bound = boundModelMs(aws);
  ctx.log(
    `${aws.accounts?.length ?? 0} accounts, ${truth.items.size} reachable instances, ${truth.failures.length} scopes that must fail; model bound ${bound} ms`,
  );
  const sim = await starting;
  const requestRate = await calibrate();
  ctx.log(`calibrated: ${Math.round(requestRate)} requests/s (EC2 client, trivial DescribeInstances)`);

  try {
    const errors: CloudAdminError[] = [];
    let counts: Ec2IpsCounts | undefined;
    let listed = 0;
    const { ms, value: seen } = await timed(async () => {
      const out = new Map<string, string>();
      for await (const r of listEc2Ips({
        credentials: credentialsOf(sim),
        region: HOME,
        endpoints: { ec2: sim.httpUrl, sts: sim.httpUrl, organizations: sim.httpUrl },
        concurrency: CONCURRENCY,
        signal: ctx.signal,
        onError: (e) => errors.push(e),
        onProgress: (e) => {
          if (e.type === "done") counts = e.counts;
        },
      })) {
        listed++;
        out.set(r.instanceId, recordKey(r));
      }
      return out;
    });
    const stats = await sim.stats();
    const correct = listed === seen.size && sameAsTruth(seen, errors, truth);
    const assumeRoles = (await sim.call("assumeRoleCounts")) as Record<string, number>;
    ctx.log(
      `run: ${Math.round(ms)} ms, ${listed} instances, ${stats.total} requests, ${stats.throttled} throttled, ${errors.length} failed scopes, max AssumeRole per account ${Math.max(...Object.values(assumeRoles))}, correct ${correct}`,
    );

    await sim.resetStats();
    const base = await baseline(sim, aws, BASELINE_ACCOUNTS, ctx.signal);
    const work = accountRegions(aws);
    ctx.log(
      `baseline: ${Math.round(base.ms)} ms for ${base.accountRegions} account-regions (${base.requests} requests, ${base.accounts} accounts, ${base.instances} instances), extrapolated per account-region to ${work}`,
    );
    return benchResult({
      scenario: "ec2-org",
      wallMs: ms,
      boundModelMs: bound,
      requests: stats.total,
      requestRate,
      baselineMs: base.ms,
      baselineUnits: base.accountRegions,
      units: work,
      throttled: stats.throttled,
      retries: counts?.retries ?? 0,
      correct,
      extra: {
        accounts: aws.accounts?.length ?? 0,
        instances: listed,
        failedScopes: errors.length,
        concurrency: CONCURRENCY,
        baselineSubset: `first ${BASELINE_ACCOUNTS} accounts (${base.accountRegions} account-regions, ${base.requests} requests, ${Math.round(base.ms)} ms), extrapolated per account-region to ${work}`,
      },
    });
  } finally {
    await sim.close();
  }
}

export const scenarios: Scenario[] = [
  {
    name: "ec2-org",
    description: "300 accounts x 17 regions, 30,000 EC2 instances, 50 ms per call, EC2 token buckets",
    run,
  },
];
