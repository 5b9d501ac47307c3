import { ResourceGraphClient } from "@azure/arm-resourcegraph";
import type { TokenCredential } from "@azure/core-auth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Clock,
  type Dataset,
  type Simulator,
  createRng,
  findDatasetProblems,
  generateDataset,
  startSimulator,
} from "../src/index.js";
import type { ArgResource, AzureDataset } from "../src/services/arg/index.js";
import { compileQuery, generateAzureDataset } from "../src/services/arg/index.js";
import { toObjects, toRows } from "../src/services/arg/kql.js";

const credential = (token = "test-principal-a"): TokenCredential => ({
  getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }),
});

function client(sim: Simulator, token?: string): ResourceGraphClient {
  return new ResourceGraphClient(credential(token), {
    endpoint: sim.httpsUrl,
    tlsOptions: { ca: sim.ca },
    retryOptions: { maxRetries: 0 },
  });
}

const SUB_A = "11111111-1111-4111-8111-111111111111";
const SUB_B = "22222222-2222-4222-8222-222222222222";

function row(
  sub: string,
  group: string,
  provider: string,
  kind: string,
  name: string,
  properties: Record<string, unknown>,
): ArgResource {
  return {
    id: `/subscriptions/${sub}/resourceGroups/${group}/providers/${provider}/${kind}/${name}`,
    name,
    type: `${provider}/${kind}`.toLowerCase(),
    location: "westeurope",
    resourceGroup: group.toLowerCase(),
    subscriptionId: sub,
    properties,
  };
}

/** A hand-written tenant: every join case the project's query meets, in ARG's raw shapes. */
function handDataset(): AzureDataset {
  const nicId = (n: string) =>
    `/subscriptions/${SUB_A}/resourceGroups/RG-One/providers/Microsoft.Network/networkInterfaces/${n}`;
  const vmId = (n: string) =>
    `/subscriptions/${SUB_A}/resourceGroups/RG-One/providers/Microsoft.Compute/virtualMachines/${n}`;
  const pipId = `/subscriptions/${SUB_A}/resourceGroups/RG-One/providers/Microsoft.Network/publicIPAddresses/pip1`;
  const many = Array.from({ length: 200 }, (_, i) => ({
    name: `c${i}`,
    properties: { privateIPAddress: `10.9.${i >> 8}.${i & 255}` },
  }));
  return {
    subscriptions: [
      { subscriptionId: SUB_A, displayName: "Prod", managementGroups: ["mg-prod", "root"] },
      { subscriptionId: SUB_B, displayName: "Dev", managementGroups: ["mg-dev", "root"] },
    ],
    resources: [
      row(SUB_A, "RG-One", "Microsoft.Compute", "virtualMachines", "vm1", {
        hardwareProfile: { vmSize: "Standard_B2s" },
        networkProfile: {
          networkInterfaces: [
            { id: nicId("NIC1").toUpperCase().replace("/SUBSCRIPTIONS/", "/subscriptions/") },
          ],
        },
      }),
      row(SUB_A, "RG-One", "Microsoft.Network", "networkInterfaces", "nic1", {
        virtualMachine: { id: vmId("VM1") },
        ipConfigurations: [
          {
            name: "a",
            properties: { privateIPAddress: "10.0.0.4", publicIPAddress: { id: pipId.toUpperCase() } },
          },
          { name: "b", properties: { privateIPAddress: "10.0.0.5" } },
        ],
      }),
      row(SUB_A, "RG-One", "Microsoft.Network", "publicIPAddresses", "pip1", { ipAddress: "20.1.2.3" }),
      row(SUB_A, "RG-One", "Microsoft.Network", "networkInterfaces", "big", {
        virtualMachine: { id: vmId("vm2") },
        ipConfigurations: many,
      }),
      row(SUB_A, "RG-One", "Microsoft.Compute", "virtualMachines", "vm2", {
        networkProfile: { networkInterfaces: [{ id: nicId("big") }] },
      }),
      row(SUB_B, "RG-Two", "Microsoft.ClassicCompute", "virtualMachines", "classic1", {
        instanceView: { privateIpAddress: "10.1.0.4", publicIpAddresses: ["40.0.0.1"] },
      }),
    ],
  };
}

