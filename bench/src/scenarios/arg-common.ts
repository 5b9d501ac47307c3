import { isDeepStrictEqual } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ResourceGraphClient } from "@azure/arm-resourcegraph";
import { StaticTokenCredential } from "@cloudadmin/auth";
import {
  listVmIps,
  MAX_PAGE,
  type VmIpProgress,
  type VmIpRecord,
  type VmIpScope,
  buildVmIpQuery,
} from "@cloudadmin/azure-vm-ips";
import { createRng, startSimulator } from "@cloudadmin/cloud-sim";
import {
  type AzureDataset,
  type AzureGenerateOptions,
  expectedVmInventory,
  generateAzureDataset,
} from "@cloudadmin/cloud-sim";
import { benchResult, measureRequestRate, timed } from "../measure.js";
import type { BenchContext, BenchResult } from "../scenario.js";
import { type RemoteSimulator, startSimulatorWorker } from "../sim-worker.js";
import type { ArgSimWorkerData } from "./arg-sim-worker.js";

/** SPEC section 8: 150 ms + 0.01 ms per row; 15 queries per 5 s per principal. */
export const ARG_LATENCY = { baseMs: 150, perUnitMs: 0.01 };
export const QUOTA = { limit: 15, windowMs: 5000 };

export interface ArgScenarioSpec {
  name: string;
  seed: number;
  dataset: AzureGenerateOptions;
  scope: (azure: AzureDataset) => VmIpScope;
  /** Baseline pages actually run (the rest extrapolated per page); undefined = all. */
  baselinePages?: number;
}

/**
 * The model's lower bound for any client: the query needs `pages` pages of 1000 rows (one row per
 * VM is the fewest rows any correct query can return), and the quota lets the k-th request start
 * no earlier than floor(k / 15) windows after the first; the last page then takes its latency.
 */
export function argBoundMs(pages: number, lastPageRows: number): number {
  const lastStart = Math.floor((pages - 1) / QUOTA.limit) * QUOTA.windowMs;
  return lastStart + ARG_LATENCY.baseMs + ARG_LATENCY.perUnitMs * lastPageRows;
}

function credential(principal: string) {
  return new StaticTokenCredential(`bench-${principal}`);
}

/** The calibrated request rate of the same SDK client on a trivial query, no latency, no quota. */
async function calibrate(azure: AzureDataset): Promise<number> {
  const small: AzureDataset = {
    subscriptions: azure.subscriptions.slice(0, 1),
    resources: azure.resources
      .filter((r) => r.subscriptionId === azure.subscriptions[0]?.subscriptionId)
      .slice(0, 1),
    quota: { limit: 1_000_000_000, windowSeconds: 1 },
  };
  const sim = await startSimulator({ dataset: { azure: small }, services: ["arg"] });
  try {
    const client = new ResourceGraphClient(credential("calibration"), {
      endpoint: sim.httpsUrl,
      tlsOptions: { ca: sim.ca },
      retryOptions: { maxRetries: 0 },
    });
    return await measureRequestRate(() =>
      client.resources({ query: "Resources | project id", options: { top: 1 } }),
    );
  } finally {
    await sim.close();
  }
}

/**
 * A full garbage collection before a timed phase, so one scenario's (or the generator's) garbage is
 * not collected on the next one's clock. `--expose-gc` set at run time gives `gc` to a new context.
 */
function settleHeap(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

/** The simulator running in a worker thread (see arg-sim-worker.ts). */
type RemoteSim = RemoteSimulator<{ httpsUrl: string; ca: string }>;

const startSimWorker = (data: ArgSimWorkerData): Promise<RemoteSim> =>
  startSimulatorWorker(new URL("./arg-sim-worker.js", import.meta.url), data);

/**
 * What `Search-AzGraph -First 1000` (and the original C# function) did with the same SDK: one
 * request at a time, following `$skipToken`. It has no pacing; on a 429 (which carries no
 * Retry-After, so the SDK itself gives up) it waits what `x-ms-user-quota-resets-after` says and
 * repeats the page, as a user re-running the cmdlet would.
 */
async function baseline(sim: RemoteSim, scope: VmIpScope, maxPages: number | undefined, signal: AbortSignal) {
  const client = new ResourceGraphClient(credential("baseline"), {
    endpoint: sim.httpsUrl,
    tlsOptions: { ca: sim.ca },
  });
  const request =
    "subscriptions" in scope
      ? { subscriptions: scope.subscriptions }
      : "managementGroup" in scope
        ? { managementGroups: [scope.managementGroup] }
        : {};
  const query = buildVmIpQuery({ includeClassic: true });
  let pages = 0;
  let rows = 0;
  let throttled = 0;
  const started = performance.now();
  let skipToken: string | undefined;
  do {
    signal.throwIfAborted();
    let resetsAfter = "";
    try {
      const res = await client.resources(
        {
          ...request,
          query,
          options: { top: MAX_PAGE, resultFormat: "objectArray", ...(skipToken ? { skipToken } : {}) },
        },
        {
          onResponse: (raw) => {
            resetsAfter = raw.headers.get("x-ms-user-quota-resets-after") ?? "";
          },
        },
      );
      pages++;
      rows += (res.data as unknown[]).length;
      skipToken = res.skipToken;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 429) throw error;
      throttled++;
      const [h, m, s] = resetsAfter.split(":").map(Number);
      await new Promise((r) => setTimeout(r, ((h ?? 0) * 3600 + (m ?? 0) * 60 + (s ?? 1)) * 1000));
    }
  } while (skipToken && (maxPages === undefined || pages < maxPages));
  return { ms: performance.now() - started, pages, rows, throttled };
}

