import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AwsDataset,
  type AwsSimService,
  type Simulator,
  generateDataset,
  startSimulator,
} from "@cloudadmin/cloud-sim";
import type { CloudAdminError } from "@cloudadmin/errors";
import { collect } from "@cloudadmin/paging";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type Ec2IpsProgressEvent, listEc2Ips, probeSsoRefresh, resolveAwsSettings } from "../src/index.js";
import { actual, expectedOrg } from "./ground-truth.js";

const aws = generateDataset({ scale: "small", seed: 17, services: ["aws"] }).aws as AwsDataset;
const sso = aws.sso as Required<NonNullable<AwsDataset["sso"]>>;
const MINUTE = 60_000;

let sim: Simulator;
let home: string;
const savedHome = process.env.HOME;

beforeAll(async () => {
  sim = await startSimulator({ dataset: { aws }, services: ["aws"] });
  home = await mkdtemp(join(tmpdir(), "ec2-ips-sso-"));
  // The SDK's fromSso reads and writes ~/.aws/sso/cache under the process's home, as the AWS CLI does.
  process.env.HOME = home;
});
afterAll(async () => {
  if (savedHome === undefined) delete process.env.HOME;
  else process.env.HOME = savedHome;
  await sim.close();
  await rm(home, { recursive: true, force: true });
});
afterEach(() => {
  vi.useRealTimers();
  const controls = simControls();
  controls.ssoRefresh = { refuse: null, lifetimeSeconds: 3600, rotate: true };
  controls.setSsoTokenExpiry(null);
});

function simControls(): AwsSimService {
  return sim.service("aws") as unknown as AwsSimService;
}

function cacheFile(session: string): string {
  return join(home, ".aws", "sso", "cache", `${createHash("sha1").update(session).digest("hex")}.json`);
}

/**
 * A profile with an `sso_session`, as `aws configure sso` writes it, and the cache `aws sso login`
 * leaves. Each test uses its own session name: the SDK allows one refresh attempt per session per 30 s.
 */
async function login(session: string, expiresAt: number, grant: Partial<typeof sso> = sso): Promise<void> {
  await mkdir(join(home, ".aws", "sso", "cache"), { recursive: true });
  await writeFile(
    join(home, ".aws", "config"),
    `[profile ${session}]\nsso_session = ${session}\nsso_role_name = ReadOnly\nregion = eu-west-1\n\n[sso-session ${session}]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\nsso_registration_scopes = sso:account:access\n`,
  );
  await writeFile(
    cacheFile(session),
    JSON.stringify({
      startUrl: "https://corp.awsapps.com/start",
      region: "eu-west-1",
      accessToken: sso.accessToken,
      expiresAt: new Date(expiresAt).toISOString(),
      ...(grant.refreshToken ? { refreshToken: grant.refreshToken } : {}),
      ...(grant.clientId ? { clientId: grant.clientId, clientSecret: grant.clientSecret } : {}),
      registrationExpiresAt: new Date(Date.now() + 90 * 24 * 60 * MINUTE).toISOString(),
    }),
  );
  // The service's view of the same sign-in: the token stops working at its expiry.
  simControls().ssoLogin(new Date(expiresAt));
}

async function settingsFor(session: string) {
  return resolveAwsSettings({
    env: {
      HOME: home,
      AWS_ENDPOINT_URL_SSO: sim.httpUrl,
      AWS_ENDPOINT_URL_SSO_OIDC: sim.httpUrl,
      AWS_ENDPOINT_URL_EC2: sim.httpUrl,
    },
    mode: "sso",
    profile: session,
  });
}

async function runSso(session: string, onProgress?: (e: Ec2IpsProgressEvent) => void) {
  const settings = await settingsFor(session);
  const errors: CloudAdminError[] = [];
  const records = await collect(
    listEc2Ips({
      mode: "sso",
      region: "us-east-1",
      ...(settings.sso ? { sso: settings.sso } : {}),
      endpoints: settings.endpoints,
      concurrency: 1,
      onError: (e) => errors.push(e),
      ...(onProgress ? { onProgress } : {}),
    }),
  );
  return { records, errors };
}

const expected = () => expectedOrg(aws, { accounts: sso.accounts });

async function cached(session: string) {
  return JSON.parse(await readFile(cacheFile(session), "utf8")) as Record<string, string>;
}

