import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import {
  type AwsDataset,
  type AwsInstance,
  type AzureDataset,
  type AzuriteHandle,
  expectedInstanceIps,
  expectedVmInventory,
  generateDataset,
  startAzurite,
} from "@cloudadmin/cloud-sim";
import { canonicalIp } from "@cloudadmin/ip-inventory";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers.js";

/**
 * `ips find` / `ips diff` over the simulator: inventories written by the real jobs (azure-vm-ips,
 * ec2-ips) against cloud-sim, read back from json, ndjson, csv and Azurite blobs, and compared with
 * the dataset's own ground truth (cloud-sim's expectedVmInventory / expectedInstanceIps).
 */

type Dataset = { aws: AwsDataset; azure: AzureDataset };
interface Hit {
  ip: string;
  cloud: string;
  resourceId: string;
  visibility: string;
  accountId: string;
  networkInterfaceId: string | null;
  anomaly: string | null;
  observedAt: string | null;
}
interface Doc<T> {
  command: string;
  items: T[];
  errors: Array<{ scope: string; phase: string; code: string; message: string }>;
  summary: Record<string, unknown>;
}
interface Change {
  change: string;
  ip: string;
  before: Hit | null;
  after: Hit | null;
}

const clone = <T>(v: T): T => structuredClone(v);
let work: string;
let azurite: AzuriteHandle;
let base: Dataset;
/** The account and region whose instances the test changes. */
let acct: string;
let region: string;
/** Two instances of acct/region sharing a private IP; x2 also holds an Azure VM's public IP. */
let sharedPrivate: string;
let sharedPublic: string;

function instancesOf(d: Dataset): AwsInstance[] {
  return d.aws.instances?.[acct]?.[region] ?? [];
}

/** Readable accounts and regions that hold at least 6 instances. */
function pickAccountRegion(aws: AwsDataset): [string, string] {
  const denied = new Set(aws.assumeRoleDenied ?? []);
  for (const account of aws.accounts ?? []) {
    if (account.State !== "ACTIVE" || denied.has(account.Id)) continue;
    const regions = aws.enabledRegions?.[account.Id] ?? [];
    for (const [r, list] of Object.entries(aws.instances?.[account.Id] ?? {})) {
      if (regions.includes(r) && list.length >= 6) return [account.Id, r];
    }
  }
  throw new Error("the generated dataset has no account-region with 6 instances");
}

function setPrimaryPrivate(instance: AwsInstance, ip: string): void {
  const nic = instance.NetworkInterfaces?.[0] as unknown as {
    PrivateIpAddresses: Array<{ PrivateIpAddress: string; Primary?: boolean; Association?: unknown }>;
    PrivateIpAddress?: string;
  };
  const primary = nic.PrivateIpAddresses[0] as { PrivateIpAddress: string; Association?: unknown };
  primary.PrivateIpAddress = ip;
  nic.PrivateIpAddress = ip;
  (instance as unknown as { PrivateIpAddress?: string }).PrivateIpAddress = ip;
}

function setPrimaryPublic(instance: AwsInstance, ip: string): void {
  const nic = instance.NetworkInterfaces?.[0] as unknown as {
    PrivateIpAddresses: Array<{ Association?: Record<string, unknown> }>;
    Association?: Record<string, unknown>;
  };
  const association = { PublicIp: ip, IpOwnerId: "amazon", PublicDnsName: "" };
  (nic.PrivateIpAddresses[0] as { Association?: unknown }).Association = association;
  nic.Association = association;
  (instance as unknown as { PublicIpAddress?: string }).PublicIpAddress = ip;
}

async function writeDataset(name: string, d: Dataset): Promise<string> {
  const file = join(work, name);
  await writeFile(file, JSON.stringify(d));
  return file;
}

async function job(
  command: "azure-vm-ips" | "ec2-ips",
  dataset: string,
  out: string,
  format = "json",
  extra: string[] = [],
  env: Record<string, string> = {},
) {
  const r = await runCli(
    [command, "--simulate", "--sim-dataset", dataset, "-o", format, "--out", out, ...extra],
    {
      cwd: work,
      env,
    },
  );
  // ec2-ips exits 5 when the dataset denies AssumeRole in an account: the document is written anyway.
  expect([0, 5], r.stderr).toContain(r.code);
  return r;
}

