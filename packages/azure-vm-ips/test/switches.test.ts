import { StaticTokenCredential } from "@cloudadmin/auth";
import {
  type AzureDataset,
  type ExpectedVm,
  type Simulator,
  expectedVmInventory,
  generateDataset,
  startSimulator,
} from "@cloudadmin/cloud-sim";
import type { CloudAdminError } from "@cloudadmin/errors";
import { shardOf } from "@cloudadmin/paging";
import { describe, expect, it } from "vitest";
import {
  type ListVmIpsOptions,
  type VmIpProgress,
  type VmIpRecord,
  type VmIpWarning,
  listVmIps,
  probeResourceGraph,
} from "../src/index.js";
import { VirtualTimer } from "./virtual-timer.js";

type ArgServiceSettings = NonNullable<AzureDataset["service"]>;
const azure = generateDataset({ scale: "small", seed: 21, services: ["arg"] }).azure as AzureDataset;

function truth(options: Parameters<typeof expectedVmInventory>[1] = {}): Map<string, VmIpRecord> {
  const out = new Map<string, VmIpRecord>();
  for (const [k, { missingNics: _, ...vm }] of expectedVmInventory(azure, options) as Map<string, ExpectedVm>)
    out.set(k, vm);
  return out;
}

async function run(sim: Simulator, extra: Partial<ListVmIpsOptions> = {}) {
  const records = new Map<string, VmIpRecord>();
  const warnings: VmIpWarning[] = [];
  const errors: CloudAdminError[] = [];
  let last: VmIpProgress | undefined;
  const timer = extra.timer ?? new VirtualTimer();
  for await (const vm of listVmIps({
    credential: new StaticTokenCredential("test-token-switches"),
    endpoint: sim.httpsUrl,
    ca: sim.ca,
    pageSize: 5,
    timer,
    timeoutMs: 600_000,
    onWarning: (w) => warnings.push(w),
    onError: (e) => errors.push(e),
    onProgress: (p) => (last = p),
    ...extra,
  })) {
    expect(records.has(vm.vmId.toLowerCase()), `${vm.vmId} listed twice`).toBe(false);
    records.set(vm.vmId.toLowerCase(), vm);
  }
  return { records, warnings, errors, last };
}

async function simulate(service: ArgServiceSettings, quota = { limit: 50, windowSeconds: 5 }) {
  const timer = new VirtualTimer();
  const sim = await startSimulator({
    dataset: { azure: { ...azure, service, quota } },
    services: ["arg"],
    clock: timer.clock,
  });
  return { sim, timer };
}

