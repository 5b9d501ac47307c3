import {
  DescribeInstancesCommand,
  DescribeRegionsCommand,
  EC2Client,
  type Instance,
  paginateDescribeInstances,
} from "@aws-sdk/client-ec2";
import {
  DescribeOrganizationCommand,
  ListAccountsCommand,
  OrganizationsClient,
  paginateListAccounts,
} from "@aws-sdk/client-organizations";
import {
  GetRoleCredentialsCommand,
  ListAccountRolesCommand,
  ListAccountsCommand as SsoListAccountsCommand,
  SSOClient,
} from "@aws-sdk/client-sso";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findDatasetProblems, generateDataset } from "../src/index.js";
import { type Simulator, startSimulator } from "../src/server.js";
import type { AwsDataset, AwsInstance, AwsSimService } from "../src/services/aws/index.js";

const generated = generateDataset({ scale: "small", seed: 7, services: ["aws"] });
/** The small dataset plus the failures these tests need: a role that cannot be assumed, an SCP-denied region. */
const aws: AwsDataset = {
  ...(generated.aws as AwsDataset),
  assumeRoleDenied: ["333333333333"],
  regionsDenied: { "555555555555": ["eu-central-1"] },
};
const dataset = { aws };
const PROD = "222222222222";
const DENIED = "333333333333";
const MGMT = "111111111111";

let sim: Simulator;
let env: Record<string, string>;
const creds = () => ({
  accessKeyId: env.AWS_ACCESS_KEY_ID as string,
  secretAccessKey: env.AWS_SECRET_ACCESS_KEY as string,
});

beforeAll(async () => {
  sim = await startSimulator({ dataset, services: ["aws"] });
  env = sim.environment();
});
afterAll(() => sim.close());

function ec2(region: string, credentials = creds()) {
  return new EC2Client({ region, endpoint: env.AWS_ENDPOINT_URL, credentials, maxAttempts: 1 });
}
function sts(region = "us-east-1", credentials = creds()) {
  return new STSClient({ region, endpoint: env.AWS_ENDPOINT_URL, credentials, maxAttempts: 1 });
}

