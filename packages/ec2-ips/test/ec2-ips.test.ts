import { type AwsDataset, type Simulator, generateDataset, startSimulator } from "@cloudadmin/cloud-sim";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { type Timer, collect, shardOf } from "@cloudadmin/paging";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CloudAdminError } from "@cloudadmin/errors";
import {
  type Ec2InstanceRecord,
  type Ec2IpsProgressEvent,
  type ListEc2IpsOptions,
  listEc2Ips,
} from "../src/index.js";
import { actual, callsOutsideEnabledRegions, expectedOrg } from "./ground-truth.js";

/** The simulator's AWS service object, as tests reach into it (not part of the package's root types). */
interface AwsSimControls {
  assumeRoleCounts(): Record<string, number>;
  expireSsoTokenAfter(calls: number): void;
  setSsoTokenExpiry(at: Date | null): void;
}

/** The small dataset plus one role that cannot be assumed and one SCP-denied region. */
const aws: AwsDataset = {
  ...(generateDataset({ scale: "small", seed: 11, services: ["aws"] }).aws as AwsDataset),
  assumeRoleDenied: ["333333333333"],
  regionsDenied: { "555555555555": ["eu-central-1"] },
};
const dataset = { aws };
const MGMT = "111111111111";
const PROD = "222222222222";
const DENIED = "333333333333";
const SUSPENDED = "444444444444";
const PARTNER = "555555555555";
const DEV = "666666666666";

/** What `onError` received, as the CLI's errors[] shows it (the AWS code when there is one). */
interface SeenError {
  scope: string;
  phase: string;
  code: string;
  message: string;
  error: CloudAdminError;
}

interface Run {
  records: Ec2InstanceRecord[];
  errors: SeenError[];
  events: Ec2IpsProgressEvent[];
}

function orgOptions(sim: Simulator, extra: Partial<ListEc2IpsOptions> = {}): ListEc2IpsOptions {
  const env = sim.environment();
  return {
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID as string,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY as string,
    },
    region: "us-east-1",
    endpoints: { ec2: sim.httpUrl, sts: sim.httpUrl, organizations: sim.httpUrl, sso: sim.httpUrl },
    concurrency: 16,
    ...extra,
  };
}

async function run(options: ListEc2IpsOptions): Promise<Run> {
  const errors: SeenError[] = [];
  const events: Ec2IpsProgressEvent[] = [];
  const records = await collect(
    listEc2Ips({
      ...options,
      onError: (e) =>
        errors.push({
          scope: e.scope ?? "",
          phase: e.phase ?? "",
          code: e.remoteCode ?? e.code,
          message: e.message,
          error: e,
        }),
      onProgress: (e) => events.push(e),
    }),
  );
  return { records, errors, events };
}

function finalCounts(r: Run) {
  const done = r.events.at(-1);
  if (done?.type !== "done") throw new Error("no done event");
  return done.counts;
}

function byName(records: Ec2InstanceRecord[], prefix: string): Ec2InstanceRecord {
  const r = records.find(
    (x) => x.name?.startsWith(`${prefix}-`) && x.accountId === PROD && x.region === "eu-west-1",
  );
  if (!r) throw new Error(`no ${prefix} instance`);
  return r;
}

function datasetInstance(id: string) {
  for (const byRegion of Object.values(aws.instances ?? {})) {
    for (const list of Object.values(byRegion)) {
      const i = list.find((x) => x.InstanceId === id);
      if (i) return i;
    }
  }
  throw new Error(`no instance ${id}`);
}

/** A manual clock (the `Timer` the job takes): sleeps end only when the test advances it. */
class ManualTimer implements Timer {
  time = 0;
  readonly slept: number[] = [];
  private sleepers: Array<{ at: number; resolve: () => void }> = [];
  now = (): number => this.time;
  sleep = (ms: number, signal?: AbortSignal): Promise<void> => {
    this.slept.push(ms);
    return new Promise((resolve, reject) => {
      const entry = { at: this.time + ms, resolve };
      this.sleepers.push(entry);
      signal?.addEventListener("abort", () => {
        this.sleepers = this.sleepers.filter((x) => x !== entry);
        reject(signal.reason);
      });
    });
  };
  pending(): number {
    return this.sleepers.length;
  }
  async advance(ms: number): Promise<void> {
    this.time += ms;
    const due = this.sleepers.filter((x) => x.at <= this.time);
    this.sleepers = this.sleepers.filter((x) => x.at > this.time);
    for (const x of due) x.resolve();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Waits (polling) until a condition on the simulator or the clock holds. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
}

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ dataset, services: ["aws"], latency: 2 });
});
afterAll(() => sim.close());

