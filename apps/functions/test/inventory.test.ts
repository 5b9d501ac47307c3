import * as http from "node:http";
import type { AccessToken } from "@azure/core-auth";
import { InvocationContext } from "@azure/functions";
import { BlobServiceClient } from "@azure/storage-blob";
import {
  type AzuriteHandle,
  type Simulator,
  generateDataset,
  startAzurite,
  startSimulator,
} from "@cloudadmin/cloud-sim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AzureDataset,
  expectedVmInventory,
  startTrapListener,
  type TrapListener,
} from "@cloudadmin/cloud-sim";
import { createTimerHandler } from "../src/handler.js";
import {
  DEFAULT_SCHEDULE,
  runInventory,
  scheduleFromEnv,
  settingsFromEnv,
  timestampName,
} from "../src/inventory.js";

const timer = {
  isPastDue: false,
  schedule: { adjustForDST: true },
  scheduleStatus: { last: "", next: "", lastUpdated: "" },
};

describe("the vmIpInventory timer function against the ARG simulator and Azurite", () => {
  const azure = generateDataset({ scale: "small", seed: 3, services: ["arg"] }).azure as AzureDataset;
  let sim: Simulator;
  let azurite: AzuriteHandle;
  beforeAll(async () => {
    [sim, azurite] = await Promise.all([
      startSimulator({ dataset: { azure }, services: ["arg"] }),
      startAzurite(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([sim?.close(), azurite?.stop()]);
  });

  const env = () => ({
    VM_IPS_CONTAINER: "inventory",
    VM_IPS_STORAGE_CONNECTION_STRING: azurite.connectionString,
    ...sim.environment(),
  });

  it("writes vm-ips/<UTC timestamp>.json and vm-ips/latest.json with every VM", async () => {
    const logs: string[] = [];
    const context = new InvocationContext({
      functionName: "vmIpInventory",
      invocationId: "test-1",
      logHandler: (level, ...args) => logs.push(`${level}: ${args.join(" ")}`),
    });
    const handler = createTimerHandler({
      env: env(),
      ca: sim.ca,
      now: () => new Date("2026-11-28T06:00:00.250Z"),
    });
    const result = await handler(timer, context);
    expect(result.blobName).toBe("vm-ips/2026-11-28T060000Z.json");
    const truth = expectedVmInventory(azure);
    expect(result.vms).toBe(truth.size);

    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
      "inventory",
    );
    const names: string[] = [];
    for await (const b of container.listBlobsFlat({ prefix: "vm-ips/" })) names.push(b.name);
    expect(names.sort()).toEqual([
      "vm-ips/2026-11-28T060000Z.json",
      "vm-ips/latest.html",
      "vm-ips/latest.json",
    ]);
    // The HTML report of the same run (issue 16): every VM in its data block.
    const page = container.getBlobClient("vm-ips/latest.html");
    expect((await page.getProperties()).contentType).toBe("text/html; charset=utf-8");
    const html = (await page.downloadToBuffer()).toString("utf8");
    const data = JSON.parse(/id="report-data">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? "{}") as {
      rows: unknown[];
    };
    expect(data.rows).toHaveLength(expectedVmInventory(azure).size);
    const read = async (name: string) => {
      const blob = container.getBlobClient(name);
      const props = await blob.getProperties();
      expect(props.contentType).toBe("application/json");
      return JSON.parse((await blob.downloadToBuffer()).toString("utf8")) as {
        command: string;
        generatedAt: string;
        items: Array<{ vmId: string }>;
        errors: unknown[];
        summary: Record<string, number>;
      };
    };
    const doc = await read("vm-ips/2026-11-28T060000Z.json");
    expect(await read("vm-ips/latest.json")).toEqual(doc);
    expect(doc.command).toBe("azure-vm-ips");
    expect(doc.generatedAt).toBe("2026-11-28T06:00:00.250Z");
    expect(doc.errors).toEqual([]);
    expect(doc.summary).toMatchObject({ vms: truth.size, classicVms: 4, failedScopes: 0, warnings: 1 });
    for (const item of doc.items) {
      const { missingNics: _, ...expected } = truth.get(item.vmId.toLowerCase()) ?? { missingNics: [] };
      expect(item).toEqual(expected);
    }
    expect(logs.some((l) => l.startsWith("warning: VM edge-missing-nic"))).toBe(true);
    expect(
      logs.some((l) => l.includes(`wrote ${truth.size} VMs to inventory/vm-ips/2026-11-28T060000Z.json`)),
    ).toBe(true);
    expect(logs.join("\n")).not.toContain(sim.environment().CLOUDADMIN_ARM_TOKEN);
  });

  it("overwrites latest.json on the next run and keeps the earlier timestamped document", async () => {
    const handler = createTimerHandler({
      env: { ...env(), VM_IPS_INCLUDE_CLASSIC: "false" },
      ca: sim.ca,
      now: () => new Date("2026-11-28T12:00:00Z"),
    });
    const result = await handler(timer, new InvocationContext({ functionName: "vmIpInventory" }));
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
      "inventory",
    );
    const names: string[] = [];
    for await (const b of container.listBlobsFlat({ prefix: "vm-ips/" })) names.push(b.name);
    expect(names).toContain("vm-ips/2026-11-28T060000Z.json");
    expect(names).toContain("vm-ips/2026-11-28T120000Z.json");
    const latest = JSON.parse(
      (await container.getBlobClient("vm-ips/latest.json").downloadToBuffer()).toString(),
    ) as {
      items: unknown[];
      generatedAt: string;
    };
    expect(latest.generatedAt).toBe("2026-11-28T12:00:00.000Z");
    expect(latest.items).toHaveLength(expectedVmInventory(azure, { includeClassic: false }).size);
    expect(result.vms).toBe(latest.items.length);
  });

  it("fails without writing when Resource Graph refuses every scope", async () => {
    const handler = createTimerHandler({
      env: {
        ...env(),
        VM_IPS_CONTAINER: "refused",
        VM_IPS_SUBSCRIPTIONS: "99999999-9999-4999-8999-999999999999",
      },
      ca: sim.ca,
    });
    await expect(handler(timer, new InvocationContext({ functionName: "vmIpInventory" }))).rejects.toThrow(
      /could not be read for any scope .*no valid subscriptions/i,
    );
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
      "refused",
    );
    expect(await container.exists()).toBe(false);
  });
});