async function cli(argv: string[], env: Record<string, string> = {}) {
  return runCli(argv, { cwd: work, env });
}

function parse<T>(stdout: string): Doc<T> {
  return JSON.parse(stdout) as Doc<T>;
}

/** (ip, cloud, resourceId, visibility) of every IP the dataset says the saved inventories hold. */
let truth: Array<{ ip: string; cloud: string; resourceId: string; visibility: string }>;

// IPv6 in RFC 5952 form on both sides (the dataset writes fd00:db8::0, the inventory fd00:db8::).
const key = (h: { ip: string; cloud: string; resourceId: string; visibility: string }) =>
  `${canonicalIp(h.ip)}|${h.cloud}|${h.resourceId}|${h.visibility}`;
const keys = (hits: Array<{ ip: string; cloud: string; resourceId: string; visibility: string }>) =>
  hits.map(key).sort();

function inV4Cidr(ip: string, cidr: string): boolean {
  const [net, bits] = cidr.split("/") as [string, string];
  const n = (a: string) => a.split(".").reduce((s, p) => s * 256 + Number(p), 0);
  if (ip.includes(":")) return false;
  const size = 2 ** (32 - Number(bits));
  return Math.floor(n(ip) / size) === Math.floor(n(net) / size);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "ips-test-"));
  azurite = await startAzurite();
  const generated = generateDataset({
    scale: "small",
    seed: 1,
    services: ["aws", "arg"],
  }) as unknown as Dataset;
  base = { aws: generated.aws, azure: generated.azure };
  [acct, region] = pickAccountRegion(base.aws);
  const [x1, x2] = instancesOf(base) as [AwsInstance, AwsInstance];
  sharedPrivate = expectedInstanceIps(x1).privateIps[0] as string;
  setPrimaryPrivate(x2, sharedPrivate);
  const azureWithPublic = [...expectedVmInventory(base.azure).values()].find((vm) => vm.publicIps.length > 0);
  sharedPublic = azureWithPublic?.publicIps[0] as string;
  setPrimaryPublic(x2, sharedPublic);
  const file = await writeDataset("a.json", base);
  await job("azure-vm-ips", file, "az.json");
  await job("ec2-ips", file, "ec2.json");
  await job("azure-vm-ips", file, "az.ndjson", "ndjson");
  await job("ec2-ips", file, "ec2.ndjson", "ndjson");
  await job("azure-vm-ips", file, "az.csv", "csv");
  await job("ec2-ips", file, "ec2.csv", "csv");

  const ec2Doc = JSON.parse(await readFile(join(work, "ec2.json"), "utf8")) as Doc<{ instanceId: string }>;
  const listed = new Set(ec2Doc.items.map((i) => i.instanceId));
  truth = [];
  for (const vm of expectedVmInventory(base.azure).values()) {
    for (const ip of vm.privateIps)
      truth.push({ ip, cloud: "azure", resourceId: vm.vmId, visibility: "private" });
    for (const ip of vm.publicIps)
      truth.push({ ip, cloud: "azure", resourceId: vm.vmId, visibility: "public" });
  }
  for (const regions of Object.values(base.aws.instances ?? {})) {
    for (const list of Object.values(regions)) {
      for (const instance of list) {
        if (!listed.has(instance.InstanceId)) continue;
        const ips = expectedInstanceIps(instance);
        const id = instance.InstanceId;
        for (const ip of ips.privateIps)
          truth.push({ ip, cloud: "aws", resourceId: id, visibility: "private" });
        for (const ip of ips.publicIps)
          truth.push({ ip, cloud: "aws", resourceId: id, visibility: "public" });
        for (const ip of ips.ipv6Ips) truth.push({ ip, cloud: "aws", resourceId: id, visibility: "public" });
      }
    }
  }
}, 120_000);