describe("listEc2Ips in org mode", () => {
  let r: Run;
  beforeAll(async () => {
    sim.resetStats();
    r = await run(orgOptions(sim));
  });

  it("lists exactly the ground truth: every reachable account, enabled region and instance", () => {
    expect(actual(r.records)).toEqual(expectedOrg(aws));
    expect(r.records.length).toBeGreaterThan(30);
    const prod = r.records.find((x) => x.accountId === PROD);
    expect(prod?.accountName).toBe("prod");
    // The opted-in region of the prod account is read too.
    expect(r.records.some((x) => x.accountId === PROD && x.region === "af-south-1")).toBe(true);
  });

  it("reports the denied account and the SCP-denied region as errors with their phase, and goes on", () => {
    const errors = [...r.errors].sort((a, b) => a.scope.localeCompare(b.scope));
    expect(
      errors.map(({ scope, phase, code, error }) => ({ scope, phase, code, class: error.code })),
    ).toEqual([
      { scope: DENIED, phase: "assume-role", code: "AccessDenied", class: "ERR_ACCESS_DENIED" },
      {
        scope: `${PARTNER}/eu-central-1`,
        phase: "describe-instances",
        code: "UnauthorizedOperation",
        class: "ERR_ACCESS_DENIED",
      },
    ]);
    // Errors retrying cannot fix are sent once.
    expect(
      sim.requestLog.filter(
        (e) => e.operation === "ec2:DescribeInstances" && e.principal === `${PARTNER}/eu-central-1`,
      ),
    ).toHaveLength(1);
    expect(errors[0]?.message).toContain(`arn:aws:iam::${DENIED}:role/OrganizationAccountAccessRole`);
    // The partner account's other region is still listed.
    expect(r.records.some((x) => x.accountId === PARTNER && x.region === "ap-southeast-2")).toBe(true);
  });

  it("skips accounts that are not ACTIVE and counts them, without listing them as errors", () => {
    const c = finalCounts(r);
    expect(c).toMatchObject({
      accountsListed: 6,
      accountsSkipped: 1,
      accountsTotal: 5,
      accountsDone: 5,
      accountsFailed: 2,
      regionsFailed: 1,
      errors: 2,
      instances: r.records.length,
      listingComplete: true,
    });
    expect(r.records.some((x) => x.accountId === SUSPENDED)).toBe(false);
    expect(r.errors.some((e) => e.scope === SUSPENDED)).toBe(false);
    expect(c.regionsTotal).toBe(17 + 18 + 17 + 17);
    expect(c.regionsDone).toBe(c.regionsTotal - 1);
  });

  it("calls no region DescribeRegions did not list, assumes each role at most once, and reads the management account with the caller's credentials", () => {
    expect(callsOutsideEnabledRegions(aws, sim.requestLog)).toEqual([]);
    const counts = (sim.service("aws") as unknown as AwsSimControls).assumeRoleCounts();
    for (const [account, n] of Object.entries(counts)) expect({ account, n }).toEqual({ account, n: 1 });
    expect(counts[MGMT]).toBeUndefined();
    expect(r.records.filter((x) => x.accountId === MGMT).length).toBe(2);
    // One DescribeRegions per readable account (the denied one never gets that far).
    expect(sim.stats().byOperation["aws:ec2:DescribeRegions"]).toBe(4);
  });

  it("extracts every edge case of the research notes (section 4)", () => {
    const eipOnSecondary = byName(r.records, "eip-on-secondary");
    const src = datasetInstance(eipOnSecondary.instanceId);
    const secondary = src.NetworkInterfaces?.[0]?.PrivateIpAddresses.find((p) => !p.Primary);
    expect(eipOnSecondary.networkInterfaces[0]?.publicIps).toEqual([
      { ip: secondary?.Association?.PublicIp, kind: "elastic", privateIp: secondary?.PrivateIpAddress },
    ]);
    expect(eipOnSecondary.privateIps[0]).toBe(src.PrivateIpAddress);

    const multi = byName(r.records, "multi-eni");
    expect(multi.networkInterfaces.map((n) => n.deviceIndex)).toEqual([0, 1, 2]);
    expect(multi.networkInterfaces[2]?.networkCardIndex).toBe(1);
    // Compared with the dataset, in SPEC order: the primary interface's primary IP first, then by
    // device index and position.
    const multiSrc = datasetInstance(multi.instanceId);
    const enis = [...(multiSrc.NetworkInterfaces ?? [])].sort(
      (a, b) => a.Attachment.DeviceIndex - b.Attachment.DeviceIndex,
    );
    expect(multi.privateIps).toEqual(
      enis.flatMap((n) => [
        ...n.PrivateIpAddresses.filter((p) => p.Primary).map((p) => p.PrivateIpAddress),
        ...n.PrivateIpAddresses.filter((p) => !p.Primary).map((p) => p.PrivateIpAddress),
      ]),
    );
    expect(multi.networkInterfaces.map((n) => n.id)).toEqual(enis.map((n) => n.NetworkInterfaceId));
    // IPv6 on the primary and on the second interface.
    expect(multi.ipv6Ips).toEqual(enis.flatMap((n) => n.Ipv6Addresses.map((a) => a.Ipv6Address)));
    expect(multi.ipv6Ips).toHaveLength(2);

    const secondaries = byName(r.records, "secondary-ips");
    expect(secondaries.privateIps).toHaveLength(4);
    expect(secondaries.networkInterfaces[0]?.publicIps.map((p) => p.kind).sort()).toEqual([
      "elastic",
      "ephemeral",
    ]);

    expect(byName(r.records, "elastic-ip").networkInterfaces[0]?.publicIps[0]?.kind).toBe("elastic");
    expect(byName(r.records, "auto-ip").networkInterfaces[0]?.publicIps[0]?.kind).toBe("ephemeral");

    const v6only = byName(r.records, "ipv6-only");
    expect(v6only.privateIps).toEqual([]);
    expect(v6only.publicIps).toEqual([]);
    expect(v6only.ipv6Ips).toHaveLength(2);

    const dual = byName(r.records, "ipv6-dual");
    expect(dual.ipv6Ips).toHaveLength(2);
    expect(dual.publicIps).toHaveLength(1);

    const prefixes = byName(r.records, "prefixes");
    const srcPrefixes = datasetInstance(prefixes.instanceId).NetworkInterfaces?.[0];
    expect(prefixes.networkInterfaces[0]?.ipv4Prefixes).toEqual([srcPrefixes?.Ipv4Prefixes?.[0]?.Ipv4Prefix]);
    expect(prefixes.networkInterfaces[0]?.ipv6Prefixes).toEqual([srcPrefixes?.Ipv6Prefixes?.[0]?.Ipv6Prefix]);

    const carrier = byName(r.records, "carrier-ip");
    expect(carrier.publicIps).toEqual([
      datasetInstance(carrier.instanceId).NetworkInterfaces?.[0]?.PrivateIpAddresses[0]?.Association
        ?.CarrierIp,
    ]);
    expect(byName(r.records, "customer-owned-ip").publicIps).toEqual([]);

    const stopped = byName(r.records, "stopped");
    expect(stopped.state).toBe("stopped");
    expect(stopped.privateIps).toHaveLength(2);
    // A stopped instance has lost its auto-assigned IP; the Elastic IP on its secondary IP stays.
    expect(stopped.networkInterfaces[0]?.publicIps.map((p) => p.kind)).toEqual(["elastic"]);
    expect(byName(r.records, "stopped-eip").publicIps).toHaveLength(1);

    expect(byName(r.records, "pending").state).toBe("pending");
    const terminated = byName(r.records, "terminated");
    expect(terminated).toMatchObject({
      state: "terminated",
      privateIps: [],
      publicIps: [],
      ipv6Ips: [],
      networkInterfaces: [],
    });

    const untagged = r.records.find(
      (x) => x.accountId === PROD && x.region === "eu-west-1" && x.name === null,
    );
    expect(untagged).toBeDefined();
    for (const rec of r.records) {
      for (const ip of [...rec.privateIps, ...rec.publicIps, ...rec.ipv6Ips])
        expect(ip).toMatch(/^[0-9a-f.:]+$/);
    }
  });
});

