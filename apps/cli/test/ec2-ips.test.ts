import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  type AwsDataset,
  type Simulator,
  generateDataset,
  resolveTestNamesToLoopback,
  startSimulator,
} from "@cloudadmin/cloud-sim";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { shardOf } from "@cloudadmin/paging";
import { runCli } from "./helpers.js";

const exec = promisify(execFile);
const bin = new URL("../bin/cloudadmin.js", import.meta.url).pathname;

/** What `--simulate` generates (scale small, seed 1). */
const generated = generateDataset({ scale: "small", seed: 1, services: ["aws"] }).aws as AwsDataset;
/** The same plus one role that cannot be assumed and one SCP-denied region. */
const aws: AwsDataset = {
  ...generated,
  assumeRoleDenied: ["333333333333"],
  regionsDenied: { "555555555555": ["eu-central-1"] },
};
const dataset = { aws };
const DENIED = "333333333333";
const PARTNER = "555555555555";

interface Doc {
  command: string;
  items: Array<{
    accountId: string;
    region: string;
    instanceId: string;
    privateIps: string[];
    publicIps: string[];
  }>;
  errors: Array<{ scope: string; phase: string; code: string; message: string }>;
  summary: Record<string, number | string | string[]>;
}

/** Instance ids a full org-mode run must list: ACTIVE accounts whose role can be assumed, minus denied regions. */
function expectedIds(accounts?: string[], data: AwsDataset = aws): string[] {
  const ids: string[] = [];
  for (const a of data.accounts ?? []) {
    if (a.State !== "ACTIVE" || (a.Id !== data.managementAccountId && data.assumeRoleDenied?.includes(a.Id)))
      continue;
    if (accounts && !accounts.includes(a.Id)) continue;
    for (const [region, list] of Object.entries(data.instances?.[a.Id] ?? {})) {
      if (data.regionsDenied?.[a.Id]?.includes(region)) continue;
      ids.push(...list.map((i) => i.InstanceId));
    }
  }
  return ids.sort();
}