async function assume(account: string) {
  const out = await sts("eu-west-1").send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${account}:role/OrganizationAccountAccessRole`,
      RoleSessionName: "test",
    }),
  );
  const c = out.Credentials;
  return {
    accessKeyId: c?.AccessKeyId as string,
    secretAccessKey: c?.SecretAccessKey as string,
    sessionToken: c?.SessionToken as string,
  };
}

async function failure(
  p: Promise<unknown>,
): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: err.name, status: err.$metadata?.httpStatusCode, message: err.message };
  }
  throw new Error("expected a failure");
}

/** What the SDK should parse back from the simulator's XML: the dataset instance, dates as Dates. */
function expectedSdkShape(i: AwsInstance): Instance {
  const copy = structuredClone(i) as unknown as Record<string, unknown>;
  if (i.LaunchTime) copy.LaunchTime = new Date(i.LaunchTime);
  return copy as Instance;
}

describe("aws dataset", () => {
  it("generates small and large datasets without problems", () => {
    expect(findDatasetProblems(dataset)).toEqual([]);
    // `--simulate` runs end cleanly: nothing in the small dataset fails.
    const small = generated.aws as AwsDataset;
    expect([small.assumeRoleDenied, small.regionsDenied, small.describeRegionsDenied]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    expect(findDatasetProblems({ aws: {} })).toEqual([]);
    const large = generateDataset({ scale: "large", seed: 1, services: ["aws"] });
    expect(findDatasetProblems(large)).toEqual([]);
    const l = large.aws as AwsDataset;
    expect(l.accounts).toHaveLength(300);
    const all = Object.values(l.instances ?? {}).flatMap((r) => Object.values(r).flat());
    expect(all).toHaveLength(30_000);
    expect(l.assumeRoleDenied).toHaveLength(6);
    expect(Object.values(l.enabledRegions ?? {}).every((r) => r.length === 17)).toBe(true);
    const pages = Object.values(l.instances ?? {}).flatMap((r) =>
      Object.values(r).map((list) => Math.ceil(list.length / 1000)),
    );
    expect(pages.filter((p) => p > 1).length).toBeGreaterThanOrEqual(3);
    const names = new Set(all.map((i) => i.Tags?.find((t) => t.Key === "Name")?.Value?.replace(/-\d+$/, "")));
    for (const kind of ["multi-eni", "ipv6-only", "eip-on-secondary", "terminated", "prefixes", "stopped"]) {
      expect(names.has(kind)).toBe(true);
    }
  });

  it("rejects unknown keys and dangling account references with their JSON paths", () => {
    const bad = structuredClone(aws) as unknown as Record<string, unknown>;
    (bad.accounts as Array<Record<string, unknown>>)[1] = { ...(aws.accounts?.[1] as object), Color: "red" };
    expect(findDatasetProblems({ aws: bad })).toEqual([
      { path: "$.aws.accounts[1].Color", message: "is not a known key" },
    ]);
    const dangling = { ...aws, assumeRoleDenied: ["999999999999"] };
    expect(findDatasetProblems({ aws: dangling })).toEqual([
      {
        path: "$.aws.assumeRoleDenied[0]",
        message: "names account 999999999999, which is not in $.aws.accounts",
      },
    ]);
    const disabled = structuredClone(aws);
    (disabled.instances as Record<string, Record<string, AwsInstance[]>>)[MGMT] = { "af-south-1": [] };
    expect(findDatasetProblems({ aws: disabled })).toEqual([
      {
        path: '$.aws.instances["111111111111"]["af-south-1"]',
        message: "region af-south-1 is not enabled in account 111111111111",
      },
    ]);
  });
});

describe("aws simulator with the real SDK", () => {
  it("exports sim credentials and one endpoint", () => {
    expect(env.AWS_ENDPOINT_URL).toBe(sim.httpUrl);
    expect(env.AWS_ACCESS_KEY_ID).toMatch(/^AKIASIM\d{12}0$/);
    expect(env.AWS_SECRET_ACCESS_KEY).toContain("sim");
    expect(env.AWS_REGION).toBe("us-east-1");
  });

  it("STS GetCallerIdentity names the management account; AssumeRole credentials read the member account", async () => {
    const me = await sts().send(new GetCallerIdentityCommand({}));
    expect(me.Account).toBe(MGMT);
    const member = await assume(PROD);
    expect(member.accessKeyId).toMatch(/^ASIA/);
    const who = await sts("eu-west-1", member).send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toBe(`arn:aws:sts::${PROD}:assumed-role/OrganizationAccountAccessRole/test`);
    const out = await ec2("eu-west-1", member).send(new DescribeInstancesCommand({ MaxResults: 1000 }));
    const got = (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
    const want = aws.instances?.[PROD]?.["eu-west-1"] ?? [];
    expect(got).toEqual(want.map(expectedSdkShape));
    expect(out.NextToken).toBeUndefined();
    expect(out.Reservations?.[0]?.OwnerId).toBe(PROD);
  });

  it("STS answers AccessDenied for denied accounts and for the management account's own role", async () => {
    for (const account of [DENIED, MGMT, "444444444444"]) {
      const f = await failure(
        sts().send(
          new AssumeRoleCommand({
            RoleArn: `arn:aws:iam::${account}:role/OrganizationAccountAccessRole`,
            RoleSessionName: "x1",
          }),
        ),
      );
      expect(f).toMatchObject({ name: "AccessDenied", status: 403 });
      expect(f.message).toContain(
        `sts:AssumeRole on resource: arn:aws:iam::${account}:role/OrganizationAccountAccessRole`,
      );
    }
    const wrongRole = await failure(
      sts().send(
        new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${PROD}:role/Other`, RoleSessionName: "x1" }),
      ),
    );
    expect(wrongRole.name).toBe("AccessDenied");
    const counts = (sim.service("aws") as AwsSimService).assumeRoleCounts();
    expect(counts[DENIED]).toBeGreaterThanOrEqual(1);
  });

  it("DescribeRegions lists enabled regions only, or all with opt-in status", async () => {
    const member = await assume(PROD);
    const enabled = await ec2("us-east-1", member).send(new DescribeRegionsCommand({}));
    expect(enabled.Regions?.map((r) => r.RegionName).sort()).toEqual(
      [...(aws.enabledRegions?.[PROD] ?? [])].sort(),
    );
    const all = await ec2("us-east-1", member).send(new DescribeRegionsCommand({ AllRegions: true }));
    expect(all.Regions).toHaveLength(21);
    const status = Object.fromEntries((all.Regions ?? []).map((r) => [r.RegionName, r.OptInStatus]));
    expect(status["us-east-1"]).toBe("opt-in-not-required");
    expect(status["af-south-1"]).toBe("opted-in");
    expect(status["me-south-1"]).toBe("not-opted-in");
    expect(all.Regions?.find((r) => r.RegionName === "eu-west-1")?.Endpoint).toBe(
      "ec2.eu-west-1.amazonaws.com",
    );
  });

  it("answers AuthFailure (401) in a region that is not enabled", async () => {
    const f = await failure(ec2("me-south-1").send(new DescribeInstancesCommand({ MaxResults: 5 })));
    expect(f).toMatchObject({ name: "AuthFailure", status: 401 });
  });

  it("pages DescribeInstances with MaxResults/NextToken and filters by state", async () => {
    const member = await assume(PROD);
    const client = ec2("us-east-1", member);
    const pages: number[] = [];
    const ids: string[] = [];
    for await (const page of paginateDescribeInstances({ client, pageSize: 5 }, {})) {
      const list = (page.Reservations ?? []).flatMap((r) => r.Instances ?? []);
      pages.push(list.length);
      ids.push(...list.map((i) => i.InstanceId as string));
    }
    const want = aws.instances?.[PROD]?.["us-east-1"] ?? [];
    expect(pages).toEqual([5, 5, 2]);
    expect(ids).toEqual(want.map((i) => i.InstanceId));
    const running = await client.send(
      new DescribeInstancesCommand({
        MaxResults: 1000,
        Filters: [{ Name: "instance-state-name", Values: ["running"] }],
      }),
    );
    const runIds = (running.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId);
    expect(runIds).toEqual(want.filter((i) => i.State.Name === "running").map((i) => i.InstanceId));
    const bad = await failure(client.send(new DescribeInstancesCommand({ MaxResults: 2000 })));
    expect(bad).toMatchObject({ name: "InvalidParameterValue", status: 400 });
  });

  it("answers UnauthorizedOperation in a region an SCP denies", async () => {
    const member = await assume("555555555555");
    const f = await failure(
      ec2("eu-central-1", member).send(new DescribeInstancesCommand({ MaxResults: 5 })),
    );
    expect(f).toMatchObject({ name: "UnauthorizedOperation", status: 403 });
  });

  it("throttles per account, region and action with RequestLimitExceeded (503)", async () => {
    const local = await startSimulator({ dataset, services: ["aws"] });
    try {
      const service = local.service("aws") as AwsSimService;
      service.limits = {
        ec2: { burst: 3, perSecond: 0.001 },
        ec2Unpaginated: { burst: 2, perSecond: 0.001 },
      };
      const e = local.environment();
      const client = new EC2Client({
        region: "eu-west-1",
        endpoint: e.AWS_ENDPOINT_URL,
        credentials: {
          accessKeyId: e.AWS_ACCESS_KEY_ID as string,
          secretAccessKey: e.AWS_SECRET_ACCESS_KEY as string,
        },
        maxAttempts: 1,
      });
      for (let i = 0; i < 3; i++) await client.send(new DescribeInstancesCommand({ MaxResults: 5 }));
      const f = await failure(client.send(new DescribeInstancesCommand({ MaxResults: 5 })));
      expect(f).toMatchObject({ name: "RequestLimitExceeded", status: 503 });
      // Other action, other bucket; unpaginated calls have their own, smaller bucket.
      await client.send(new DescribeRegionsCommand({}));
      await client.send(new DescribeInstancesCommand({}));
      await client.send(new DescribeInstancesCommand({}));
      expect((await failure(client.send(new DescribeInstancesCommand({})))).name).toBe(
        "RequestLimitExceeded",
      );
      // Other region, other bucket.
      const other = new EC2Client({
        region: "us-east-1",
        endpoint: e.AWS_ENDPOINT_URL,
        credentials: {
          accessKeyId: e.AWS_ACCESS_KEY_ID as string,
          secretAccessKey: e.AWS_SECRET_ACCESS_KEY as string,
        },
        maxAttempts: 1,
      });
      await other.send(new DescribeInstancesCommand({ MaxResults: 5 }));
      expect(local.stats().throttled).toBe(2);
    } finally {
      await local.close();
    }
  });

  it("Organizations ListAccounts pages of up to 20, empty pages with a NextToken, management only", async () => {
    const many = generateDataset({ scale: "large", seed: 3, services: ["aws"] });
    const local = await startSimulator({ dataset: many, services: ["aws"], faults: { emptyPageRate: 0.3 } });
    try {
      const e = local.environment();
      const org = new OrganizationsClient({
        region: "us-east-1",
        endpoint: e.AWS_ENDPOINT_URL,
        credentials: {
          accessKeyId: e.AWS_ACCESS_KEY_ID as string,
          secretAccessKey: e.AWS_SECRET_ACCESS_KEY as string,
        },
      });
      const sizes: number[] = [];
      const ids: string[] = [];
      for await (const page of paginateListAccounts({ client: org }, {})) {
        sizes.push(page.Accounts?.length ?? 0);
        ids.push(...(page.Accounts ?? []).map((a) => a.Id as string));
      }
      expect(ids).toEqual(((many.aws as AwsDataset).accounts ?? []).map((a) => a.Id));
      expect(Math.max(...sizes)).toBe(20);
      expect(sizes.filter((s) => s === 0).length).toBeGreaterThan(0);
      expect(local.stats().events.emptyPages).toBe(sizes.filter((s) => s === 0).length);
      const first = await org.send(new ListAccountsCommand({ MaxResults: 20 }));
      expect(first.NextToken).toBeTypeOf("string");
      const acct = (await org.send(new ListAccountsCommand({}))).Accounts?.find((a) => a.State === "ACTIVE");
      expect(acct?.JoinedTimestamp).toBeInstanceOf(Date);
      const described = await org.send(new DescribeOrganizationCommand({}));
      expect(described.Organization?.MasterAccountId).toBe((many.aws as AwsDataset).managementAccountId);
    } finally {
      await local.close();
    }
    const member = await assume(PROD);
    const org = new OrganizationsClient({
      region: "us-east-1",
      endpoint: env.AWS_ENDPOINT_URL,
      credentials: member,
      maxAttempts: 1,
    });
    expect(await failure(org.send(new ListAccountsCommand({})))).toMatchObject({
      name: "AccessDeniedException",
      status: 400,
    });
  });

  it("SSO portal lists accounts and roles, mints working credentials, and answers 401 once the token expired", async () => {
    const token = aws.sso?.accessToken as string;
    const sso = new SSOClient({ region: "eu-west-1", endpoint: env.AWS_ENDPOINT_URL, maxAttempts: 1 });
    const accounts = await sso.send(new SsoListAccountsCommand({ accessToken: token, maxResults: 2 }));
    expect(accounts.accountList?.map((a) => a.accountId)).toEqual([MGMT, PROD]);
    expect(accounts.accountList?.[1]?.accountName).toBe("prod");
    expect(accounts.nextToken).toBeTypeOf("string");
    const rest = await sso.send(
      new SsoListAccountsCommand({ accessToken: token, nextToken: accounts.nextToken }),
    );
    expect(rest.accountList?.map((a) => a.accountId)).toEqual(["555555555555", "666666666666"]);
    const roles = await sso.send(
      new ListAccountRolesCommand({ accessToken: token, accountId: "666666666666" }),
    );
    expect(roles.roleList?.map((r) => r.roleName)).toEqual(["ReadOnly", "Admin"]);
    const rc = await sso.send(
      new GetRoleCredentialsCommand({ accessToken: token, accountId: PROD, roleName: "ReadOnly" }),
    );
    expect(rc.roleCredentials?.expiration).toBeGreaterThan(Date.now());
    const member = {
      accessKeyId: rc.roleCredentials?.accessKeyId as string,
      secretAccessKey: rc.roleCredentials?.secretAccessKey as string,
      sessionToken: rc.roleCredentials?.sessionToken as string,
    };
    const out = await ec2("eu-west-1", member).send(new DescribeInstancesCommand({ MaxResults: 1000 }));
    expect(out.Reservations?.length).toBe(aws.instances?.[PROD]?.["eu-west-1"]?.length);
    const noRole = await failure(
      sso.send(new GetRoleCredentialsCommand({ accessToken: token, accountId: PROD, roleName: "Admin" })),
    );
    expect(noRole).toMatchObject({ name: "ForbiddenException", status: 403 });
    const wrong = await failure(sso.send(new SsoListAccountsCommand({ accessToken: "nope" })));
    expect(wrong).toMatchObject({ name: "UnauthorizedException", status: 401 });
    const service = sim.service("aws") as AwsSimService;
    service.setSsoTokenExpiry(new Date(Date.now() - 1000));
    try {
      const expired = await failure(sso.send(new SsoListAccountsCommand({ accessToken: token })));
      expect(expired).toMatchObject({ name: "UnauthorizedException", status: 401 });
    } finally {
      service.setSsoTokenExpiry(null);
    }
    service.expireSsoTokenAfter(1);
    try {
      await sso.send(new SsoListAccountsCommand({ accessToken: token }));
      expect((await failure(sso.send(new SsoListAccountsCommand({ accessToken: token })))).status).toBe(401);
    } finally {
      service.expireSsoTokenAfter(Number.POSITIVE_INFINITY);
    }
  });

  it("SSO-OIDC CreateToken refreshes with the dataset's grant, rotates the refresh token, and refuses in its own error shape", async () => {
    const grant = aws.sso as Required<NonNullable<AwsDataset["sso"]>>;
    const service = sim.service("aws") as AwsSimService;
    service.ssoLogin(new Date(Date.now() - 1000));
    const createToken = async (body: Record<string, unknown>) => {
      const res = await fetch(`${env.AWS_ENDPOINT_URL}/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return {
        status: res.status,
        type: res.headers.get("x-amzn-errortype"),
        body: (await res.json()) as Record<string, unknown>,
      };
    };
    const request = {
      clientId: grant.clientId,
      clientSecret: grant.clientSecret,
      grantType: "refresh_token",
      refreshToken: grant.refreshToken,
    };
    const sso = new SSOClient({ region: "eu-west-1", endpoint: env.AWS_ENDPOINT_URL, maxAttempts: 1 });
    try {
      // The signed-in token has expired; a refresh gives a working one and a new refresh token.
      expect(
        (await failure(sso.send(new SsoListAccountsCommand({ accessToken: grant.accessToken })))).status,
      ).toBe(401);
      const ok = await createToken(request);
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ tokenType: "Bearer", expiresIn: 3600 });
      expect(ok.body.refreshToken).not.toBe(grant.refreshToken);
      const listed = await sso.send(
        new SsoListAccountsCommand({ accessToken: ok.body.accessToken as string }),
      );
      expect(listed.accountList?.length).toBe(grant.accounts.length);
      // The old refresh token was replaced; a wrong secret is the client's fault.
      expect(await createToken(request)).toMatchObject({
        status: 400,
        type: "InvalidGrantException",
        body: { error: "invalid_grant" },
      });
      expect(
        await createToken({ ...request, refreshToken: ok.body.refreshToken, clientSecret: "x" }),
      ).toMatchObject({
        status: 401,
        type: "InvalidClientException",
      });
      expect(await createToken({ ...request, grantType: "authorization_code" })).toMatchObject({
        status: 400,
        type: "UnsupportedGrantTypeException",
      });
      // Switches: refused whatever is sent; no rotation.
      service.ssoRefresh = { refuse: "invalid_client", lifetimeSeconds: 3600, rotate: true };
      expect((await createToken({ ...request, refreshToken: ok.body.refreshToken })).type).toBe(
        "InvalidClientException",
      );
      service.ssoRefresh = { refuse: null, lifetimeSeconds: 60, rotate: false };
      const kept = await createToken({ ...request, refreshToken: ok.body.refreshToken });
      expect(kept.body).toMatchObject({ expiresIn: 60 });
      expect(kept.body.refreshToken).toBeUndefined();
      expect((await createToken({ ...request, refreshToken: ok.body.refreshToken })).status).toBe(200);
    } finally {
      service.ssoRefresh = { refuse: null, lifetimeSeconds: 3600, rotate: true };
      service.ssoLogin(null);
    }
    // The grant's three fields go together.
    const { clientSecret: _omit, ...partial } = grant;
    expect(findDatasetProblems({ aws: { ...aws, sso: partial } })).toEqual([
      expect.objectContaining({ path: "$.aws.sso", message: expect.stringContaining("all three or none") }),
    ]);
  });

  it("injected faults come back in each protocol's own shapes", async () => {
    const local = await startSimulator({ dataset, services: ["aws"], faults: { throttleRate: 1 } });
    try {
      const e = local.environment();
      const c = {
        accessKeyId: e.AWS_ACCESS_KEY_ID as string,
        secretAccessKey: e.AWS_SECRET_ACCESS_KEY as string,
      };
      const base = { region: "us-east-1", endpoint: e.AWS_ENDPOINT_URL, credentials: c, maxAttempts: 1 };
      expect(await failure(new EC2Client(base).send(new DescribeRegionsCommand({})))).toMatchObject({
        name: "RequestLimitExceeded",
        status: 503,
      });
      expect(await failure(new STSClient(base).send(new GetCallerIdentityCommand({})))).toMatchObject({
        name: "Throttling",
        status: 400,
      });
      expect(await failure(new OrganizationsClient(base).send(new ListAccountsCommand({})))).toMatchObject({
        name: "TooManyRequestsException",
        status: 400,
      });
      local.setFaults({ throttleRate: 0, errorRate: 1 });
      expect(await failure(new EC2Client(base).send(new DescribeRegionsCommand({})))).toMatchObject({
        status: 503,
      });
      expect(await failure(new STSClient(base).send(new GetCallerIdentityCommand({})))).toMatchObject({
        name: "InternalFailure",
        status: 500,
      });
    } finally {
      await local.close();
    }
  });
});