describe("listEc2Ips under faults and limits", () => {
  it("still equals the ground truth with 5% throttling, 1% connection resets and empty Organizations pages", async () => {
    const faulty = await startSimulator({
      dataset,
      services: ["aws"],
      latency: 1,
      seed: 5,
      faults: { throttleRate: 0.05, resetRate: 0.01, emptyPageRate: 0.5 },
    });
    try {
      // random 0: every backoff is 0 ms, so retries cost no real time.
      const r = await run(orgOptions(faulty, { maxRetries: 8, random: () => 0 }));
      expect(actual(r.records)).toEqual(expectedOrg(aws));
      expect(r.errors.map((e) => e.phase).sort()).toEqual(["assume-role", "describe-instances"]);
      const stats = faulty.stats();
      expect(stats.faults.throttle + stats.faults.reset).toBeGreaterThan(0);
      const c = finalCounts(r);
      expect(c.retries).toBeGreaterThan(0);
      expect(c.throttled).toBeGreaterThanOrEqual(stats.faults.throttle);
    } finally {
      await faulty.close();
    }
  });

  it("follows DescribeInstances pages and the account, region and state filters", async () => {
    sim.resetStats();
    const r = await run(
      orgOptions(sim, {
        accounts: [PROD],
        regions: ["us-east-1", "eu-west-1", "af-south-1", "me-south-1"],
        pageSize: 5,
      }),
    );
    expect(actual(r.records)).toEqual(
      expectedOrg(aws, { accounts: [PROD], regions: ["us-east-1", "eu-west-1", "af-south-1"] }),
    );
    expect(finalCounts(r)).toMatchObject({ regionsTotal: 3, regionsNotEnabled: 1, accountsTotal: 1 });
    const pages = sim.requestLog.filter(
      (e) => e.operation === "ec2:DescribeInstances" && e.principal === `${PROD}/us-east-1`,
    );
    expect(pages).toHaveLength(Math.ceil((aws.instances?.[PROD]?.["us-east-1"]?.length ?? 0) / 5));
    expect(sim.requestLog.some((e) => e.principal?.endsWith("/me-south-1"))).toBe(false);

    const running = await run(orgOptions(sim, { accounts: [PROD], states: ["running"] }));
    expect(actual(running.records)).toEqual(expectedOrg(aws, { accounts: [PROD], states: ["running"] }));
    expect(running.records.every((x) => x.state === "running")).toBe(true);
  });

  it("falls back to the configured regions when an SCP denies DescribeRegions, else reports describe-regions", async () => {
    const denied: AwsDataset = { ...aws, describeRegionsDenied: [DEV] };
    const local = await startSimulator({ dataset: { aws: denied }, services: ["aws"] });
    try {
      const without = await run(orgOptions(local, { accounts: [DEV] }));
      expect(without.records).toEqual([]);
      expect(without.errors.map((e) => [e.scope, e.phase, e.code])).toEqual([
        [DEV, "describe-regions", "UnauthorizedOperation"],
      ]);
      const withFallback = await run(
        orgOptions(local, { accounts: [DEV], fallbackRegions: ["us-east-1", "eu-west-1"] }),
      );
      expect(actual(withFallback.records)).toEqual(
        expectedOrg(denied, { accounts: [DEV], fallbackRegions: ["us-east-1", "eu-west-1"] }),
      );
      expect(withFallback.records.length).toBe(2);
      expect(withFallback.errors).toEqual([]);
      expect(
        withFallback.events.some(
          (e) => e.type === "warning" && e.message.includes("DescribeRegions is denied"),
        ),
      ).toBe(true);
    } finally {
      await local.close();
    }
  });

  it("gives up on a region that does not answer within the per-request timeout, and finishes the rest (injected timer)", async () => {
    const hung = await startSimulator({
      dataset,
      services: ["aws"],
      faults: { slowRate: 1, slowMs: 600_000, operations: ["ec2:DescribeInstances"] },
    });
    const timer = new ManualTimer();
    const describes = () => hung.requestLog.filter((e) => e.operation === "ec2:DescribeInstances").length;
    try {
      const done = run(
        orgOptions(hung, {
          accounts: [DEV],
          regions: ["us-east-1", "eu-west-1"],
          maxRetries: 1,
          timer,
          random: () => 0.5,
        }),
      );
      // Both regions' first attempts hang; 30 s (DEFAULT_TIMEOUT_MS) pass on the injected clock.
      await until(() => describes() === 2);
      await timer.advance(30_000);
      // Each waits its backoff (0.5 x 200 ms) on the same clock, then tries once more.
      await until(() => timer.pending() === 2);
      expect(timer.slept.slice(-2)).toEqual([100, 100]);
      await timer.advance(100);
      await until(() => describes() === 4);
      await timer.advance(30_000);
      const r = await done;
      expect(r.records).toEqual([]);
      expect(r.errors.map((e) => [e.scope, e.phase, e.code]).sort()).toEqual([
        [`${DEV}/eu-west-1`, "describe-instances", "ERR_TIMEOUT"],
        [`${DEV}/us-east-1`, "describe-instances", "ERR_TIMEOUT"],
      ]);
      expect(r.errors[0]?.message).toContain("got no answer within 30 s");
      expect(describes()).toBe(4);
      expect(finalCounts(r)).toMatchObject({
        regionsFailed: 2,
        accountsDone: 1,
        accountsFailed: 1,
        retries: 2,
      });
    } finally {
      await hung.close();
    }
  });

  it("reads the accounts it was given when the caller may not list the Organization", async () => {
    const sts = new STSClient({
      region: "us-east-1",
      endpoint: sim.httpUrl,
      credentials: orgOptions(sim).credentials,
    });
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${DEV}:role/OrganizationAccountAccessRole`,
        RoleSessionName: "member",
      }),
    );
    const member = {
      accessKeyId: out.Credentials?.AccessKeyId as string,
      secretAccessKey: out.Credentials?.SecretAccessKey as string,
      sessionToken: out.Credentials?.SessionToken as string,
    };
    const r = await run(orgOptions(sim, { credentials: member, accounts: [DEV] }));
    expect(r.errors.map((e) => [e.scope, e.phase, e.code])).toEqual([
      ["organization", "list-accounts", "AccessDeniedException"],
    ]);
    expect(actual(r.records)).toEqual(expectedOrg(aws, { accounts: [DEV] }));
    expect(r.records.every((x) => x.accountName === null)).toBe(true);
  });

  it("reports an account asked for that the Organization does not hold", async () => {
    const r = await run(orgOptions(sim, { accounts: [DEV, "999999999999"] }));
    expect(r.errors.map((e) => [e.scope, e.phase])).toEqual([["999999999999", "list-accounts"]]);
    expect(new Set(r.records.map((x) => x.accountId))).toEqual(new Set([DEV]));
  });

  it("refuses plain http to a non-loopback endpoint before sending anything", async () => {
    await expect(collect(listEc2Ips({ endpoints: { ec2: "http://ec2.example.com" } }))).rejects.toMatchObject(
      {
        code: "ERR_CONFIG",
      },
    );
    await expect(collect(listEc2Ips({ pageSize: 2 }))).rejects.toMatchObject({ code: "ERR_USAGE" });
  });

  it("stops with AbortedError when the signal aborts", async () => {
    const controller = new AbortController();
    const slow = await startSimulator({ dataset, services: ["aws"], latency: 30 });
    try {
      const seen: Ec2InstanceRecord[] = [];
      const p = (async () => {
        for await (const rec of listEc2Ips(orgOptions(slow, { signal: controller.signal }))) {
          seen.push(rec);
          controller.abort();
        }
      })();
      await expect(p).rejects.toMatchObject({ code: "ERR_ABORTED" });
      expect(seen.length).toBeGreaterThan(0);
    } finally {
      await slow.close();
    }
  });
});

describe("listEc2Ips in sso mode", () => {
  const sso = aws.sso as NonNullable<AwsDataset["sso"]>;
  const ssoOptions = (extra: Partial<ListEc2IpsOptions> = {}): ListEc2IpsOptions => ({
    mode: "sso",
    sso: { accessToken: sso.accessToken, roleName: "ReadOnly", region: "eu-west-1" },
    region: "us-east-1",
    endpoints: { ec2: sim.httpUrl, sso: sim.httpUrl },
    concurrency: 8,
    ...extra,
  });

  it("lists the user's accounts with role credentials for the permission set", async () => {
    sim.resetStats();
    const r = await run(ssoOptions());
    expect(actual(r.records)).toEqual(
      expectedOrg(aws, { accounts: sso.accounts }).filter(
        (e) => !(e.accountId === PARTNER && e.region === "eu-central-1"),
      ),
    );
    expect(r.errors.map((e) => [e.scope, e.phase])).toEqual([
      [`${PARTNER}/eu-central-1`, "describe-instances"],
    ]);
    expect(sim.stats().byOperation["aws:sso:GetRoleCredentials"]).toBe(sso.accounts.length);
    expect(sim.stats().byOperation["aws:sts:AssumeRole"]).toBeUndefined();
  });

  it("ends cleanly with a partial result when the token expires mid-run", async () => {
    const controls = sim.service("aws") as unknown as AwsSimControls;
    // ListAccounts and two GetRoleCredentials succeed; the token is dead after that.
    controls.expireSsoTokenAfter(3);
    try {
      const r = await run(ssoOptions({ concurrency: 1 }));
      const read = new Set(r.records.map((x) => x.accountId));
      expect(read.size).toBe(2);
      const expired = r.errors.filter((e) => e.phase === "get-role-credentials");
      expect(expired).toHaveLength(sso.accounts.length - 2);
      for (const e of expired) {
        expect(e.code).toBe("UnauthorizedException");
        expect(e.message).toContain("aws sso login");
        expect(read.has(e.scope)).toBe(false);
      }
      expect(finalCounts(r)).toMatchObject({ accountsTotal: 4, accountsDone: 4, listingComplete: true });
      for (const rec of r.records)
        expect(actual([rec])).toEqual(
          expectedOrg(aws, { accounts: [rec.accountId] }).filter((e) => e.instanceId === rec.instanceId),
        );
    } finally {
      controls.expireSsoTokenAfter(Number.POSITIVE_INFINITY);
    }
  });

  it("reports a token that is already expired as a list-accounts failure", async () => {
    const controls = sim.service("aws") as unknown as AwsSimControls;
    controls.setSsoTokenExpiry(new Date(Date.now() - 60_000));
    try {
      const r = await run(ssoOptions());
      expect(r.records).toEqual([]);
      expect(r.errors.map((e) => [e.scope, e.phase, e.code])).toEqual([
        ["sso", "list-accounts", "UnauthorizedException"],
      ]);
    } finally {
      controls.setSsoTokenExpiry(null);
    }
  });
});

describe("listEc2Ips with a shard", () => {
  it.each([1, 3, 7])(
    "the union of %i shards equals the unsharded run, each account read by exactly one shard",
    async (n) => {
      const whole = await run(orgOptions(sim));
      const union: Ec2InstanceRecord[] = [];
      const unionErrors: string[] = [];
      const covered: string[] = [];
      for (let index = 0; index < n; index++) {
        sim.resetStats();
        const part = await run(orgOptions(sim, { shard: { index, count: n } }));
        for (const rec of part.records) expect(shardOf(rec.accountId, n)).toBe(index);
        union.push(...part.records);
        unionErrors.push(...part.errors.map((e) => `${e.scope}:${e.phase}:${e.code}`));
        const listed = part.events.flatMap((e) => (e.type === "account-listed" ? [e.accountId] : []));
        for (const id of listed) expect(shardOf(id, n)).toBe(index);
        covered.push(...listed);
        // Every shard lists the whole Organization, and reads only its own accounts.
        const c = finalCounts(part);
        expect(c.accountsListed).toBe(aws.accounts?.length);
        expect(c.accountsOtherShards + c.accountsTotal + c.accountsSkipped).toBe(aws.accounts?.length);
        const readAccounts = new Set(
          sim.requestLog.flatMap((e) =>
            e.operation.startsWith("ec2:") && e.principal ? [e.principal.split("/")[0]] : [],
          ),
        );
        for (const id of readAccounts) expect(shardOf(id as string, n)).toBe(index);
      }
      expect(actual(union)).toEqual(actual(whole.records));
      expect(actual(union)).toEqual(expectedOrg(aws));
      expect(unionErrors.sort()).toEqual(whole.errors.map((e) => `${e.scope}:${e.phase}:${e.code}`).sort());
      expect(covered.sort()).toEqual((aws.accounts ?? []).map((a) => a.Id).sort());
    },
  );
});