let sim: Simulator;
let home: string;
const saved = { HOME: process.env.HOME, AWS_EC2_METADATA_DISABLED: process.env.AWS_EC2_METADATA_DISABLED };
beforeAll(async () => {
  sim = await startSimulator({ dataset, services: ["aws"] });
  home = await mkdtemp(join(tmpdir(), "ec2-ips-cli-"));
  // The SDK reads the SSO token cache under the process's own home directory (as the AWS CLI
  // does), and its default chain would ask the instance metadata service: neither may leave the
  // test's temp folder or loopback. Restored after the file (vitest runs each file in its own worker).
  process.env.HOME = home;
  process.env.AWS_EC2_METADATA_DISABLED = "true";
});
afterAll(async () => {
  await sim.close();
  await rm(home, { recursive: true, force: true });
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

/** Only AWS_* variables, each service through its own AWS_ENDPOINT_URL_<SERVICE>; the generic one leads nowhere. */
function awsEnv(extra: Record<string, string> = {}): Record<string, string> {
  const e = sim.environment();
  return {
    AWS_ACCESS_KEY_ID: e.AWS_ACCESS_KEY_ID as string,
    AWS_SECRET_ACCESS_KEY: e.AWS_SECRET_ACCESS_KEY as string,
    AWS_REGION: "eu-west-1",
    AWS_ENDPOINT_URL: "http://127.0.0.1:9",
    AWS_ENDPOINT_URL_EC2: sim.httpUrl,
    AWS_ENDPOINT_URL_STS: sim.httpUrl,
    AWS_ENDPOINT_URL_ORGANIZATIONS: sim.httpUrl,
    AWS_ENDPOINT_URL_SSO: sim.httpUrl,
    HOME: home,
    ...extra,
  };
}

describe("cloudadmin ec2-ips", () => {
  it("--simulate -o json lists the ground truth and exits 0", async () => {
    const r = await runCli(["ec2-ips", "--simulate", "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(doc.command).toBe("ec2-ips");
    expect(doc.items.map((i) => i.instanceId).sort()).toEqual(expectedIds(undefined, generated));
    expect(doc.errors).toEqual([]);
    expect(doc.summary).toMatchObject({
      accounts: 5,
      accountsSkippedNotActive: 1,
      accountsFailed: 0,
      instances: doc.items.length,
    });
  });

  it("reports the failed scopes and exits 5 with the other accounts' records (--sim-dataset)", async () => {
    const file = join(home, "failing-dataset.json");
    await writeFile(file, JSON.stringify(dataset));
    const r = await runCli(["ec2-ips", "--simulate", "--sim-dataset", file, "-o", "json"]);
    expect(r.code).toBe(5);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(doc.items.map((i) => i.instanceId).sort()).toEqual(expectedIds());
    expect(doc.errors.map((e) => [e.scope, e.phase, e.code]).sort()).toEqual([
      [DENIED, "assume-role", "AccessDenied"],
      [`${PARTNER}/eu-central-1`, "describe-instances", "UnauthorizedOperation"],
    ]);
    expect(doc.summary).toMatchObject({
      accounts: 5,
      accountsSkippedNotActive: 1,
      accountsFailed: 2,
      instances: doc.items.length,
    });
    expect(r.stderr).toContain(
      "cloudadmin: ec2-ips: error: AssumeRole denied or failed in 1 account (AccessDenied); DescribeInstances failed in 1 region (UnauthorizedOperation); see errors[] or rerun with -v",
    );
    expect(r.stderr).not.toContain(sim.environment().AWS_SECRET_ACCESS_KEY);
  });

  it("-o csv joins IP lists with ';' and --accounts/--regions/--state narrow the scope", async () => {
    const prod = "222222222222";
    const r = await runCli([
      "-o",
      "csv",
      "ec2-ips",
      "--simulate",
      "--accounts",
      prod,
      "--regions",
      "eu-west-1",
      "--state",
      "stopped",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe(
      "accountId,accountName,region,instanceId,instanceType,state,name,privateIps,publicIps,ipv6Ips",
    );
    const want = (generated.instances?.[prod]?.["eu-west-1"] ?? []).filter((i) => i.State.Name === "stopped");
    expect(lines).toHaveLength(want.length + 1);
    const multi = want.find((i) => (i.NetworkInterfaces?.[0]?.PrivateIpAddresses.length ?? 0) > 1);
    const row = lines.find((l) => multi && l.includes(multi.InstanceId));
    expect(row).toContain(
      multi?.NetworkInterfaces?.[0]?.PrivateIpAddresses.map((p) => p.PrivateIpAddress).join(";"),
    );
  });

  it("reaches every service through AWS_ENDPOINT_URL_<SERVICE> and the AWS_* credentials alone", async () => {
    sim.resetStats();
    const r = await runCli(["ec2-ips", "-o", "json", "--no-progress"], { env: awsEnv() });
    expect(r.code).toBe(5);
    expect((JSON.parse(r.stdout) as Doc).items.map((i) => i.instanceId).sort()).toEqual(expectedIds());
    const ops = sim.stats().byOperation;
    expect(ops["aws:organizations:ListAccounts"]).toBeGreaterThan(0);
    expect(ops["aws:sts:GetCallerIdentity"]).toBe(1);
    expect(ops["aws:sts:AssumeRole"]).toBe(4);
    expect(ops["aws:ec2:DescribeRegions"]).toBe(4);
    // The home region comes from AWS_REGION: regional STS and DescribeRegions are called there.
    expect(
      sim.requestLog
        .filter((e) => e.operation === "sts:AssumeRole")
        .every((e) => e.principal?.endsWith("/eu-west-1")),
    ).toBe(true);
  });

  it("refuses plain http to a non-loopback endpoint with exit 3 before any request", async () => {
    sim.resetStats();
    const r = await runCli(["ec2-ips", "-o", "json"], {
      env: awsEnv({ AWS_ENDPOINT_URL_EC2: "http://ec2.example.com" }),
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("AWS_ENDPOINT_URL_EC2");
    expect(r.stdout).toBe("");
    expect(sim.stats().total).toBe(0);
  });

  it("--shard i/n reads only that shard's accounts and records shard and scopes in the document", async () => {
    const n = 3;
    const ids: string[] = [];
    const scopes: string[] = [];
    for (let index = 0; index < n; index++) {
      const r = await runCli(["ec2-ips", "--simulate", "--shard", `${index}/${n}`, "-o", "json"]);
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout) as Doc & { shard: { index: number; count: number }; scopes: string[] };
      expect(doc.shard).toEqual({ index, count: n });
      for (const id of doc.scopes) expect(shardOf(id, n)).toBe(index);
      for (const item of doc.items) expect(doc.scopes).toContain(item.accountId);
      expect(doc.summary.scopesListed).toEqual((generated.accounts ?? []).map((a) => a.Id).sort());
      ids.push(...doc.items.map((i) => i.instanceId));
      scopes.push(...doc.scopes);
    }
    expect(ids.sort()).toEqual(expectedIds(undefined, generated));
    expect(scopes.sort()).toEqual((generated.accounts ?? []).map((a) => a.Id).sort());
    // An unsharded document has neither field.
    const whole = JSON.parse((await runCli(["ec2-ips", "--simulate", "-o", "json"])).stdout) as Record<
      string,
      unknown
    >;
    expect(whole.shard).toBeUndefined();
    expect(whole.scopes).toBeUndefined();
  });

  it("rejects bad flags with exit 2", async () => {
    expect((await runCli(["ec2-ips", "--simulate", "--shard", "3/3"])).code).toBe(2);
    expect((await runCli(["ec2-ips", "--simulate", "--shard", "-1/2"])).code).toBe(2);
    expect((await runCli(["ec2-ips", "--simulate", "--accounts", "12"])).code).toBe(2);
    expect((await runCli(["ec2-ips", "--simulate", "--org", "--sso"])).code).toBe(2);
    expect((await runCli(["ec2-ips", "--simulate", "--state", "sleeping"])).code).toBe(2);
  });
});

/** A loopback listener that counts what reaches it and answers with `reply`. */
async function listen(
  reply: (req: IncomingMessage, res: ServerResponse) => void = (_q, res) => res.end(),
): Promise<{ server: Server; port: number; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    reply(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port, hits: () => hits };
}

describe("cloudadmin ec2-ips: endpoints, credentials and secrets from hostile configuration", () => {
  let restoreResolver: () => void = () => {};
  // Test-only resolver: *.example.test is the loopback listener; other names fail (nothing leaves).
  beforeAll(() => {
    restoreResolver = resolveTestNamesToLoopback();
  });
  afterAll(() => restoreResolver());

  it("refuses a plain-http endpoint_url in the profile (exit 3, one line) and sends nothing", async () => {
    const l = await listen();
    try {
      const config = join(home, "evil-config");
      await writeFile(
        config,
        `[profile evil]\nregion = eu-west-1\nendpoint_url = http://aws.example.test:${l.port}\n`,
      );
      const {
        AWS_ENDPOINT_URL: _g,
        AWS_ENDPOINT_URL_EC2: _e,
        AWS_ENDPOINT_URL_STS: _s,
        AWS_ENDPOINT_URL_ORGANIZATIONS: _o,
        AWS_ENDPOINT_URL_SSO: _p,
        ...env
      } = awsEnv({ AWS_CONFIG_FILE: config });
      const r = await runCli(["ec2-ips", "--profile", "evil", "-o", "json"], { env });
      expect(r.code, r.stderr).toBe(3);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")[0]).toContain(
        `endpoint_url of the profile in the AWS config file http://aws.example.test:${l.port}`,
      );
      // The same profile through the services section, for one service.
      await writeFile(
        config,
        `[profile evil]\nservices = evil\n[services evil]\norganizations =\n  endpoint_url = http://org.example.test:${l.port}\n`,
      );
      const r2 = await runCli(["ec2-ips", "--profile", "evil"], { env });
      expect(r2.code).toBe(3);
      expect(r2.stderr).toContain("endpoint_url of organizations in [services evil]");
      expect(l.hits()).toBe(0);
    } finally {
      l.server.close();
    }
  });

  it("never prints the session token, even when a server echoes the request's headers in its error", async () => {
    const token = "IQoJb3JpZ2luX2VjEHYaCXVzLWVhc3QtMSJHMEUCIQDtestSessionTokenValue0123456789";
    const l = await listen((req, res) => {
      const headers = JSON.stringify(req.headers);
      if (req.headers["x-amz-target"]) {
        res.writeHead(400, {
          "content-type": "application/x-amz-json-1.1",
          "x-amzn-errortype": "UnrecognizedClientException",
        });
        res.end(
          JSON.stringify({ __type: "UnrecognizedClientException", message: `bad request: ${headers}` }),
        );
      } else {
        res.writeHead(403, { "content-type": "text/xml" });
        res.end(
          `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>bad request: ${headers.replace(/[<>&]/g, "")}</Message></Error><RequestId>1</RequestId></ErrorResponse>`,
        );
      }
    });
    try {
      const url = `http://127.0.0.1:${l.port}`;
      const r = await runCli(["ec2-ips", "-v", "-o", "json", "--max-retries", "0"], {
        env: awsEnv({
          AWS_SESSION_TOKEN: token,
          AWS_ENDPOINT_URL_STS: url,
          AWS_ENDPOINT_URL_ORGANIZATIONS: url,
        }),
      });
      expect(l.hits()).toBeGreaterThan(0);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain("x-amz-security-token");
      expect(`${r.stdout}${r.stderr}`).not.toContain(token);
      expect(`${r.stdout}${r.stderr}`).not.toContain(sim.environment().AWS_SECRET_ACCESS_KEY);
    } finally {
      l.server.close();
    }
  });

  it("exits 3 for a well-formed region that does not exist (its endpoints' names do not resolve)", async () => {
    const {
      AWS_ENDPOINT_URL: _g,
      AWS_ENDPOINT_URL_EC2: _e,
      AWS_ENDPOINT_URL_STS: _s,
      AWS_ENDPOINT_URL_ORGANIZATIONS: _o,
      AWS_ENDPOINT_URL_SSO: _p,
      ...env
    } = awsEnv({ AWS_REGION: "xx-nowhere-1" });
    const r = await runCli(["ec2-ips", "--no-progress", "--max-retries", "0"], { env });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain("ENOTFOUND");
  });

  it("refuses a CR or LF in AWS_SESSION_TOKEN up front: exit 3, one line, no request", async () => {
    sim.resetStats();
    for (const bad of ["abc\r\nX-Injected: 1", "abc\ndef"]) {
      const r = await runCli(["ec2-ips", "--no-progress"], { env: awsEnv({ AWS_SESSION_TOKEN: bad }) });
      expect(r.code).toBe(3);
      expect(r.stderr.trim().split("\n")).toEqual([
        expect.stringContaining("AWS_SESSION_TOKEN holds a line break"),
      ]);
    }
    expect(sim.stats().total).toBe(0);
  });

  it("exits 3 (not 4) with no credentials at all, and with a region that is not a region", async () => {
    sim.resetStats();
    const { AWS_ACCESS_KEY_ID: _a, AWS_SECRET_ACCESS_KEY: _s, ...noKeys } = awsEnv();
    const none = await runCli(["ec2-ips", "--no-progress"], { env: noKeys });
    expect(none.code, none.stderr).toBe(3);
    expect(none.stderr.trim().split("\n")[0]).toContain("credentials");
    const bad = await runCli(["ec2-ips", "--no-progress"], { env: awsEnv({ AWS_REGION: "mars_central" }) });
    expect(bad.code, bad.stderr).toBe(3);
    expect(bad.stderr).toContain("is not an AWS region name");
    expect(sim.stats().total).toBe(0);
  });
});

describe("cloudadmin ec2-ips --sso", () => {
  const sso = aws.sso as NonNullable<AwsDataset["sso"]>;
  const controls = () =>
    sim.service("aws") as unknown as {
      expireSsoTokenAfter(n: number): void;
      ssoLogin(at: Date | null): void;
      ssoRefresh: {
        refuse: "invalid_grant" | "invalid_client" | null;
        lifetimeSeconds: number;
        rotate: boolean;
      };
    };

  async function ssoHome(expiresAt: string, withGrant = false): Promise<void> {
    await mkdir(join(home, ".aws", "sso", "cache"), { recursive: true });
    await writeFile(
      join(home, ".aws", "config"),
      "[profile corp]\nsso_session = corp\nsso_account_id = 222222222222\nsso_role_name = ReadOnly\nregion = eu-west-1\n\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\nsso_registration_scopes = sso:account:access\n",
    );
    const key = createHash("sha1").update("corp").digest("hex");
    await writeFile(
      join(home, ".aws", "sso", "cache", `${key}.json`),
      JSON.stringify({
        startUrl: "https://corp.awsapps.com/start",
        region: "eu-west-1",
        accessToken: sso.accessToken,
        expiresAt,
        ...(withGrant
          ? { refreshToken: sso.refreshToken, clientId: sso.clientId, clientSecret: sso.clientSecret }
          : {}),
      }),
    );
    controls().ssoLogin(new Date(expiresAt));
  }

  afterEach(() => {
    controls().ssoLogin(null);
  });

  function ssoEnv(): Record<string, string> {
    const e = awsEnv({ AWS_ENDPOINT_URL_SSO_OIDC: sim.httpUrl });
    const { AWS_ACCESS_KEY_ID: _a, AWS_SECRET_ACCESS_KEY: _s, ...rest } = e;
    return rest;
  }

  it("reads the token `aws sso login` cached under HOME and lists the user's accounts", async () => {
    await ssoHome(new Date(Date.now() + 3_600_000).toISOString());
    sim.resetStats();
    const r = await runCli(["ec2-ips", "--sso", "--profile", "corp", "-o", "json"], { env: ssoEnv() });
    expect(r.code).toBe(5);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(doc.items.map((i) => i.instanceId).sort()).toEqual(expectedIds(sso.accounts));
    expect(sim.stats().byOperation["aws:sso:GetRoleCredentials"]).toBe(sso.accounts.length);
    expect(sim.stats().byOperation["aws:sts:AssumeRole"]).toBeUndefined();
  });

  it("ends with a clean partial result (exit 5) when the token expires mid-run", async () => {
    await ssoHome(new Date(Date.now() + 3_600_000).toISOString());
    controls().expireSsoTokenAfter(2);
    try {
      const r = await runCli(["ec2-ips", "--sso", "--profile", "corp", "-o", "json", "--concurrency", "1"], {
        env: ssoEnv(),
      });
      expect(r.code).toBe(5);
      const doc = JSON.parse(r.stdout) as Doc;
      const read = new Set(doc.items.map((i) => i.accountId));
      expect(read.size).toBe(1);
      const expired = doc.errors.filter((e) => e.phase === "get-role-credentials");
      expect(expired).toHaveLength(sso.accounts.length - 1);
      expect(
        expired.every((e) => e.code === "UnauthorizedException" && e.message.includes("aws sso login")),
      ).toBe(true);
    } finally {
      controls().expireSsoTokenAfter(Number.POSITIVE_INFINITY);
    }
  });

  it("refreshes an expired sso_session token through SSO-OIDC CreateToken and updates the cache", async () => {
    await ssoHome("2020-01-01T00:00:00Z", true);
    sim.resetStats();
    const r = await runCli(["ec2-ips", "--sso", "--profile", "corp", "-o", "json"], { env: ssoEnv() });
    expect(r.code, r.stderr).toBe(5);
    expect((JSON.parse(r.stdout) as Doc).items.map((i) => i.instanceId).sort()).toEqual(
      expectedIds(sso.accounts),
    );
    expect(sim.stats().byOperation["aws:sso-oidc:CreateToken"]).toBe(1);
    const key = createHash("sha1").update("corp").digest("hex");
    const cache = JSON.parse(await readFile(join(home, ".aws", "sso", "cache", `${key}.json`), "utf8"));
    expect(cache.accessToken).not.toBe(sso.accessToken);
    expect(Date.parse(cache.expiresAt)).toBeGreaterThan(Date.now());
    expect(r.stdout + r.stderr).not.toContain(cache.accessToken);
  });

  it("exits 3 with one line naming `aws sso login --sso-session` when the refresh is refused", async () => {
    // fromSso tries one refresh per session per 30 s: a later session name starts afresh.
    await ssoHome("2020-01-01T00:00:00Z", true);
    await writeFile(
      join(home, ".aws", "config"),
      "[profile corp2]\nsso_session = corp2\nsso_role_name = ReadOnly\n\n[sso-session corp2]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n",
    );
    const from = join(
      home,
      ".aws",
      "sso",
      "cache",
      `${createHash("sha1").update("corp").digest("hex")}.json`,
    );
    const cache = JSON.parse(await readFile(from, "utf8"));
    await writeFile(
      join(home, ".aws", "sso", "cache", `${createHash("sha1").update("corp2").digest("hex")}.json`),
      JSON.stringify({
        ...cache,
        accessToken: sso.accessToken,
        expiresAt: "2020-01-01T00:00:00Z",
        refreshToken: sso.refreshToken,
      }),
    );
    controls().ssoLogin(new Date("2020-01-01T00:00:00Z"));
    controls().ssoRefresh = { refuse: "invalid_grant", lifetimeSeconds: 3600, rotate: true };
    try {
      sim.resetStats();
      const r = await runCli(["ec2-ips", "--sso", "--profile", "corp2", "--no-progress"], { env: ssoEnv() });
      expect(r.code).toBe(3);
      expect(r.stderr.trim().split("\n")).toEqual([
        expect.stringContaining("aws sso login --sso-session corp2"),
      ]);
      expect(sim.stats().byOperation["aws:sso-oidc:CreateToken"]).toBe(1);
      expect(sim.stats().byOperation["aws:sso:ListAccounts"]).toBeUndefined();
    } finally {
      controls().ssoRefresh = { refuse: null, lifetimeSeconds: 3600, rotate: true };
    }
  });

  it("exits 3 when the cached token has expired and cannot be refreshed, before any request", async () => {
    await ssoHome("2020-01-01T00:00:00Z");
    sim.resetStats();
    const r = await runCli(["ec2-ips", "--sso", "--profile", "corp"], { env: ssoEnv() });
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split("\n")[0]).toMatch(
      /^cloudadmin: ec2-ips: .*aws sso login --sso-session corp/,
    );
    expect(sim.stats().total).toBe(0);
  });
});

describe("the built cloudadmin binary", () => {
  it("reaches the simulator for every call (Organizations, STS, EC2) configured only through AWS_* variables", async () => {
    sim.resetStats();
    const env = { PATH: process.env.PATH ?? "", ...awsEnv() };
    const r = await exec(process.execPath, [bin, "ec2-ips", "-o", "ndjson", "--no-progress"], { env }).catch(
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect((r as { code?: number }).code).toBe(5);
    const ids = r.stdout
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { instanceId: string }).instanceId);
    expect(ids.sort()).toEqual(expectedIds());
    const stats = sim.stats();
    expect(stats.byStatus["404"]).toBeUndefined();
    expect(Object.keys(stats.byOperation).sort()).toEqual([
      "aws:ec2:DescribeInstances",
      "aws:ec2:DescribeRegions",
      "aws:organizations:ListAccounts",
      "aws:sts:AssumeRole",
      "aws:sts:GetCallerIdentity",
    ]);
    expect(r.stderr).not.toContain("NodeVersionSupportWarning");
  });

  it("reaches the SSO portal through AWS_ENDPOINT_URL_SSO with the token cache under HOME", async () => {
    await mkdir(join(home, ".aws", "sso", "cache"), { recursive: true });
    await writeFile(
      join(home, ".aws", "config"),
      "[profile legacy]\nsso_start_url = https://legacy.awsapps.com/start\nsso_region = eu-west-1\nsso_account_id = 222222222222\nsso_role_name = ReadOnly\n",
    );
    const key = createHash("sha1").update("https://legacy.awsapps.com/start").digest("hex");
    await writeFile(
      join(home, ".aws", "sso", "cache", `${key}.json`),
      JSON.stringify({
        accessToken: aws.sso?.accessToken,
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      }),
    );
    sim.resetStats();
    const { AWS_ACCESS_KEY_ID: _a, AWS_SECRET_ACCESS_KEY: _s, ...rest } = awsEnv({ AWS_PROFILE: "legacy" });
    const r = await exec(process.execPath, [bin, "ec2-ips", "--sso", "-o", "json", "--no-progress"], {
      env: { PATH: process.env.PATH ?? "", ...rest },
    }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    expect((r as { code?: number }).code).toBe(5);
    expect((JSON.parse(r.stdout) as Doc).items.map((i) => i.instanceId).sort()).toEqual(
      expectedIds(aws.sso?.accounts),
    );
    const ops = sim.stats().byOperation;
    expect(ops["aws:sso:ListAccounts"]).toBe(1);
    expect(ops["aws:sso:GetRoleCredentials"]).toBe(aws.sso?.accounts.length);
    expect(sim.stats().byStatus["404"]).toBeUndefined();
  });
});