describe("arg dataset", () => {
  it("generates a small section that passes the schema and the checks", () => {
    const dataset = generateDataset({ scale: "small", seed: 7, services: ["arg"] });
    expect(findDatasetProblems(dataset)).toEqual([]);
    const azure = dataset.azure as AzureDataset;
    const types = new Set(azure.resources.map((r) => r.type));
    expect([...types].sort()).toEqual([
      "microsoft.classiccompute/virtualmachines",
      "microsoft.compute/virtualmachines",
      "microsoft.compute/virtualmachinescalesets",
      "microsoft.network/networkinterfaces",
      "microsoft.network/publicipaddresses",
    ]);
    expect(azure.resources.every((r) => r.resourceGroup === r.resourceGroup.toLowerCase())).toBe(true);
    // Uniform instances, their NICs and public IPs are ComputeResources rows; Flexible ones ordinary VMs.
    const compute = new Set((azure.computeResources ?? []).map((r) => r.type));
    expect([...compute].sort()).toEqual([
      "microsoft.compute/virtualmachinescalesets/virtualmachines",
      "microsoft.compute/virtualmachinescalesets/virtualmachines/networkinterfaces",
      "microsoft.compute/virtualmachinescalesets/virtualmachines/networkinterfaces/ipconfigurations/publicipaddresses",
    ]);
    const flexible = azure.resources.filter(
      (r) => (r.properties.virtualMachineScaleSet as { id?: string } | undefined)?.id !== undefined,
    );
    expect(flexible.length).toBeGreaterThan(0);
  });

  it("refuses a ComputeResources row of another type", () => {
    const dataset = generateDataset({ scale: "small", seed: 7, services: ["arg"] });
    const azure = dataset.azure as AzureDataset;
    const vm = azure.resources.find((r) => r.type === "microsoft.compute/virtualmachines");
    azure.computeResources = [
      ...(azure.computeResources ?? []),
      { ...(vm as ArgResource), id: `${vm?.id}-copy` },
    ];
    expect(findDatasetProblems(dataset)).toContainEqual({
      path: `$.azure.computeResources[${(azure.computeResources?.length ?? 1) - 1}].type`,
      message: "is not a ComputeResources type (a Uniform scale-set instance, its NIC or its public IP)",
    });
  });

  it("is reproducible from the seed and honours the parameters", () => {
    const a = generateAzureDataset(createRng(3), { subscriptions: 20, armVms: 400, classicVms: 10 });
    const b = generateAzureDataset(createRng(3), { subscriptions: 20, armVms: 400, classicVms: 10 });
    expect(a).toEqual(b);
    const vms = a.resources.filter((r) => r.type === "microsoft.compute/virtualmachines");
    expect(vms).toHaveLength(400);
    expect(a.resources.filter((r) => r.type === "microsoft.classiccompute/virtualmachines")).toHaveLength(10);
    const nicCounts = vms.map(
      (v) => (v.properties.networkProfile as { networkInterfaces: unknown[] }).networkInterfaces.length,
    );
    expect(Math.min(...nicCounts)).toBe(1);
    expect(Math.max(...nicCounts)).toBe(3);
    const pips = a.resources.filter((r) => r.type === "microsoft.network/publicipaddresses").length;
    expect(pips).toBeGreaterThan(80);
    expect(pips).toBeLessThan(160);
  });

  it("names the JSON path of schema and reference problems", () => {
    const bad = handDataset();
    (bad.resources[0] as unknown as Record<string, unknown>).extra = 1;
    expect(findDatasetProblems({ azure: bad })).toContainEqual({
      path: "$.azure.resources[0].extra",
      message: "is not a known key",
    });
    const dup = handDataset();
    dup.resources.push({
      ...(dup.resources[0] as ArgResource),
      id: (dup.resources[0] as ArgResource).id
        .toUpperCase()
        .replace("/SUBSCRIPTIONS/", "/subscriptions/")
        .replace(/RESOURCEGROUPS/, "resourceGroups")
        .replace("/PROVIDERS/", "/providers/"),
    });
    expect(findDatasetProblems({ azure: dup }).map((p) => p.path)).toContain("$.azure.resources[6].id");
    const orphan = handDataset();
    orphan.subscriptions.pop();
    expect(findDatasetProblems({ azure: orphan })).toContainEqual({
      path: "$.azure.resources[5].subscriptionId",
      message: "names no subscription in $.azure.subscriptions",
    });
  });
});

