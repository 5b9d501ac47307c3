import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
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
import { createRng } from "@cloudadmin/cloud-sim";
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
 * The model's lower bound for any client: the queries need `pages` pages of 1000 rows (one row per
 * VM is the fewest rows any correct query can return; Uniform scale-set instances are a second
 * query, ARG allowing one cross-table join per query), and the quota lets the k-th request start
 * no earlier than floor(k / 15) windows after the first; the last page then takes its latency.
 */
export function argBoundMs(pages: number, lastPageRows: number): number {
  const lastStart = Math.floor((pages - 1) / QUOTA.limit) * QUOTA.windowMs;
  return lastStart + ARG_LATENCY.baseMs + ARG_LATENCY.perUnitMs * lastPageRows;
}

function credential(principal: string) {
  return new StaticTokenCredential(`bench-${principal}`);
}

/**
 * The calibrated request rate of the same SDK client on a trivial query against the calibration
 * simulator of the same worker (no latency, no quota; see arg-sim-worker.ts).
 */
async function calibrate(sim: RemoteSim): Promise<number> {
  const client = new ResourceGraphClient(credential("calibration"), {
    endpoint: sim.calibrationUrl,
    tlsOptions: { ca: sim.calibrationCa },
    retryOptions: { maxRetries: 0 },
  });
  return measureRequestRate(() => client.resources({ query: "Resources | project id", options: { top: 1 } }));
}

/** Best of three, in ms per MB: `step` over `bytes`. */
function msPerMb(bytes: number, step: () => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    step();
    best = Math.min(best, performance.now() - start);
  }
  return best / (bytes / 1e6);
}

/**
 * The CPU rates (ms per MB) of what any HTTPS client must do with the bytes of an answer, measured
 * in this run on this machine: decrypt them (AES-256-GCM, the suite the simulator's TLS
 * negotiates), decode UTF-8, `JSON.parse`. `sample` is a body like the ones the run reads.
 */
function bytesCpuRates(sample: string): { aes: number; utf8: number; json: number } {
  const buffer = Buffer.from(sample, "utf8");
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const sealed = Buffer.concat([cipher.update(buffer), cipher.final()]);
  const tag = cipher.getAuthTag();
  const aes = msPerMb(buffer.length, () => {
    const d = createDecipheriv("aes-256-gcm", key, iv);
    d.setAuthTag(tag);
    d.update(sealed);
    d.final();
  });
  const utf8 = msPerMb(buffer.length, () => void buffer.toString("utf8"));
  const json = msPerMb(buffer.length, () => void JSON.parse(sample));
  return { aes, utf8, json };
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
type RemoteSim = RemoteSimulator<{
  httpsUrl: string;
  ca: string;
  calibrationUrl: string;
  calibrationCa: string;
}>;

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
  const queries = [
    buildVmIpQuery({ includeClassic: true }),
    buildVmIpQuery({ includeClassic: true, table: "uniform" }),
  ];
  let pages = 0;
  let rows = 0;
  let throttled = 0;
  const started = performance.now();
  for (const query of queries) {
    let skipToken: string | undefined;
    // A 429 repeats the same page (the first one included).
    for (let more = true; more; ) {
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
        more = skipToken !== undefined && (maxPages === undefined || pages < maxPages);
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode !== 429) throw error;
        throttled++;
        const [h, m, s] = resetsAfter.split(":").map(Number);
        await new Promise((r) => setTimeout(r, ((h ?? 0) * 3600 + (m ?? 0) * 60 + (s ?? 1)) * 1000));
      }
    }
  }
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
  const counts = {
    subscriptions: azure.subscriptions.length,
    rows: azure.resources.length + (azure.computeResources?.length ?? 0),
  };
  const truth = expectedVmInventory(
    azure,
    "subscriptions" in scope ? { subscriptions: scope.subscriptions } : {},
  );
  const uniform = [...truth.values()].filter((vm) => vm.instanceId !== null).length;
  const resourceRows = truth.size - uniform;
  // Two queries (ComputeResources needs its own: one cross-table join per query), each at least one
  // page even when empty; the cheapest last request is the smaller of the two last pages.
  const lastRows = (n: number) => n - Math.max(0, Math.ceil(n / MAX_PAGE) - 1) * MAX_PAGE;
  const pages = Math.max(1, Math.ceil(resourceRows / MAX_PAGE)) + Math.max(1, Math.ceil(uniform / MAX_PAGE));
  const boundModelMs = argBoundMs(pages, Math.min(lastRows(resourceRows), lastRows(uniform)));
  ctx.log(
    `${counts.subscriptions} subscriptions, ${truth.size} VMs (${uniform} Uniform scale-set instances), ${counts.rows} ARG rows, ${pages} pages; model bound ${Math.round(boundModelMs)} ms`,
  );

  // The client's thread keeps only the ground truth while it is timed (the simulator has its own copy).
  azure = undefined;

  const sim = await starting;
  try {
    const requestRate = await calibrate(sim);
    ctx.log(
      `calibrated: ${Math.round(requestRate)} requests/s on trivial requests (the worker's calibration simulator)`,
    );
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
    // What any client must do with the bytes it reads: measured rates times the bytes of this run.
    const bytes = stats.events.argResponseBytes ?? 0;
    const rates = bytesCpuRates(JSON.stringify({ data: records.slice(0, 2000) }));
    const bytesCpuMs = (bytes / 1e6) * (rates.aes + rates.utf8 + rates.json);
    ctx.log(
      `bytes read: ${(bytes / 1e6).toFixed(1)} MB; AES-256-GCM ${rates.aes.toFixed(2)}, UTF-8 ${rates.utf8.toFixed(2)}, JSON.parse ${rates.json.toFixed(2)} ms/MB: ${Math.round(bytesCpuMs)} ms of CPU`,
    );
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
      bytesCpuMs,
      baselineMs: base.ms,
      ...(subset ? { baselineUnits: base.pages, units: pages } : {}),
      throttled: stats.throttled,
      retries: last?.retries ?? 0,
      correct,
      extra: {
        subscriptions: counts.subscriptions,
        vms: truth.size,
        pages,
        uniformInstances: uniform,
        responseMB: Math.round(bytes / 1e4) / 100,
        bytesCpuMs: Math.round(bytesCpuMs),
        bytesCpuRatesMsPerMB: {
          aes256gcm: Math.round(rates.aes * 100) / 100,
          utf8: Math.round(rates.utf8 * 100) / 100,
          jsonParse: Math.round(rates.json * 100) / 100,
        },
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