describe("listVmIps in every position of the simulator's ARG switches (real SDK)", () => {
  const positions: Array<{ name: string; service: ArgServiceSettings; fallback: boolean }> = [
    { name: "nested summarize paged (default)", service: {}, fallback: false },
    {
      name: "nested summarize: first page only, silently",
      service: { nestedSummarize: "first-page" },
      fallback: true,
    },
    {
      name: "nested summarize: resultTruncated without $skipToken",
      service: { nestedSummarize: "truncated" },
      fallback: true,
    },
    {
      name: "pack() unknown: InvalidQuery naming it",
      service: { unsupportedFunctions: ["pack"] },
      fallback: true,
    },
    { name: "no quota headers", service: { quotaHeaders: false }, fallback: false },
  ];
  for (const position of positions) {
    it(`lists every VM, Uniform and Flexible scale-set instances included: ${position.name}`, async () => {
      const { sim, timer } = await simulate(position.service);
      try {
        const { records, warnings, errors, last } = await run(sim, { timer });
        expect(errors).toEqual([]);
        expect(records).toEqual(truth());
        const shapeWarnings = warnings.filter((w) => w.kind === "query-shape");
        // The fallback is said once per run, never silently.
        expect(shapeWarnings).toHaveLength(position.fallback ? 1 : 0);
        expect(last).toMatchObject({ scopesTotal: 2, scopesDone: 2, scopesFailed: 0 });
        const uniform = [...records.values()].filter((r) => r.instanceId !== null);
        const flexible = [...records.values()].filter((r) => r.scaleSet !== null && r.instanceId === null);
        expect(uniform.length).toBeGreaterThan(0);
        expect(flexible.length).toBeGreaterThan(0);
        expect(uniform.some((r) => r.publicIps.length > 0)).toBe(true);
        for (const r of uniform) expect(r.vmId.startsWith(`${r.scaleSet}/virtualMachines/`)).toBe(true);
        expect(sim.stats().throttled).toBe(0);
      } finally {
        await sim.close();
      }
    });
  }

  it("leaves scale-set instances out with scaleSets: false, and sends no ComputeResources query", async () => {
    const { sim, timer } = await simulate({});
    try {
      const { records } = await run(sim, { timer, scaleSets: false });
      expect(records).toEqual(truth({ scaleSets: false }));
      expect([...records.values()].every((r) => r.scaleSet === null)).toBe(true);
    } finally {
      await sim.close();
    }
  });

  it("without quota headers, paces from the 429s alone and still lists everything", async () => {
    const { sim, timer } = await simulate({ quotaHeaders: false }, { limit: 3, windowSeconds: 1 });
    try {
      const { records, errors, last } = await run(sim, { timer, random: () => 0 });
      expect(errors).toEqual([]);
      expect(records).toEqual(truth());
      expect(last?.throttled).toBeGreaterThan(0);
      expect(last?.retries).toBe(last?.throttled);
    } finally {
      await sim.close();
    }
  });
});

describe("listVmIps stops fetching while its consumer is not reading", () => {
  it("holds at most concurrency + 2 pages ahead of the consumer", async () => {
    const { sim, timer } = await simulate({});
    try {
      const iterator = listVmIps({
        credential: new StaticTokenCredential("test-token-backpressure"),
        endpoint: sim.httpsUrl,
        ca: sim.ca,
        pageSize: 2,
        concurrency: 2,
        scaleSets: false,
        timer,
        timeoutMs: 600_000,
      })[Symbol.asyncIterator]();
      const first = await iterator.next();
      expect(first.done).toBe(false);
      // A small real pause: a job without backpressure would fetch all ~40 pages meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const whileLagging = sim.stats().total;
      expect(whileLagging).toBeLessThanOrEqual(1 + 2 + 2 + 1);
      let n = 1;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) n++;
      expect(n).toBe(truth({ scaleSets: false }).size);
      expect(sim.stats().total).toBeGreaterThan(whileLagging + 10);
    } finally {
      await sim.close();
    }
  });
});

describe("listVmIps with a shard", () => {
  it("the union of n shards is the unsharded run, for n = 1, 3 and 7", async () => {
    const { sim, timer } = await simulate({}, { limit: 500, windowSeconds: 5 });
    try {
      const whole = (await run(sim, { timer })).records;
      expect(whole).toEqual(truth());
      for (const count of [1, 3, 7]) {
        const union = new Map<string, VmIpRecord>();
        const covered: string[] = [];
        for (let index = 0; index < count; index++) {
          let scopes: string[] | undefined;
          const { records } = await run(sim, {
            timer,
            shard: { index, count },
            onScopes: (s) => (scopes = s),
          });
          for (const s of scopes ?? []) expect(shardOf(s, count)).toBe(index);
          covered.push(...(scopes ?? []));
          for (const [k, v] of records) {
            expect(union.has(k)).toBe(false);
            expect(shardOf(v.subscriptionId, count)).toBe(index);
            union.set(k, v);
          }
        }
        expect(union).toEqual(whole);
        expect(covered.map((s) => s.toLowerCase()).sort()).toEqual(
          azure.subscriptions.map((s) => s.subscriptionId.toLowerCase()).sort(),
        );
      }
    } finally {
      await sim.close();
    }
  });
});