describe("--sso with an sso_session: the SDK's fromSso refreshes the token", () => {
  it.each([
    ["has expired", -MINUTE],
    ["is within 5 minutes of expiry", 3 * MINUTE],
  ])("refreshes a token that %s before the run, and the cache file is updated", async (_what, offset) => {
    const session = `before-${offset}`;
    await login(session, Date.now() + offset);
    sim.resetStats();
    const r = await runSso(session);
    expect(actual(r.records)).toEqual(expected());
    expect(r.errors).toEqual([]);
    expect(sim.stats().byOperation["aws:sso-oidc:CreateToken"]).toBe(1);
    const after = await cached(session);
    expect(after.accessToken).not.toBe(sso.accessToken);
    expect(Date.parse(after.expiresAt as string)).toBeGreaterThan(Date.now() + 55 * MINUTE);
    expect(after.refreshToken).not.toBe(sso.refreshToken);
    expect(after.clientSecret).toBe(sso.clientSecret);
    // The refreshed token is the one the portal was given.
    const portal = sim.requestLog.filter((e) => e.operation.startsWith("sso:"));
    expect(portal.length).toBe(1 + sso.accounts.length);
  });

  it("refreshes a token that expires during the run (the clock passes its expiry mid-run)", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.now();
    vi.setSystemTime(start);
    const session = "during";
    await login(session, start + 20 * MINUTE);
    sim.resetStats();
    let moved = false;
    const r = await runSso(session, (e) => {
      // After the first account, 25 minutes pass: the cached token is now past its expiry.
      if (e.type === "account-done" && !moved) {
        moved = true;
        vi.setSystemTime(start + 25 * MINUTE);
      }
    });
    expect(moved).toBe(true);
    expect(actual(r.records)).toEqual(expected());
    expect(r.errors).toEqual([]);
    expect(sim.stats().byOperation["aws:sso-oidc:CreateToken"]).toBe(1);
    const after = await cached(session);
    expect(after.accessToken).not.toBe(sso.accessToken);
    expect(Date.parse(after.expiresAt as string)).toBe(start + 25 * MINUTE + 3600_000);
  });

  it("works when CreateToken returns no new refresh token (the other documented form)", async () => {
    simControls().ssoRefresh = { refuse: null, lifetimeSeconds: 3600, rotate: false };
    const session = "no-rotation";
    await login(session, Date.now() - MINUTE);
    const r = await runSso(session);
    expect(actual(r.records)).toEqual(expected());
    expect((await cached(session)).accessToken).not.toBe(sso.accessToken);
  });

  it.each([
    ["the refresh is refused (InvalidGrantException)", "refused-grant", "invalid_grant" as const, sso],
    [
      "the client registration expired (InvalidClientException)",
      "refused-client",
      "invalid_client" as const,
      sso,
    ],
    ["the cache has no refresh token", "no-refresh", null, {}],
  ])(
    "fails the run with ERR_AUTH_EXPIRED naming `aws sso login --sso-session` when %s",
    async (_w, session, refuse, grant) => {
      simControls().ssoRefresh = { refuse, lifetimeSeconds: 3600, rotate: true };
      await login(session, Date.now() - MINUTE, grant);
      sim.resetStats();
      await expect(runSso(session)).rejects.toMatchObject({
        code: "ERR_AUTH_EXPIRED",
        message: expect.stringContaining(`aws sso login --sso-session ${session}`),
      });
      expect(sim.stats().byOperation["aws:sso:ListAccounts"]).toBeUndefined();
      expect((await cached(session)).accessToken).toBe(sso.accessToken);
    },
  );

  it("probeSsoRefresh says whether the session can be refreshed", async () => {
    await login("probe-ok", Date.now() - MINUTE);
    const ok = await probeSsoRefresh({
      sso: (await settingsFor("probe-ok")).sso!,
      endpoints: { sso: sim.httpUrl },
      home,
    });
    expect(ok.map((p) => p.status)).toEqual(["holds", "holds", "holds"]);
    simControls().ssoRefresh = { refuse: "invalid_grant", lifetimeSeconds: 3600, rotate: true };
    await login("probe-refused", Date.now() - MINUTE, {});
    const bad = await probeSsoRefresh({
      sso: (await settingsFor("probe-refused")).sso!,
      endpoints: { sso: sim.httpUrl },
      home,
    });
    expect(bad.map((p) => [p.status, p.assumption])).toEqual([
      ["differs", "the SSO session's token cache holds what a refresh needs"],
      ["differs", "the SSO token can be used or refreshed"],
      ["unknown", "the IAM Identity Center portal accepts the token"],
    ]);
    for (const p of [...ok, ...bad]) expect(p.detail).not.toContain(sso.accessToken);
  });
});
