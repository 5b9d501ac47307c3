import { ResourceGraphClient } from "@azure/arm-resourcegraph";
import { StaticTokenCredential } from "@cloudadmin/auth";
import {
  type Dataset,
  type SimService,
  type Simulator,
  createRng,
  generateDataset,
  startSimulator,
} from "@cloudadmin/cloud-sim";
import type { CloudAdminError } from "@cloudadmin/errors";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ArgResource,
  type AzureDataset,
  type ExpectedVm,
  expectedVmInventory,
  generateAzureDataset,
} from "@cloudadmin/cloud-sim";
import { VirtualTimer } from "./virtual-timer.js";
import {
  type ListVmIpsOptions,
  type VmIpProgress,
  type VmIpRecord,
  type VmIpWarning,
  listVmIps,
} from "../src/index.js";

async function collect(options: ListVmIpsOptions): Promise<VmIpRecord[]> {
  const out: VmIpRecord[] = [];
  for await (const vm of listVmIps(options)) out.push(vm);
  return out;
}

function byId(records: VmIpRecord[]): Map<string, VmIpRecord> {
  const map = new Map<string, VmIpRecord>();
  for (const r of records) {
    expect(map.has(r.vmId.toLowerCase()), `${r.vmId} listed twice`).toBe(false);
    map.set(r.vmId.toLowerCase(), r);
  }
  return map;
}

function withoutMissing(expected: Map<string, ExpectedVm>): Map<string, VmIpRecord> {
  const out = new Map<string, VmIpRecord>();
  for (const [k, { missingNics: _, ...vm }] of expected) out.set(k, vm);
  return out;
}

function opts(sim: Simulator, token: string, extra: Partial<ListVmIpsOptions> = {}): ListVmIpsOptions {
  // Tokens are registered as secrets (and redacted from messages): keep them unlike any scope label.
  return {
    credential: new StaticTokenCredential(`test-token-${token}`),
    endpoint: sim.httpsUrl,
    ca: sim.ca,
    ...extra,
  };
}

/** Records every request body the real SDK sends, without answering (the ARG service does). */
function spy(bodies: Array<Record<string, unknown>>): SimService {
  return {
    name: "spy",
    classify: (req) => {
      if (req.url.pathname.toLowerCase().endsWith("/microsoft.resourcegraph/resources"))
        bodies.push(JSON.parse(req.body.toString()));
      return null;
    },
    handle: () => ({ status: 500 }),
    faultResponse: () => ({ status: 500 }),
  };
}

const SUB = "33333333-3333-4333-8333-333333333333";
const rid = (kind: string, name: string, group = "RG-Mixed") => {
  const provider = kind === "virtualMachines" ? "Microsoft.Compute" : "Microsoft.Network";
  return `/subscriptions/${SUB}/resourceGroups/${group}/providers/${provider}/${kind}/${name}`;
};
function res(kind: string, name: string, properties: Record<string, unknown>): ArgResource {
  const provider = kind === "virtualMachines" ? "Microsoft.Compute" : "Microsoft.Network";
  return {
    id: rid(kind, name),
    name,
    type: `${provider}/${kind}`.toLowerCase(),
    location: "westeurope",
    resourceGroup: "rg-mixed",
    subscriptionId: SUB,
    properties,
  };
}