describe("probeResourceGraph in each switch position", () => {
  const cases: Array<{ service: ArgServiceSettings; expected: Array<"holds" | "differs" | "unknown"> }> = [
    { service: {}, expected: ["holds", "holds", "holds"] },
    { service: { nestedSummarize: "first-page" }, expected: ["differs", "holds", "holds"] },
    { service: { nestedSummarize: "truncated" }, expected: ["differs", "holds", "holds"] },
    { service: { unsupportedFunctions: ["pack"] }, expected: ["differs", "holds", "holds"] },
    { service: { quotaHeaders: false }, expected: ["holds", "differs", "holds"] },
  ];
  for (const c of cases) {
    it(`reports ${c.expected.join("/")} for ${JSON.stringify(c.service)}`, async () => {
      const { sim } = await simulate(c.service);
      try {
        const results = await probeResourceGraph({
          credential: new StaticTokenCredential("test-token-probe"),
          endpoint: sim.httpsUrl,
          ca: sim.ca,
        });
        expect(results.map((r) => r.status)).toEqual(c.expected);
        expect(results.map((r) => r.assumption)).toEqual([
          "Resource Graph accepts the inventory's query and pages it",
          "Resource Graph sends the quota headers (x-ms-user-quota-remaining, x-ms-user-quota-resets-after)",
          "ComputeResources (Uniform scale-set instances) is readable",
        ]);
        for (const r of results) expect(r.detail).not.toContain("test-token-probe");
      } finally {
        await sim.close();
      }
    });
  }

  it("reports ComputeResources as differing where the table is unknown", async () => {
    const { sim } = await simulate({});
    try {
      const results = await probeResourceGraph({
        credential: new StaticTokenCredential("test-token-probe-2"),
        endpoint: sim.httpsUrl,
        ca: sim.ca,
      });
      expect(results[2]?.detail).toMatch(/readable; \d+ Uniform scale-set instances/);
    } finally {
      await sim.close();
    }
  });
});

describe("listVmIps under a per-request timeout", () => {
  it("abandons an answer that does not come within timeoutMs (ERR_TIMEOUT) and retries it", async () => {
    // Half the answers hang for 3 s; the job gives each attempt 250 ms (small real delays).
    const sim = await startSimulator({
      dataset: { azure },
      services: ["arg"],
      faults: { slowRate: 0.5, slowMs: 3000 },
      seed: 7,
    });
    try {
      const errors: CloudAdminError[] = [];
      const records = new Map<string, VmIpRecord>();
      let last: VmIpProgress | undefined;
      for await (const vm of listVmIps({
        credential: new StaticTokenCredential("test-token-timeout"),
        endpoint: sim.httpsUrl,
        ca: sim.ca,
        pageSize: 20,
        timeoutMs: 250,
        maxRetries: 10,
        random: () => 0,
        onError: (e) => errors.push(e),
        onProgress: (p) => (last = p),
      }))
        records.set(vm.vmId.toLowerCase(), vm);
      expect(errors).toEqual([]);
      expect(records).toEqual(truth());
      expect(sim.stats().faults.slow).toBeGreaterThan(0);
      // Every slow answer was abandoned and its request sent again.
      expect(last?.retries).toBe(sim.stats().faults.slow);
    } finally {
      await sim.close();
    }
  });

  it("reports ERR_TIMEOUT for the scope when every attempt times out", async () => {
    const sim = await startSimulator({
      dataset: { azure },
      services: ["arg"],
      faults: { slowRate: 1, slowMs: 2000 },
    });
    try {
      const errors: CloudAdminError[] = [];
      for await (const _ of listVmIps({
        credential: new StaticTokenCredential("test-token-timeout-2"),
        endpoint: sim.httpsUrl,
        ca: sim.ca,
        scaleSets: false,
        timeoutMs: 100,
        maxRetries: 1,
        random: () => 0,
        onError: (e) => errors.push(e),
      })) {
        // nothing arrives
      }
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ code: "ERR_TIMEOUT", scope: "tenant", phase: "resources-query" });
      expect(errors[0]?.message).toMatch(
        /gave up after 2 attempts: the Resource Graph query for tenant got no answer within 0.1 s/,
      );
    } finally {
      await sim.close();
    }
  });
});