describe("the endpoint policy in the Functions app", () => {
  // arm.example.test is not loopback by name; a test-only resolver maps it to a loopback listener,
  // so nothing ever leaves the machine.
  let trap: TrapListener;
  beforeAll(async () => {
    trap = await startTrapListener({});
  });
  afterAll(() => trap.close());

  it("the resolver delivers plain traffic to the listener (control)", async () => {
    const before = trap.received();
    await new Promise<void>((resolve, reject) =>
      http
        .get(`http://arm.example.test:${trap.port}/`, { agent: false }, (res) => {
          res.resume();
          res.on("end", resolve);
        })
        .on("error", reject),
    );
    expect(trap.received()).toBeGreaterThan(before);
  });

  it("refuses CLOUDADMIN_ARM_ENDPOINT=http://<not loopback> before any token, and the listener receives nothing", async () => {
    const before = trap.received();
    let tokens = 0;
    const credential = {
      async getToken(): Promise<AccessToken> {
        tokens++;
        return { token: "test-token-functions-policy", expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    };
    const env = {
      VM_IPS_CONTAINER: "inventory",
      VM_IPS_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true",
      CLOUDADMIN_ARM_ENDPOINT: `http://arm.example.test:${trap.port}`,
      CLOUDADMIN_ARM_TOKEN: "test-token-functions-policy",
    };
    // At the app settings...
    expect(() => settingsFromEnv(env)).toThrow(
      /CLOUDADMIN_ARM_ENDPOINT .*plain http to a host that is not loopback/,
    );
    const handler = createTimerHandler({ env, credential });
    await expect(
      handler(timer, new InvocationContext({ functionName: "vmIpInventory" })),
    ).rejects.toMatchObject({ code: "ERR_CONFIG" });
    // ...and in the inventory itself, for settings built by hand.
    const settings = { ...settingsFromEnv({ ...env, CLOUDADMIN_ARM_ENDPOINT: undefined }) };
    settings.armEndpoint = `http://arm.example.test:${trap.port}`;
    await expect(runInventory(settings, { credential })).rejects.toMatchObject({ code: "ERR_CONFIG" });
    expect(tokens).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(trap.received()).toBe(before);
  });
});

describe("app settings", () => {
  it("defaults the schedule to every 6 hours and checks NCRONTAB's six fields", () => {
    expect(scheduleFromEnv({})).toBe(DEFAULT_SCHEDULE);
    expect(DEFAULT_SCHEDULE).toBe("0 0 */6 * * *");
    expect(scheduleFromEnv({ VM_IPS_SCHEDULE: "0 30 2 * * *" })).toBe("0 30 2 * * *");
    expect(() => scheduleFromEnv({ VM_IPS_SCHEDULE: "0 */6 * * *" })).toThrow(/6 fields/);
  });

  it("names the setting to fix", () => {
    expect(() => settingsFromEnv({})).toThrow(/VM_IPS_CONTAINER/);
    expect(() => settingsFromEnv({ VM_IPS_CONTAINER: "Bad_Name" })).toThrow(/not a valid container name/);
    expect(() => settingsFromEnv({ VM_IPS_CONTAINER: "inv" })).toThrow(/VM_IPS_STORAGE_URL/);
    const base = { VM_IPS_CONTAINER: "inv", VM_IPS_STORAGE_URL: "https://acct.blob.core.windows.net" };
    expect(() => settingsFromEnv({ ...base, AZURE_CLOUD: "Mars" })).toThrow(/AZURE_CLOUD/);
    expect(() =>
      settingsFromEnv({ ...base, VM_IPS_SUBSCRIPTIONS: "a", VM_IPS_MANAGEMENT_GROUP: "b" }),
    ).toThrow(/not both/);
    expect(settingsFromEnv({ ...base, VM_IPS_MANAGEMENT_GROUP: "corp", AZURE_CLIENT_ID: "id" })).toEqual({
      container: "inv",
      storageUrl: "https://acct.blob.core.windows.net",
      scope: { managementGroup: "corp" },
      includeClassic: true,
      cloud: "AzurePublicCloud",
      managedIdentityClientId: "id",
    });
    expect(timestampName(new Date("2026-01-02T03:04:05.678Z"))).toBe("2026-01-02T030405Z");
  });
});