describe("arg KQL subset", () => {
  const tables = { Resources: ["id", "name", "type", "properties"] };
  it("names clashing join columns with a 1 suffix and keeps unmatched left rows", () => {
    const q = compileQuery(
      "Resources | project id, k = tolower(name) | join kind=leftouter (Resources | project k = tolower(name), id) on k",
      tables,
    );
    expect(q.columns).toEqual(["id", "k", "k1", "id1"]);
    const rows = [
      { id: "A", name: "X", type: "t", properties: {} },
      { id: "B", name: "y", type: "t", properties: {} },
    ];
    const out = toObjects(q.run({ Resources: toRows(rows, tables.Resources) }));
    expect(out).toEqual([
      { id: "A", k: "x", k1: "x", id1: "A" },
      { id: "B", k: "y", k1: "y", id1: "B" },
    ]);
  });

  it("keeps a row for an empty array in mv-expand and caps at 128 items by default", () => {
    const q = compileQuery("Resources | mv-expand x = properties.list | project id, x", tables);
    const out = toObjects(
      q.run({
        Resources: toRows(
          [
            { id: "a", properties: { list: [] } },
            { id: "b", properties: { list: Array.from({ length: 300 }, (_, i) => i) } },
          ],
          tables.Resources,
        ),
      }),
    );
    expect(out.filter((r) => r.id === "a")).toEqual([{ id: "a", x: null }]);
    expect(out.filter((r) => r.id === "b")).toHaveLength(128);
  });

  it("refuses what it does not implement and what ARG forbids", () => {
    expect(() => compileQuery("Resources | parse name with x", tables)).toThrow(/not supported/);
    expect(() => compileQuery("Resources | where nosuch == 1", tables)).toThrow(
      /Failed to resolve scalar expression named 'nosuch'/,
    );
    expect(() => compileQuery("Resources | mv-expand x = properties.a limit 500", tables)).toThrow(
      /maximum of 400/,
    );
    const join = "| join kind=leftouter (Resources | project id) on id";
    expect(() => compileQuery(`Resources | project id ${join} ${join} ${join} ${join}`, tables)).toThrow(
      /at most 3/,
    );
  });
});