afterAll(async () => {
  await azurite?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("ips find", () => {
  it("finds by address across both clouds and flags the anomalies", async () => {
    const r = await cli([
      "ips",
      "find",
      sharedPrivate,
      sharedPublic,
      "--from",
      "az.json",
      "ec2.json",
      "-o",
      "json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const hits = parse<Hit>(r.stdout).items;
    const [x1, x2] = instancesOf(base) as [AwsInstance, AwsInstance];
    const priv = hits.filter((h) => h.ip === sharedPrivate && h.cloud === "aws" && h.accountId === acct);
    expect(priv.map((h) => [h.resourceId, h.anomaly]).sort()).toEqual(
      [x1.InstanceId, x2.InstanceId].sort().map((id) => [id, "private-ip-duplicate"]),
    );
    const pub = hits.filter((h) => h.ip === sharedPublic);
    expect(pub.map((h) => h.cloud).sort()).toEqual(["aws", "azure"]);
    expect(pub.every((h) => h.anomaly === "public-ip-shared")).toBe(true);
    expect(keys(hits)).toEqual(keys(truth.filter((t) => t.ip === sharedPrivate || t.ip === sharedPublic)));
    const doc = JSON.parse(await readFile(join(work, "ec2.json"), "utf8")) as { generatedAt: string };
    expect(pub.find((h) => h.cloud === "aws")?.observedAt).toBe(doc.generatedAt);
  });

  it("finds by IPv4 CIDR, IPv6 CIDR and name glob exactly as the dataset says", async () => {
    const v4 = "10.1.0.0/20";
    const r4 = await cli(["ips", "find", v4, "--from", "az.json,ec2.json", "-o", "json"]);
    expect(r4.code, r4.stderr).toBe(0);
    const want4 = truth.filter((t) => inV4Cidr(t.ip, v4));
    expect(want4.length).toBeGreaterThan(0);
    expect(keys(parse<Hit>(r4.stdout).items)).toEqual(keys(want4));

    const v6 = truth.find((t) => t.ip.includes(":"));
    expect(v6, "the dataset holds IPv6 addresses").toBeDefined();
    const prefix = `${(v6?.ip ?? "").split(":").slice(0, 2).join(":")}::/32`;
    const r6 = await cli(["ips", "find", prefix, "--from", "az.json", "--from", "ec2.json", "-o", "json"]);
    expect(r6.code, r6.stderr).toBe(0);
    const want6 = truth.filter((t) => t.ip.includes(":") && t.ip.startsWith(prefix.split("::")[0] as string));
    expect(keys(parse<Hit>(r6.stdout).items)).toEqual(keys(want6));

    const [x1] = instancesOf(base) as [AwsInstance];
    const vm = [...expectedVmInventory(base.azure).values()][0];
    const rn = await cli([
      "ips",
      "find",
      vm?.vmName ?? "",
      x1.InstanceId.toUpperCase(),
      "--from",
      "az.json",
      "ec2.json",
      "-o",
      "json",
    ]);
    expect(rn.code, rn.stderr).toBe(0);
    const byName = parse<Hit>(rn.stdout).items;
    expect(new Set(byName.map((h) => h.cloud))).toEqual(new Set(["aws", "azure"]));
    expect(keys(byName)).toEqual(
      keys(truth.filter((t) => t.resourceId === vm?.vmId || t.resourceId === x1.InstanceId)),
    );
  });

  it("reads ndjson, csv and Azurite blobs (including vm-ips/latest.json) like json", async () => {
    const q = ["10.0.0.0/8", "0.0.0.0/0"];
    const fromJson = keys(
      parse<Hit>((await cli(["ips", "find", ...q, "--from", "az.json", "ec2.json"])).stdout).items,
    );
    expect(fromJson.length).toBe(new Set(truth.filter((t) => !t.ip.includes(":")).map(key)).size);
    const nd = await cli(["ips", "find", ...q, "--from", "az.ndjson", "ec2.ndjson"]);
    expect(nd.code, nd.stderr).toBe(0);
    expect(keys(parse<Hit>(nd.stdout).items)).toEqual(fromJson);
    const csv = await cli(["ips", "find", ...q, "--from", "az.csv", "ec2.csv"]);
    expect(csv.code, csv.stderr).toBe(0);
    expect(keys(parse<Hit>(csv.stdout).items)).toEqual(fromJson);

    const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    await service.getContainerClient("inventory").createIfNotExists();
    const env = { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString };
    const container = `${azurite.blobEndpoint}/inventory`;
    for (const [file, blob] of [
      ["az.json", "vm-ips/latest.json"],
      ["ec2.ndjson", "ec2/instances.ndjson"],
    ] as const) {
      const body = await readFile(join(work, file));
      await service.getContainerClient("inventory").getBlockBlobClient(blob).upload(body, body.length);
    }
    const fromBlob = await cli(
      ["ips", "find", ...q, "--from", `${container}/vm-ips/latest.json`, `${container}/ec2/instances.ndjson`],
      env,
    );
    expect(fromBlob.code, fromBlob.stderr).toBe(0);
    expect(keys(parse<Hit>(fromBlob.stdout).items)).toEqual(fromJson);
  });

  it("finds from live runs of both jobs what it finds in their saved outputs", async () => {
    const file = join(work, "a.json");
    const q = [sharedPrivate, sharedPublic, "10.1.0.0/20"];
    const live = await cli(["ips", "find", ...q, "--live", "azure,aws", "--simulate", "--sim-dataset", file]);
    expect([0, 5], live.stderr).toContain(live.code);
    const saved = await cli(["ips", "find", ...q, "--from", "az.json", "ec2.json"]);
    const strip = (hits: Hit[]) => hits.map(({ observedAt: _o, ...h }) => h);
    expect(strip(parse<Hit>(live.stdout).items)).toEqual(strip(parse<Hit>(saved.stdout).items));
  });

  it("no match: exit 0, empty items and a line on stderr", async () => {
    const r = await cli(["ips", "find", "192.0.2.77", "--from", "az.json", "ec2.json"]);
    expect(r.code).toBe(0);
    expect(parse<Hit>(r.stdout).items).toEqual([]);
    expect(r.stderr).toMatch(/no IP matches 192\.0\.2\.77/);
  });

  it("bad input gets one line and exit 2", async () => {
    for (const bad of ["10.0.0.300", "10.0.0.0/33", "2001:db8:::1/64"]) {
      const r = await cli(["ips", "find", bad, "--from", "az.json"]);
      expect(r.code, bad).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/is not a valid (IPv4|IPv6|CIDR)/);
    }
    await writeFile(join(work, "not.json"), JSON.stringify({ command: "zoom-licenses", items: [] }));
    await writeFile(join(work, "not.csv"), "a,b\n1,2\n");
    for (const file of ["not.json", "not.csv"]) {
      const r = await cli(["ips", "find", "10.0.0.1", "--from", file]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/is not an inventory/);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });
});

describe("blob URLs", () => {
  it("refuses plain http to a non-loopback host before any request (exit 3)", async () => {
    for (const url of [
      "http://storage.example.com/devstoreaccount1/inv/vms.json",
      "http://app.localhost:10000/devstoreaccount1/inv/vms.json",
    ]) {
      const r = await cli(["ips", "find", "10.0.0.1", "--from", url], {
        AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
      });
      expect(r.code, r.stderr).toBe(3);
      expect(r.stdout).toBe("");
    }
  });
});

describe("ips diff", () => {
  let changed: AwsInstance;
  let removed: AwsInstance;
  let movedFrom: AwsInstance;
  const movedTo = "i-0feedfacecafe0001";
  const added = "i-0feedfacecafe0002";
  const addedIp = "10.250.0.10";

  async function secondRun(): Promise<void> {
    const next = clone(base);
    const list = instancesOf(next);
    [, , changed, removed, movedFrom] = list as [
      AwsInstance,
      AwsInstance,
      AwsInstance,
      AwsInstance,
      AwsInstance,
    ];
    const stopped = list.find((i) => i.InstanceId === changed.InstanceId) as AwsInstance;
    stopped.State = { Code: 80, Name: changed.State?.Name === "stopped" ? "running" : "stopped" };
    const moved = clone(movedFrom);
    moved.InstanceId = movedTo;
    const fresh = clone(list[5] as AwsInstance);
    fresh.InstanceId = added;
    for (const nic of fresh.NetworkInterfaces ?? []) {
      nic.NetworkInterfaceId = `eni-0feed${nic.NetworkInterfaceId?.slice(-6)}`;
      nic.Ipv6Addresses = [];
    }
    (fresh.NetworkInterfaces ?? []).splice(1);
    setPrimaryPrivate(fresh, addedIp);
    const nic0 = fresh.NetworkInterfaces?.[0] as unknown as {
      PrivateIpAddresses: unknown[];
      Association?: unknown;
    };
    nic0.PrivateIpAddresses.splice(1);
    delete (nic0.PrivateIpAddresses[0] as { Association?: unknown }).Association;
    delete nic0.Association;
    delete (fresh as unknown as { PublicIpAddress?: string }).PublicIpAddress;
    const keep = list.filter(
      (i) => i.InstanceId !== removed.InstanceId && i.InstanceId !== movedFrom.InstanceId,
    );
    (next.aws.instances?.[acct] as Record<string, AwsInstance[]>)[region] = [...keep, moved, fresh];
    await job("ec2-ips", await writeDataset("b.json", next), "ec2-b.json");
  }

  function expectedChanges(): string[] {
    const ipsOf = (i: AwsInstance) => {
      const x = expectedInstanceIps(i);
      return [...x.privateIps, ...x.publicIps, ...x.ipv6Ips];
    };
    return [
      ...ipsOf(changed).map((ip) => `changed ${ip} ${changed.InstanceId} ${changed.InstanceId}`),
      ...ipsOf(removed).map((ip) => `removed ${ip} ${removed.InstanceId} -`),
      ...ipsOf(movedFrom).map((ip) => `moved ${ip} ${movedFrom.InstanceId} ${movedTo}`),
      `added ${addedIp} - ${added}`,
    ].sort();
  }
  const show = (c: Change) =>
    `${c.change} ${c.ip} ${c.before?.resourceId ?? "-"} ${c.after?.resourceId ?? "-"}`;

  beforeAll(secondRun, 60_000);

  it("gives exactly the added, removed, moved and changed IPs of two runs", async () => {
    const r = await cli(["ips", "diff", "ec2.json", "ec2-b.json", "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const doc = parse<Change>(r.stdout);
    expect(doc.items.map(show).sort()).toEqual(expectedChanges());
    const c = doc.items.find((i) => i.change === "changed");
    expect(c?.before?.resourceId).toBe(c?.after?.resourceId);
    expect(doc.summary).toMatchObject({ added: 1 });
    // Both clouds on each side: Azure did not change, so the result is the same.
    const both = await cli(["ips", "diff", "az.json,ec2.json", "az.json,ec2-b.json", "-o", "json"]);
    expect(parse<Change>(both.stdout).items.map(show).sort()).toEqual(expectedChanges());
  });

  it("--since picks the newest snapshot and the one closest to that age from a container", async () => {
    const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const container = service.getContainerClient("snapshots");
    await container.createIfNotExists();
    const stamp = (hoursAgo: number) =>
      new Date(Date.now() - hoursAgo * 3_600_000)
        .toISOString()
        .replace(/\.\d{3}Z$/, "Z")
        .replace(/:/g, "-");
    const a = await readFile(join(work, "ec2.json"));
    const b = await readFile(join(work, "ec2-b.json"));
    // 72 h ago: b (a diff against it would show the reverse); 25 h ago: a; 1 h ago: b; latest.json: ignored.
    const blobs: Array<[string, Buffer]> = [
      [`ec2/${stamp(72)}.json`, b],
      [`ec2/${stamp(25)}.json`, a],
      [`ec2/${stamp(1)}.json`, b],
      ["ec2/latest.json", a],
      [`other/${stamp(2)}.json`, a],
    ];
    for (const [name, body] of blobs) await container.getBlockBlobClient(name).upload(body, body.length);
    const env = { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString };
    const url = `${azurite.blobEndpoint}/snapshots`;
    const r = await cli(
      ["ips", "diff", "--container-url", url, "--prefix", "ec2/", "--since", "24h", "-o", "json"],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    const doc = parse<Change>(r.stdout);
    expect(doc.summary.older).toMatchObject({ blobs: [blobs[1]?.[0]] });
    expect(doc.summary.newer).toMatchObject({ blobs: [blobs[2]?.[0]] });
    expect(doc.items.map(show).sort()).toEqual(expectedChanges());
    const week = await cli(
      ["ips", "diff", "--container-url", url, "--prefix", "ec2/", "--since", "7d", "-o", "json"],
      env,
    );
    expect(parse<Change>(week.stdout).summary.older).toMatchObject({ blobs: [blobs[0]?.[0]] });
    expect(parse<Change>(week.stdout).items).toEqual([]);
  });

  it("refuses a malformed age or a lone --since (exit 2)", async () => {
    expect(
      (await cli(["ips", "diff", "--container-url", "http://127.0.0.1:1/x/y", "--since", "yesterday"])).code,
    ).toBe(2);
    expect((await cli(["ips", "diff", "ec2.json", "--since", "24h"])).code).toBe(2);
  });
});
