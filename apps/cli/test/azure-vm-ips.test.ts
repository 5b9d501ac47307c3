import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateDataset } from "@cloudadmin/cloud-sim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AzureDataset, expectedVmInventory } from "@cloudadmin/cloud-sim";
import { runCli } from "./helpers.js";

interface Doc {
  command: string;
  items: Array<Record<string, unknown> & { vmId: string; privateIps: string[]; publicIps: string[] }>;
  errors: Array<{ scope: string; phase: string; code: string; message: string }>;
  summary: Record<string, number>;
}

describe("cloudadmin azure-vm-ips", () => {
  // What --simulate generates: the small scale, seed 1, Resource Graph only.
  const azure = generateDataset({ scale: "small", seed: 1, services: ["arg"] }).azure as AzureDataset;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cli-azure-vm-ips-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("lists the simulated tenant as JSON, with the missing-NIC warning on stderr", async () => {
    const { code, stdout, stderr } = await runCli([
      "azure-vm-ips",
      "--simulate",
      "-o",
      "json",
      "--no-progress",
    ]);
    expect(code).toBe(0);
    const doc = JSON.parse(stdout) as Doc;
    expect(doc.command).toBe("azure-vm-ips");
    const truth = expectedVmInventory(azure);
    expect(doc.items).toHaveLength(truth.size);
    for (const item of doc.items) {
      const { missingNics: _, ...expected } = truth.get(item.vmId.toLowerCase()) ?? { missingNics: [] };
      expect(item).toEqual(expected);
    }
    expect(doc.errors).toEqual([]);
    expect(doc.summary).toMatchObject({
      vms: truth.size,
      classicVms: 4,
      scaleSetVms: [...truth.values()].filter((vm) => vm.scaleSet !== null).length,
      failedScopes: 0,
      throttled: 0,
      warnings: 1,
    });
    expect(stderr).toMatch(/warning: VM edge-missing-nic .* names 2 NICs but Resource Graph holds 1/);
    expect(stderr).not.toContain("cloudadmin-sim-arm-token");
  });

  it("writes csv with ';'-joined IP lists and leaves classic VMs out with --no-classic", async () => {
    const out = join(dir, "vms.csv");
    const { code } = await runCli([
      "azure-vm-ips",
      "--simulate",
      "--no-classic",
      "-o",
      "csv",
      "--out",
      out,
      "-q",
    ]);
    expect(code).toBe(0);
    const lines = (await readFile(out, "utf8")).trim().split(/\r?\n/);
    expect(lines[0]).toBe(
      "subscriptionId,subscriptionName,resourceGroup,location,vmId,vmName,vmSize,powerState,deploymentModel,scaleSet,instanceId,privateIps,publicIps,networkInterfaces",
    );
    const truth = expectedVmInventory(azure, { includeClassic: false });
    expect(lines).toHaveLength(truth.size + 1);
    const three = lines.find((l) => l.includes(",edge-three-nics,")) as string;
    const vm = [...truth.values()].find((v) => v.vmName === "edge-three-nics");
    expect(three).toContain(`,${vm?.privateIps.join(";")},`);
    expect(lines.some((l) => l.includes(",classic,"))).toBe(false);
  });

  it("reads a --sim-dataset file scoped to --subscriptions", async () => {
    const file = join(dir, "dataset.json");
    await writeFile(file, JSON.stringify({ azure }));
    const sub = azure.subscriptions[1]?.subscriptionId as string;
    const { code, stdout } = await runCli([
      "azure-vm-ips",
      "--simulate",
      "--sim-dataset",
      file,
      "--subscriptions",
      sub,
      "-o",
      "ndjson",
      "-q",
    ]);
    expect(code).toBe(0);
    const items = stdout
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { subscriptionId: string });
    const truth = expectedVmInventory(azure, { subscriptions: [sub] });
    expect(items).toHaveLength(truth.size);
    expect(items.every((i) => i.subscriptionId === sub)).toBe(true);
  });

  it("exits 4 with no document when Resource Graph refuses every scope, and says why on stderr", async () => {
    const { code, stdout, stderr } = await runCli([
      "azure-vm-ips",
      "--simulate",
      "--subscriptions",
      "99999999-9999-4999-8999-999999999999",
      "-o",
      "json",
      "--no-progress",
    ]);
    expect(code).toBe(4);
    // Nothing useful was produced: stdout holds no document (a complete one or none, never an empty one).
    expect(stdout).toBe("");
    // Both queries of the one scope failed: Resources and ComputeResources (Uniform instances).
    expect(stderr).toContain("could not be read for 2 of 2 scopes (NoValidSubscriptionsInQueryRequest)");
  });

  it("refuses bad input before doing anything", async () => {
    expect((await runCli(["azure-vm-ips", "--subscriptions", "nope"])).code).toBe(2);
    expect((await runCli(["azure-vm-ips", "--cloud", "Mars"])).code).toBe(2);
    expect(
      (
        await runCli([
          "azure-vm-ips",
          "--management-group",
          "mg",
          "--subscriptions",
          azure.subscriptions[0]?.subscriptionId as string,
        ])
      ).code,
    ).toBe(2);
    const insecure = await runCli(["azure-vm-ips", "--arm-endpoint", "http://management.example.com"], {
      env: { CLOUDADMIN_ARM_TOKEN: "t" },
    });
    expect(insecure.code).toBe(3);
  });

  it("leaves scale-set instances out with --no-scale-sets", async () => {
    const { code, stdout } = await runCli([
      "azure-vm-ips",
      "--simulate",
      "--no-scale-sets",
      "-o",
      "json",
      "-q",
    ]);
    expect(code).toBe(0);
    const doc = JSON.parse(stdout) as Doc;
    const truth = expectedVmInventory(azure, { scaleSets: false });
    expect(doc.items).toHaveLength(truth.size);
    expect(doc.items.every((i) => i.scaleSet === null && i.instanceId === null)).toBe(true);
    expect(expectedVmInventory(azure).size).toBeGreaterThan(truth.size);
  });

  it("--shard i/n: the shards' documents hold shard and scopes, and together every VM once", async () => {
    const all = new Map<string, unknown>();
    const covered: string[] = [];
    for (let index = 0; index < 3; index++) {
      const { code, stdout } = await runCli([
        "azure-vm-ips",
        "--simulate",
        "--shard",
        `${index}/3`,
        "-o",
        "json",
        "-q",
      ]);
      expect(code).toBe(0);
      const doc = JSON.parse(stdout) as Doc & { shard: { index: number; count: number }; scopes: string[] };
      expect(doc.shard).toEqual({ index, count: 3 });
      covered.push(...doc.scopes);
      for (const item of doc.items) {
        expect(all.has(item.vmId)).toBe(false);
        expect(doc.scopes).toContain(item.subscriptionId);
        all.set(item.vmId, item);
      }
    }
    expect(all.size).toBe(expectedVmInventory(azure).size);
    expect(covered.sort()).toEqual(azure.subscriptions.map((s) => s.subscriptionId).sort());
    expect((await runCli(["azure-vm-ips", "--simulate", "--shard", "3/3"])).code).toBe(2);
  });

  it("shows its flags in --help", async () => {
    const { code, stdout } = await runCli(["azure-vm-ips", "--help"]);
    expect(code).toBe(0);
    for (const flag of [
      "--subscriptions",
      "--management-group",
      "--no-classic",
      "--no-scale-sets",
      "--shard",
      "--cloud",
      "--arm-endpoint",
    ])
      expect(stdout).toContain(flag);
  });
});