describe("arg service over HTTPS with the real SDK", () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ dataset: { azure: handDataset() }, services: ["arg"] });
  });
  afterAll(async () => {
    await sim.close();
  });

  const vmQuery = `Resources | where type =~ 'microsoft.compute/virtualmachines'
    | extend vmKey = tolower(id)
    | join kind=leftouter (Resources | where type =~ 'microsoft.network/networkinterfaces'
        | extend vmKey = tolower(tostring(properties.virtualMachine.id))
        | mv-expand ipconfig = properties.ipConfigurations limit 400
        | extend publicIpKey = tolower(tostring(ipconfig.properties.publicIPAddress.id))
        | join kind=leftouter (Resources | where type =~ 'microsoft.network/publicipaddresses'
            | project publicIpKey = tolower(id), publicIp = tostring(properties.ipAddress)) on publicIpKey
        | summarize ips = make_list(tostring(ipconfig.properties.privateIPAddress)), pubs = make_list(publicIp) by vmKey) on vmKey
    | project id, name, ips, pubs | order by id asc`;

  it("evaluates joins across mixed-case IDs, every IP configuration and mv-expand limit 400", async () => {
    const res = await client(sim).resources({
      query: vmQuery,
      options: { top: 1000, resultFormat: "objectArray" },
    });
    expect(res.totalRecords).toBe(2);
    expect(res.resultTruncated).toBe("false");
    const [vm1, vm2] = res.data as Array<{ name: string; ips: string[]; pubs: string[] }>;
    expect(vm1?.name).toBe("vm1");
    expect(vm1?.ips).toEqual(["10.0.0.4", "10.0.0.5"]);
    expect(vm1?.pubs).toEqual(["20.1.2.3"]);
    expect(vm2?.ips).toHaveLength(200);
  });

  it("pages with $skipToken when rows carry id, and with $skip", async () => {
    const c = client(sim, "pager");
    const q = "Resources | project id, name | order by id asc";
    const first = await c.resources({ query: q, options: { top: 4 } });
    expect(first.count).toBe(4);
    expect(first.totalRecords).toBe(6);
    expect(first.skipToken).toBeTypeOf("string");
    const second = await c.resources({ query: q, options: { skipToken: first.skipToken as string } });
    expect(second.count).toBe(2);
    expect(second.skipToken).toBeUndefined();
    const ids = [...(first.data as Array<{ id: string }>), ...(second.data as Array<{ id: string }>)].map(
      (r) => r.id,
    );
    expect(new Set(ids).size).toBe(6);
    const skipped = await c.resources({ query: q, options: { top: 2, skip: 4 } });
    expect((skipped.data as Array<{ id: string }>).map((r) => r.id)).toEqual(ids.slice(4));
  });

  it("truncates instead of paging when rows have no id, and answers the table format", async () => {
    const c = client(sim, "table");
    const res = await c.resources({
      query: "Resources | project name, type",
      options: { top: 3, resultFormat: "table" },
    });
    expect(res.resultTruncated).toBe("true");
    expect(res.skipToken).toBeUndefined();
    expect(res.data.columns).toEqual([
      { name: "name", type: "string" },
      { name: "type", type: "string" },
    ]);
    expect(res.data.rows).toHaveLength(3);
  });

  it("scopes to subscriptions, management groups and the tenant", async () => {
    const c = client(sim, "scopes");
    const q = "Resources | project id, subscriptionId";
    const count = async (extra: object) =>
      (await c.resources({ query: q, ...extra, options: { top: 1000 } })).totalRecords;
    expect(await count({ subscriptions: [SUB_B] })).toBe(1);
    expect(await count({ managementGroups: ["MG-PROD"] })).toBe(5);
    expect(await count({})).toBe(6);
    const names = await c.resources({
      query:
        "ResourceContainers | where type =~ 'microsoft.resources/subscriptions' | project subscriptionId, name",
      managementGroups: ["mg-dev"],
    });
    expect(names.data).toEqual([{ subscriptionId: SUB_B, name: "Dev" }]);
  });

  it("answers 400 InvalidQuery with ARG's error shape", async () => {
    const error = await client(sim, "bad")
      .resources({ query: "Resources | summarize by nosuch" })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 400, code: "BadRequest" });
    const details = (error as { details: { error: { details: Array<{ code: string; message: string }> } } })
      .details.error.details;
    expect(details[0]?.code).toBe("InvalidQuery");
    expect(details[1]).toMatchObject({
      code: "FailedToResolveScalarExpression",
      message: "Failed to resolve scalar expression named 'nosuch'",
      additionalProperties: { line: 1, characterPositionInLine: 25 },
    });
    const top = await client(sim, "bad")
      .resources({ query: "Resources | project id", options: { top: 5000 } })
      .catch((e: unknown) => e);
    expect(top).toMatchObject({ statusCode: 400 });
  });

  it("refuses a request without a bearer token", async () => {
    const res = await fetch(
      `${sim.httpUrl}/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "Resources | project id" }),
      },
    );
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("AuthenticationFailed");
  });
});

describe("arg quota", () => {
  function fakeClock(): Clock & { advance(ms: number): void } {
    let t = 0;
    return { now: () => t, date: () => new Date(1_800_000_000_000 + t), advance: (ms) => (t += ms) };
  }

  async function withSim(dataset: Dataset, clock: Clock, fn: (sim: Simulator) => Promise<void>) {
    const sim = await startSimulator({ dataset, services: ["arg"], clock });
    try {
      await fn(sim);
    } finally {
      await sim.close();
    }
  }

  it("counts 15 queries per 5 s per principal, reports it on every answer, then 429s without Retry-After", async () => {
    const clock = fakeClock();
    await withSim({ azure: handDataset() }, clock, async (sim) => {
      const c = client(sim, "quota-a");
      const seen: Array<[string | undefined, string | undefined]> = [];
      const onResponse = (raw: { headers: { get(n: string): string | undefined } }) =>
        seen.push([
          raw.headers.get("x-ms-user-quota-remaining"),
          raw.headers.get("x-ms-user-quota-resets-after"),
        ]);
      for (let i = 0; i < 15; i++) {
        if (i === 10) clock.advance(2_100);
        await c.resources({ query: "Resources | project id" }, { onResponse });
      }
      expect(seen.map((s) => s[0])).toEqual([
        "14",
        "13",
        "12",
        "11",
        "10",
        "9",
        "8",
        "7",
        "6",
        "5",
        "4",
        "3",
        "2",
        "1",
        "0",
      ]);
      expect(seen[0]?.[1]).toBe("00:00:05");
      expect(seen[10]?.[1]).toBe("00:00:03");
      const refused = await c
        .resources({ query: "Resources | project id" }, { onResponse })
        .catch((e: unknown) => e);
      expect(refused).toMatchObject({ statusCode: 429, code: "RateLimiting" });
      expect(
        (refused as { response: { headers: { get(n: string): string | undefined } } }).response.headers.get(
          "retry-after",
        ),
      ).toBeUndefined();
      expect(seen.at(-1)).toEqual(["0", "00:00:03"]);
      // Another principal has its own quota.
      await expect(
        client(sim, "quota-b").resources({ query: "Resources | project id" }),
      ).resolves.toMatchObject({ totalRecords: 6 });
      clock.advance(2_900);
      await c.resources({ query: "Resources | project id" }, { onResponse });
      expect(seen.at(-1)).toEqual(["14", "00:00:05"]);
      expect(sim.stats().throttled).toBe(1);
    });
  });

  it("sends Retry-After when the dataset asks for it", async () => {
    const clock = fakeClock();
    await withSim(
      { azure: { ...handDataset(), quota: { limit: 2, windowSeconds: 10, retryAfter: true } } },
      clock,
      async (sim) => {
        const c = client(sim, "quota-c");
        await c.resources({ query: "Resources | project id" });
        await c.resources({ query: "Resources | project id" });
        clock.advance(1_500);
        const refused = await c.resources({ query: "Resources | project id" }).catch((e: unknown) => e);
        expect(refused).toMatchObject({ statusCode: 429 });
        expect(
          (refused as { response: { headers: { get(n: string): string | undefined } } }).response.headers.get(
            "retry-after",
          ),
        ).toBe("9");
      },
    );
  });
});