describe("listVmIps against the Resource Graph simulator (real SDK, HTTPS)", () => {
  let sim: Simulator;
  let dataset: Dataset;
  let azure: AzureDataset;
  beforeAll(async () => {
    dataset = generateDataset({ scale: "small", seed: 11, services: ["arg"] });
    azure = dataset.azure as AzureDataset;
    sim = await startSimulator({ dataset, services: ["arg"], latency: 5 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it("lists every VM of the tenant exactly as the dataset's ground truth says", async () => {
    const warnings: VmIpWarning[] = [];
    const progress: VmIpProgress[] = [];
    const records = await collect(
      opts(sim, "tenant", {
        pageSize: 7,
        onWarning: (w) => warnings.push(w),
        onProgress: (p) => progress.push(p),
      }),
    );
    const expected = expectedVmInventory(azure);
    expect(byId(records)).toEqual(withoutMissing(expected));
    const missing = [...expected.values()].filter((vm) => vm.missingNics.length > 0).map((vm) => vm.vmId);
    expect(missing).toHaveLength(1);
    expect(warnings.map((w) => w.vmId)).toEqual(missing);
    expect(warnings[0]?.kind).toBe("missing-nic");
    expect(warnings[0]?.message).toMatch(
      /names 2 NICs but Resource Graph holds 1; the IPs of the 1 missing NIC are not listed/,
    );
    const last = progress.at(-1) as VmIpProgress;
    expect(last.records).toBe(expected.size);
    // Two queries: Resources (ARM, Flexible, classic) and ComputeResources (Uniform instances).
    const uniform = [...expected.values()].filter((vm) => vm.instanceId !== null).length;
    expect(uniform).toBeGreaterThan(0);
    expect(last.pagesDone).toBe(Math.ceil((expected.size - uniform) / 7) + Math.ceil(uniform / 7));
    expect(last.scopesDone).toBe(2);
    expect(last.scopesFailed).toBe(0);
    expect(last.throttled).toBe(0);
  });

  it("handles the edge cases: 0 and 3 NICs, several IP configurations, deallocated, NAT/LB public IPs, classic", async () => {
    const records = byId(await collect(opts(sim, "edges")));
    const find = (name: string) => [...records.values()].find((r) => r.vmName === name) as VmIpRecord;
    expect(find("edge-no-nic")).toMatchObject({
      networkInterfaces: [],
      privateIps: [],
      publicIps: [],
      powerState: "running",
    });
    const three = find("edge-three-nics");
    expect(three.networkInterfaces.map((n) => n.privateIps.length)).toEqual([3, 1, 2]);
    expect(three.privateIps).toHaveLength(6);
    expect(three.publicIps).toHaveLength(1);
    const deallocated = find("edge-deallocated");
    expect(deallocated.powerState).toBe("deallocated");
    expect(deallocated.publicIps).toEqual([]);
    expect(deallocated.privateIps).toHaveLength(1);
    const missing = find("edge-missing-nic");
    expect(missing.networkInterfaces).toHaveLength(1);
    expect(missing.privateIps).toHaveLength(1);
    // Public IPs of the NAT gateway and the load balancer belong to no VM.
    const natLb = azure.resources
      .filter((r) => r.name === "edge-nat-pip" || r.name === "edge-lb-pip")
      .map((r) => r.properties.ipAddress as string);
    expect(natLb).toHaveLength(2);
    const allPublic = [...records.values()].flatMap((r) => r.publicIps);
    for (const ip of natLb) expect(allPublic).not.toContain(ip);
    const classic = [...records.values()].filter((r) => r.deploymentModel === "classic");
    expect(classic).toHaveLength(4);
    for (const c of classic) {
      expect(c.networkInterfaces).toEqual([]);
      expect(c.vmId).toContain("Microsoft.ClassicCompute/virtualMachines");
    }
    expect(classic.some((c) => c.publicIps.length > 0)).toBe(true);
    // IP lists never hold null or empty strings.
    for (const r of records.values())
      for (const ip of [...r.privateIps, ...r.publicIps]) expect(ip).toMatch(/^[0-9a-f.:]+$/);
  });

  it("leaves classic VMs out when asked", async () => {
    const records = await collect(opts(sim, "no-classic", { includeClassic: false }));
    expect(records.some((r) => r.deploymentModel === "classic")).toBe(false);
    expect(byId(records)).toEqual(withoutMissing(expectedVmInventory(azure, { includeClassic: false })));
  });

  it("reads one management group", async () => {
    const records = await collect(opts(sim, "mg", { scope: { managementGroup: "mg-2" } }));
    const expected = expectedVmInventory(azure, { managementGroup: "mg-2" });
    expect(expected.size).toBeGreaterThan(0);
    expect(expected.size).toBeLessThan(expectedVmInventory(azure).size);
    expect(byId(records)).toEqual(withoutMissing(expected));
  });

  it("surfaces ARG's own message when it refuses the request", async () => {
    const errors: CloudAdminError[] = [];
    const records = await collect(
      opts(sim, "unknown-subs", {
        scope: { subscriptions: ["44444444-4444-4444-8444-444444444444"] },
        scaleSets: false,
        onError: (e) => errors.push(e),
      }),
    );
    expect(records).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      code: "ERR_REMOTE",
      status: 400,
      remoteCode: "NoValidSubscriptionsInQueryRequest",
    });
    expect(errors[0]?.message).toContain("There are no valid subscriptions in the query request.");
    await expect(
      collect(opts(sim, "unknown-subs", { scope: { subscriptions: ["not-a-guid"] } })),
    ).rejects.toThrow(/not a subscription ID/);
  });
});

describe("listVmIps: a query Resource Graph rejects", () => {
  it("reports InvalidQuery with ARG's own details once per scope, after one try in the safer shape", async () => {
    // A Resource Graph that refuses every query answers as ARG does.
    const strict: SimService = {
      name: "arg-strict",
      classify: (req) =>
        req.url.pathname.toLowerCase().endsWith("/microsoft.resourcegraph/resources")
          ? { operation: "Resources" }
          : null,
      handle: () => ({
        status: 400,
        headers: { "x-ms-user-quota-remaining": "14", "x-ms-user-quota-resets-after": "00:00:05" },
        body: {
          error: {
            code: "BadRequest",
            message:
              "Please provide below info when asking for support: timestamp = 2026-11-28T01:00:00Z, correlationId = 1.",
            details: [
              {
                code: "InvalidQuery",
                message:
                  "Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the error before retrying.",
              },
              { code: "UnknownFunction", message: "Unknown function: 'make_list'." },
            ],
          },
        },
      }),
      faultResponse: () => ({ status: 500 }),
    };
    const sim = await startSimulator({ dataset: {}, services: [], customServices: [strict] });
    try {
      const errors: CloudAdminError[] = [];
      const warnings: VmIpWarning[] = [];
      let last: VmIpProgress | undefined;
      const records = await collect(
        opts(sim, "strict", {
          scaleSets: false,
          onError: (e) => errors.push(e),
          onWarning: (w) => warnings.push(w),
          onProgress: (p) => (last = p),
        }),
      );
      expect(records).toEqual([]);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({
        code: "ERR_REMOTE",
        status: 400,
        remoteCode: "InvalidQuery",
        scope: "tenant",
        phase: "resources-query",
      });
      expect(errors[0]?.message).toBe(
        "Resource Graph rejected the query for tenant: InvalidQuery: Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the error before retrying.; UnknownFunction: Unknown function: 'make_list'.",
      );
      expect(warnings.map((w) => w.kind)).toEqual(["query-shape"]);
      // The grouped query, then once the per-IP shape; never more.
      expect(sim.stats().total).toBe(2);
      expect(last).toMatchObject({ scopesTotal: 1, scopesDone: 1, scopesFailed: 1 });
    } finally {
      await sim.close();
    }
  });
});

describe("listVmIps: IDs whose casing differs between VM, NIC and public IP records", () => {
  it("joins them case-insensitively and keeps NIC and IP configuration order", async () => {
    const azure: AzureDataset = {
      subscriptions: [{ subscriptionId: SUB, displayName: "Mixed" }],
      resources: [
        res("virtualMachines", "Web1", {
          hardwareProfile: { vmSize: "Standard_B2s" },
          networkProfile: {
            networkInterfaces: [
              { id: rid("networkInterfaces", "web1-nic-b").toLowerCase(), properties: { primary: false } },
              { id: rid("networkInterfaces", "WEB1-NIC-A", "RG-MIXED"), properties: { primary: true } },
            ],
          },
          extended: { instanceView: { powerState: { code: "PowerState/running" } } },
        }),
        res("networkInterfaces", "web1-nic-a", {
          virtualMachine: {
            id: rid("virtualMachines", "web1").toUpperCase().replace("/SUBSCRIPTIONS/", "/subscriptions/"),
          },
          ipConfigurations: [
            {
              name: "one",
              properties: {
                privateIPAddress: "10.1.0.4",
                publicIPAddress: { id: rid("publicIPAddresses", "WEB1-PIP").toLowerCase() },
              },
            },
            { name: "two", properties: { privateIPAddress: "10.1.0.5", privateIPAddressVersion: "IPv4" } },
            { name: "six", properties: { privateIPAddress: "fd00::5", privateIPAddressVersion: "IPv6" } },
          ],
        }),
        res("networkInterfaces", "web1-nic-b", {
          virtualMachine: { id: rid("virtualMachines", "Web1") },
          ipConfigurations: [
            {
              name: "one",
              properties: {
                privateIPAddress: "10.2.0.4",
                publicIPAddress: { id: rid("publicIPAddresses", "web1-pip-2") },
              },
            },
          ],
        }),
        res("publicIPAddresses", "web1-pip", { ipAddress: "51.0.0.1" }),
        res("publicIPAddresses", "web1-pip-2", { ipAddress: "51.0.0.2" }),
      ],
    };
    const sim = await startSimulator({ dataset: { azure }, services: ["arg"] });
    try {
      const [vm] = await collect(opts(sim, "mixed"));
      expect(vm).toEqual({
        subscriptionId: SUB,
        subscriptionName: "Mixed",
        resourceGroup: "rg-mixed",
        location: "westeurope",
        vmId: rid("virtualMachines", "Web1"),
        vmName: "Web1",
        vmSize: "Standard_B2s",
        powerState: "running",
        deploymentModel: "arm",
        scaleSet: null,
        instanceId: null,
        privateIps: ["10.1.0.4", "10.1.0.5", "fd00::5", "10.2.0.4"],
        publicIps: ["51.0.0.1", "51.0.0.2"],
        networkInterfaces: [
          {
            id: rid("networkInterfaces", "web1-nic-a"),
            privateIps: ["10.1.0.4", "10.1.0.5", "fd00::5"],
            publicIps: ["51.0.0.1"],
          },
          { id: rid("networkInterfaces", "web1-nic-b"), privateIps: ["10.2.0.4"], publicIps: ["51.0.0.2"] },
        ],
      });
    } finally {
      await sim.close();
    }
  });
});

describe("listVmIps: scale, batching and throttling", () => {
  it("batches more than 1000 subscriptions into requests of at most 300", async () => {
    const azure = generateAzureDataset(createRng(5), { subscriptions: 1100, armVms: 600, classicVms: 20 });
    const bodies: Array<Record<string, unknown>> = [];
    const sim = await startSimulator({
      dataset: { azure },
      services: ["arg"],
      customServices: [spy(bodies)],
    });
    try {
      const subscriptions = azure.subscriptions.map((s) => s.subscriptionId);
      const records = await collect(opts(sim, "batches", { scope: { subscriptions }, scaleSets: false }));
      expect(byId(records)).toEqual(withoutMissing(expectedVmInventory(azure)));
      const sizes = bodies.map((b) => (b.subscriptions as string[]).length).sort((a, b) => b - a);
      expect(sizes).toEqual([275, 275, 275, 275]);
      const sent = new Set(bodies.flatMap((b) => b.subscriptions as string[]));
      expect(sent.size).toBe(1100);
      expect(
        bodies.every((b) => (b.options as { resultFormat: string }).resultFormat === "objectArray"),
      ).toBe(true);
    } finally {
      await sim.close();
    }
  });

  it("reads a tenant that needs many pages under the quota without a single 429", async () => {
    const azure = {
      ...generateAzureDataset(createRng(8), { subscriptions: 40, armVms: 1900, classicVms: 30 }),
      quota: { limit: 4, windowSeconds: 1 },
    };
    // The job and the simulator share a virtual clock: five quota windows pass in milliseconds.
    const timer = new VirtualTimer();
    const sim = await startSimulator({ dataset: { azure }, services: ["arg"], clock: timer.clock });
    try {
      let last: VmIpProgress | undefined;
      const records = await collect(
        opts(sim, "paced", {
          pageSize: 100,
          scaleSets: false,
          timer,
          timeoutMs: 600_000,
          onProgress: (p) => (last = p),
        }),
      );
      expect(byId(records)).toEqual(withoutMissing(expectedVmInventory(azure)));
      const stats = sim.stats();
      expect(stats.byStatus).toEqual({ "200": 20 });
      expect(stats.throttled).toBe(0);
      expect(last).toMatchObject({ pagesDone: 20, pagesTotal: 20, throttled: 0, retries: 0, records: 1930 });
      // It waited for the windows (20 queries at 4 per window: at least 4 window ends).
      expect(last?.quotaWaitMs).toBeGreaterThanOrEqual(3000);
      // The quota was really the limit: no window held more than 4 queries.
      const starts = sim.requestLog.map((e) => e.t);
      for (const t of starts)
        expect(starts.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(4);
    } finally {
      await sim.close();
    }
  });

  it("retries a 429 without Retry-After when another client has spent the quota", async () => {
    const azure = {
      ...generateAzureDataset(createRng(9), { subscriptions: 5, armVms: 120, classicVms: 0 }),
      quota: { limit: 3, windowSeconds: 1 },
    };
    const timer = new VirtualTimer();
    const sim = await startSimulator({ dataset: { azure }, services: ["arg"], clock: timer.clock });
    try {
      // Another tool of the same principal spends the window first.
      const other = new ResourceGraphClient(new StaticTokenCredential("test-token-shared-principal"), {
        endpoint: sim.httpsUrl,
        tlsOptions: { ca: sim.ca },
      });
      for (let i = 0; i < 3; i++) await other.resources({ query: "Resources | project id" });
      let last: VmIpProgress | undefined;
      const records = await collect(
        opts(sim, "shared-principal", {
          pageSize: 50,
          scaleSets: false,
          timer,
          timeoutMs: 600_000,
          random: () => 0.5,
          onProgress: (p) => (last = p),
        }),
      );
      expect(byId(records)).toEqual(withoutMissing(expectedVmInventory(azure)));
      expect(sim.stats().byStatus["429"]).toBe(1);
      expect(last?.throttled).toBe(1);
      expect(last?.retries).toBe(1);
      const refused = sim.requestLog.find((e) => e.status === 429);
      expect(refused).toBeDefined();
      // No Retry-After and no quota left: the documented 1-5 s back-off (random 0.5 -> 3 s).
      // The 429 said the quota resets in 00:00:01: the job waited for that (+40 ms margin), no longer.
      expect(timer.slept).toContain(1040);
    } finally {
      await sim.close();
    }
  });

  it("retries throttling and 5xx injected by the service, with Retry-After", async () => {
    const azure = generateAzureDataset(createRng(10), { subscriptions: 5, armVms: 200, classicVms: 5 });
    const timer = new VirtualTimer();
    const sim = await startSimulator({
      dataset: { azure },
      services: ["arg"],
      faults: { throttleRate: 0.1, errorRate: 0.1 },
      seed: 4,
      clock: timer.clock,
    });
    try {
      let last: VmIpProgress | undefined;
      const records = await collect(
        opts(sim, "faults", {
          pageSize: 40,
          random: () => 0,
          timer,
          timeoutMs: 600_000,
          onProgress: (p) => (last = p),
        }),
      );
      expect(byId(records)).toEqual(withoutMissing(expectedVmInventory(azure)));
      const stats = sim.stats();
      expect(stats.faults.throttle + stats.faults.error).toBeGreaterThan(0);
      expect(last?.retries).toBe(stats.faults.throttle + stats.faults.error);
      // Each injected 429 said Retry-After: 1, and the job waited that long before the next query.
      if (stats.faults.throttle > 0) expect(timer.slept.some((ms) => ms >= 1000)).toBe(true);
    } finally {
      await sim.close();
    }
  });

  it("stops with AbortedError when the signal aborts", async () => {
    const azure = generateAzureDataset(createRng(12), { subscriptions: 3, armVms: 50, classicVms: 0 });
    const sim = await startSimulator({ dataset: { azure }, services: ["arg"], latency: 200 });
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50);
      await expect(collect(opts(sim, "abort", { signal: controller.signal }))).rejects.toMatchObject({
        code: "ERR_ABORTED",
      });
    } finally {
      await sim.close();
    }
  });
});