/** Runs one ARG scenario: calibration, the job through its library, the bound, the baseline. */
export async function runArgScenario(ctx: BenchContext, spec: ArgScenarioSpec): Promise<BenchResult> {
  const workerData: ArgSimWorkerData = {
    seed: spec.seed,
    options: spec.dataset,
    quota: { limit: QUOTA.limit, windowSeconds: QUOTA.windowMs / 1000 },
    latency: ARG_LATENCY,
  };
  // The worker generates the same seeded dataset meanwhile.
  const starting = startSimWorker(workerData);
  let azure: AzureDataset | undefined = generateAzureDataset(createRng(spec.seed).fork("arg"), spec.dataset);
  const scope = spec.scope(azure);
  const counts = { subscriptions: azure.subscriptions.length, rows: azure.resources.length };
  const truth = expectedVmInventory(
    azure,
    "subscriptions" in scope ? { subscriptions: scope.subscriptions } : {},
  );
  const pages = Math.ceil(truth.size / MAX_PAGE);
  const boundModelMs = argBoundMs(pages, truth.size - (pages - 1) * MAX_PAGE);
  ctx.log(
    `${counts.subscriptions} subscriptions, ${truth.size} VMs, ${counts.rows} ARG rows, ${pages} pages; model bound ${Math.round(boundModelMs)} ms`,
  );

  const requestRate = await calibrate(azure);
  ctx.log(`calibrated: ${Math.round(requestRate)} requests/s on trivial requests`);
  // The client's thread keeps only the ground truth while it is timed (the simulator has its own copy).
  azure = undefined;

  const sim = await starting;
  try {
    // The simulator evaluates a query once per scope and keeps the result for the pages (as ARG's
    // continuation context does); that first evaluation is the simulator's own CPU, not part of
    // ARG's latency model. It is done before timing, with another principal (its own quota), which
    // reads one quota window of pages so that the client's code is compiled as well (the baseline,
    // which runs later, gets the same).
    const warm = timed(async () => {
      let n = 0;
      for await (const _ of listVmIps({
        credential: credential("warm-up"),
        endpoint: sim.httpsUrl,
        ca: sim.ca,
        scope,
      })) {
        if (++n >= QUOTA.limit * MAX_PAGE) break;
      }
    });
    ctx.log(`simulator warm-up (query evaluation): ${Math.round((await warm).ms)} ms`);
    await sim.resetStats();
    settleHeap();

    let last: VmIpProgress | undefined;
    const { ms, value: records } = await timed(async () => {
      const out: VmIpRecord[] = [];
      for await (const vm of listVmIps({
        credential: credential("run"),
        endpoint: sim.httpsUrl,
        ca: sim.ca,
        scope,
        signal: ctx.signal,
        onProgress: (p) => {
          last = p;
        },
      })) {
        out.push(vm);
      }
      return out;
    });
    const stats = await sim.stats();
    let correct = records.length === truth.size;
    for (const r of records) {
      const expected = truth.get(r.vmId.toLowerCase());
      if (!expected) {
        correct = false;
        break;
      }
      const { missingNics: _, ...vm } = expected;
      if (!isDeepStrictEqual(vm, r)) {
        correct = false;
        break;
      }
    }
    ctx.log(
      `run: ${Math.round(ms)} ms, ${records.length} VMs, ${stats.total} requests, ${stats.throttled} throttled, correct ${correct}`,
    );

    settleHeap();
    const base = await baseline(sim, scope, spec.baselinePages, ctx.signal);
    const subset = spec.baselinePages !== undefined && base.pages < pages;
    ctx.log(
      `baseline: ${Math.round(base.ms)} ms for ${base.pages} pages (${base.throttled} x 429)${subset ? `, extrapolated to ${pages} pages` : ""}`,
    );
    return benchResult({
      scenario: spec.name,
      wallMs: ms,
      boundModelMs,
      requests: stats.total,
      requestRate,
      baselineMs: base.ms,
      ...(subset ? { baselineUnits: base.pages, units: pages } : {}),
      throttled: stats.throttled,
      retries: last?.retries ?? 0,
      correct,
      extra: {
        subscriptions: counts.subscriptions,
        vms: truth.size,
        pages,
        baselineThrottled: base.throttled,
        ...(subset
          ? {
              baselineSubset: `first ${base.pages} of ${pages} pages run (${Math.round(base.ms)} ms), the rest extrapolated per page`,
            }
          : {}),
      },
    });
  } finally {
    await sim.close();
  }
}
