import { setMaxListeners } from "node:events";
import type { QueryResponse } from "@azure/arm-resourcegraph";
import { AbortedError, CloudAdminError, RemoteError } from "@cloudadmin/errors";
import { DEFAULT_TIMEOUT_MS, type Timer, mapConcurrent, realTimer } from "@cloudadmin/paging";
import { createArgClient, resolveEndpoint } from "./client.js";
import { type FetchPage, type FetchStats, createPageFetcher, toArgError } from "./fetch-page.js";
import { QuotaPacer } from "./pacer.js";
import {
  MAX_PAGE,
  type PageTask,
  type QueryRun,
  type RequestScope,
  batchSubscriptions,
  planScopes,
  shardSubscriptions,
} from "./plan.js";
import { type QueryShape, type QueryTable, buildVmIpQuery } from "./query.js";
import { type PerIpRow, type VmRow, groupPerIpRows, toRecord } from "./records.js";
import type { ListVmIpsOptions, VmIpProgress, VmIpRecord } from "./types.js";

export { MAX_BATCH, MAX_PAGE } from "./plan.js";

const INVALID_QUERY_NAMES = /\b(function|operator|aggregat|unknown|not supported|unsupported)/i;

/** Whether ARG refused the query itself naming a function or operator: worth one try in the safer shape. */
function refusedQueryFeature(error: CloudAdminError): boolean {
  if (error.status !== 400) return false;
  if (error.remoteCode !== "InvalidQuery" && !/InvalidQuery/.test(error.message)) return false;
  return INVALID_QUERY_NAMES.test(error.message.replace(/^.*?InvalidQuery: Query is invalid[^;]*;?/, ""));
}

/**
 * Every Azure VM (ARM, Flexible and Uniform scale-set instances, classic) in a tenant, management
 * group or subscription list, with every private and public IP of every NIC and IP configuration,
 * from Azure Resource Graph.
 *
 * One query per scope returns one row per VM (`Resources`), and a second one the Uniform scale-set
 * instances (`ComputeResources`; ARG allows one cross-table join per query). Pages (1000 rows) are
 * fetched in parallel with `$skip` once the first page has said how many there are, paced by the
 * quota ARG reports on every answer (`x-ms-user-quota-remaining` / `-resets-after`; without those
 * headers, by the 429s alone). Fetching stops while the consumer is not reading.
 *
 * Never silently short: every scope's answers are checked against `resultTruncated` and
 * `totalRecords`. When ARG does not page the grouped query (or refuses a function it uses), the
 * scope is read again in a shape that pages (one row per IP configuration, grouped here), with one
 * `query-shape` warning; a scope still short is reported through `onError`.
 *
 * A scope that cannot be read is reported through `onError` (a CloudAdminError with `scope` and
 * `phase`); the other scopes go on. The endpoint is checked against the policy of
 * `@cloudadmin/auth` before any token is requested.
 *
 * @example
 * ```ts
 * import { DefaultAzureCredential } from "@azure/identity";
 * import { listVmIps } from "@cloudadmin/azure-vm-ips";
 * for await (const vm of listVmIps({ credential: new DefaultAzureCredential(), scope: { managementGroup: "corp" } })) {
 *   console.log(vm.vmName, vm.privateIps.join(","), vm.publicIps.join(","));
 * }
 * ```
 */
export async function* listVmIps(options: ListVmIpsOptions): AsyncGenerator<VmIpRecord, void, undefined> {
  const scope = options.scope ?? { tenant: true };
  // Both checks run before any token is requested.
  const { endpoint, tokenScope } = resolveEndpoint(options);
  let scopes = options.shard ? undefined : planScopes(scope, options.batchSize);
  const timer: Timer = options.timer ?? realTimer;
  const internal = new AbortController();
  // Every request and every request waiting for quota listens on it: more than Node's default 10.
  setMaxListeners(0, internal.signal);
  const onOuterAbort = () => internal.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });
  if (options.signal?.aborted) internal.abort(options.signal.reason);
  const pacer = new QuotaPacer(timer);
  const stats: FetchStats = { throttled: 0, retries: 0 };
  const progress: VmIpProgress = {
    scopesTotal: 0,
    scopesDone: 0,
    scopesFailed: 0,
    pagesDone: 0,
    pagesTotal: 0,
    records: 0,
    quotaRemaining: undefined,
    quotaWaitMs: 0,
    throttled: 0,
    retries: 0,
  };
  const report = () => {
    progress.quotaRemaining = pacer.lastRemaining;
    progress.quotaWaitMs = pacer.waitedMs;
    progress.throttled = stats.throttled;
    progress.retries = stats.retries;
    options.onProgress?.({ ...progress });
  };
  const fetchPage = createPageFetcher({
    client: createArgClient({ ...options, endpoint, tokenScope }),
    pacer,
    timer,
    random: options.random ?? Math.random,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxRetries: Math.max(0, options.maxRetries ?? 6),
    signal: internal.signal,
    stats,
    onRetry: report,
  });

  try {
    if (options.shard) {
      const mine = await shardSubscriptions(scope, options.shard, fetchPage);
      options.onScopes?.(mine);
      scopes = mine.length > 0 ? batchSubscriptions(mine, options.batchSize) : [];
    } else options.onScopes?.("subscriptions" in scope ? (scopes ?? []).flatMap(subscriptionsOf) : undefined);
    const job = new InventoryJob(options, scopes ?? [], fetchPage, progress, report, internal.signal);
    for await (const records of mapConcurrent(job.tasks(), (task) => job.runPage(task), {
      concurrency: Math.max(1, Math.floor(options.concurrency ?? 15)),
      signal: internal.signal,
      // Pages converted but not yet read: beyond these, no new page is fetched until the consumer reads.
      highWaterMark: 2,
    })) {
      for (const record of records) yield record;
    }
    options.signal?.throwIfAborted();
  } catch (error) {
    if (options.signal?.aborted && !(error instanceof AbortedError))
      throw new AbortedError(undefined, { cause: error });
    throw error;
  } finally {
    options.signal?.removeEventListener("abort", onOuterAbort);
    if (!internal.signal.aborted) internal.abort(new AbortedError("the consumer stopped reading"));
  }
}

const subscriptionsOf = (s: RequestScope): string[] => s.request.subscriptions ?? [];

/**
 * The run's state between pages: which queries run over which scopes, in which shape, what each
 * first page said, and which pages are left. `tasks()` hands out pages (first pages first);
 * `runPage` fetches one and turns its rows into records.
 */
class InventoryJob {
  private readonly queue: PageTask[] = [];
  private inFlight = 0;
  private wake: (() => void) | undefined;
  private warnedShape = false;
  private warnedLimit = false;
  private readonly pageSize: number;
  private readonly includeClassic: boolean;
  private readonly scaleSets: boolean;

  constructor(
    private readonly options: ListVmIpsOptions,
    scopes: RequestScope[],
    private readonly fetchPage: FetchPage,
    private readonly progress: VmIpProgress,
    private readonly report: () => void,
    private readonly signal: AbortSignal,
  ) {
    this.pageSize = Math.min(MAX_PAGE, Math.max(1, Math.floor(options.pageSize ?? MAX_PAGE)));
    this.includeClassic = options.includeClassic ?? true;
    this.scaleSets = options.scaleSets ?? true;
    const tables: QueryTable[] = this.scaleSets ? ["resources", "uniform"] : ["resources"];
    for (const table of tables) {
      for (const s of scopes) {
        const run: QueryRun = {
          scope: s,
          table,
          label: table === "uniform" ? `${s.label} (Uniform scale-set instances)` : s.label,
          shape: "grouped",
          generation: 0,
          failed: false,
          planned: false,
          totalRecords: 0,
          pending: 0,
          emitted: new Set(),
          retriedShape: false,
          received: 0,
          heldRows: new Map(),
          flushed: [],
        };
        this.enqueue({ run, generation: 0, skip: 0, last: false });
      }
    }
    this.progress.scopesTotal = scopes.length * tables.length;
    signal.addEventListener("abort", () => this.notify(), { once: true });
  }

  private enqueue(task: PageTask): void {
    task.run.pending++;
    this.progress.pagesTotal++;
    this.queue.push(task);
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Pages to fetch, first pages first (they tell how much work there is); ends when no page can add more. */
  async *tasks(): AsyncGenerator<PageTask, void, undefined> {
    for (;;) {
      if (this.signal.aborted) return;
      const first = this.queue.findIndex((t) => t.skip === 0 && !t.skipToken);
      const [task] = this.queue.splice(Math.max(first, 0), 1);
      if (task) {
        if (task.run.failed || task.generation !== task.run.generation) {
          this.settle(task.run);
          continue;
        }
        this.inFlight++;
        yield task;
        continue;
      }
      if (this.inFlight === 0) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  private query(run: QueryRun): string {
    return buildVmIpQuery({
      includeClassic: this.includeClassic,
      scaleSets: this.scaleSets,
      shape: run.shape,
      table: run.table,
    });
  }

  /** One page: fetched under the quota, checked, planned from, and turned into records. */
  async runPage(task: PageTask): Promise<VmIpRecord[]> {
    const run = task.run;
    const records = await this.fetchAndAccept(task);
    // The scope's last page completes the VMs held at page edges.
    return run.flushed.length > 0 ? records.concat(run.flushed.splice(0)) : records;
  }

  private async fetchAndAccept(task: PageTask): Promise<VmIpRecord[]> {
    const run = task.run;
    try {
      const answer = await this.fetchPage(
        {
          ...run.scope.request,
          query: this.query(run),
          options: {
            top: this.pageSize,
            ...(task.skipToken ? { skipToken: task.skipToken } : { skip: task.skip }),
            resultFormat: "objectArray",
          },
        },
        run.label,
      );
      if (run.failed || task.generation !== run.generation) return [];
      if (answer.subscriptionLimitHit && !this.warnedLimit) {
        this.warnedLimit = true;
        this.options.onWarning?.({
          kind: "subscription-limit",
          message: `Resource Graph read only the first 10,000 subscriptions of ${run.scope.label}; pass the subscription list to read them all in batches`,
        });
      }
      return this.accept(task, answer.response);
    } catch (error) {
      if (error instanceof AbortedError || this.signal.aborted) throw error;
      const e = error instanceof CloudAdminError ? error : toArgError(error, run.label, Date.now());
      if (run.shape === "grouped" && !run.retriedShape && refusedQueryFeature(e)) {
        run.retriedShape = true;
        this.switchShape(run, `Resource Graph refused the grouped query (${e.message})`);
      } else this.fail(run, e);
      return [];
    } finally {
      this.settle(run);
      this.inFlight--;
      this.report();
      this.notify();
    }
  }

  /** Checks one answer, plans the scope's pages from the first one, and builds the records it completes. */
  private accept(task: PageTask, response: QueryResponse): VmIpRecord[] {
    const run = task.run;
    const rows = Array.isArray(response.data) ? (response.data as Array<Record<string, unknown>>) : [];
    const truncated = String(response.resultTruncated).toLowerCase() === "true";
    if (!run.planned) {
      run.planned = true;
      run.totalRecords = response.totalRecords;
      const unpaged = truncated || (rows.length < response.totalRecords && !response.skipToken);
      if (unpaged) {
        if (run.shape === "grouped") {
          this.switchShape(
            run,
            `Resource Graph answered the grouped query with ${rows.length} of ${response.totalRecords} rows and no way to page (resultTruncated: ${truncated})`,
          );
          return [];
        }
        this.fail(run, this.shortError(run, rows.length));
        return [];
      }
      const pages = Math.ceil(response.totalRecords / this.pageSize);
      for (let p = 1; p < pages; p++)
        this.enqueue({ run, generation: run.generation, skip: p * this.pageSize, last: p === pages - 1 });
      if (pages <= 1 && response.skipToken)
        this.enqueue({
          run,
          generation: run.generation,
          skip: rows.length,
          skipToken: response.skipToken,
          last: true,
        });
    } else if (truncated) {
      if (run.shape === "grouped") {
        this.switchShape(run, "Resource Graph marked a page of the grouped query resultTruncated");
        return [];
      }
      this.fail(run, this.shortError(run, run.emitted.size));
      return [];
    } else if (task.last && response.skipToken && rows.length > 0) {
      // More rows than the first page counted (VMs created meanwhile): follow the token.
      this.enqueue({
        run,
        generation: run.generation,
        skip: task.skip + rows.length,
        skipToken: response.skipToken,
        last: true,
      });
    }
    this.progress.pagesDone++;
    return run.shape === "grouped"
      ? this.groupedRecords(run, rows as unknown as VmRow[])
      : this.perIpRecords(run, rows as unknown as PerIpRow[]);
  }

  private groupedRecords(run: QueryRun, rows: VmRow[]): VmIpRecord[] {
    const out: VmIpRecord[] = [];
    for (const row of rows) {
      const key = row.id.toLowerCase();
      if (run.emitted.has(key)) continue;
      run.emitted.add(key);
      out.push(toRecord(row, this.options.onWarning));
    }
    this.progress.records += out.length;
    return out;
  }

  /**
   * Rows of the per-IP shape, ordered by VM: a VM whose rows sit inside this page is complete; the
   * first and last VM of a page may continue on a neighbouring page, so they wait for the scope's end.
   */
  private perIpRecords(run: QueryRun, rows: PerIpRow[]): VmIpRecord[] {
    run.received += rows.length;
    const grouped = new Map<string, VmRow>();
    groupPerIpRows(rows, grouped);
    const keys = [...grouped.keys()];
    const out: VmIpRecord[] = [];
    keys.forEach((key, i) => {
      if (run.emitted.has(key)) return;
      const vm = grouped.get(key) as VmRow;
      if (i === 0 || i === keys.length - 1) {
        const rowsOfVm = rows.filter((r) => r.id.toLowerCase() === key);
        const held = run.heldRows.get(key) ?? [];
        held.push(...rowsOfVm);
        run.heldRows.set(key, held);
        return;
      }
      run.emitted.add(key);
      out.push(toRecord(vm, this.options.onWarning));
    });
    this.progress.records += out.length;
    return out;
  }

  /** Once a scope has no page left: flush held VMs, compare what came with `totalRecords`. */
  private settle(run: QueryRun): void {
    run.pending--;
    if (run.pending > 0) return;
    if (run.failed) return;
    if (run.heldRows.size > 0) {
      const grouped = new Map<string, VmRow>();
      for (const rows of run.heldRows.values()) groupPerIpRows(rows, grouped);
      run.heldRows.clear();
      for (const [key, vm] of grouped) {
        if (run.emitted.has(key)) continue;
        run.emitted.add(key);
        run.flushed.push(toRecord(vm, this.options.onWarning));
        this.progress.records++;
      }
    }
    const received = run.shape === "grouped" ? run.emitted.size : run.received;
    if (received < run.totalRecords) {
      if (run.shape === "grouped") {
        this.switchShape(
          run,
          `Resource Graph paged the grouped query short (${received} of ${run.totalRecords} rows)`,
        );
        return;
      }
      this.fail(run, this.shortError(run, received));
      return;
    }
    this.progress.scopesDone++;
  }

  private shortError(run: QueryRun, received: number): CloudAdminError {
    return new RemoteError(
      `Resource Graph returned ${received} of ${run.totalRecords} rows for ${run.label} and would not page the rest; the VMs of this scope are incomplete`,
      { scope: run.label, phase: "resources-query", code: "ERR_REMOTE" },
    );
  }

  /** Reads the scope again in the per-IP shape, which pages; warns once per run. */
  private switchShape(run: QueryRun, why: string): void {
    const shape: QueryShape = "per-ip";
    run.shape = shape;
    run.generation++;
    run.planned = false;
    run.totalRecords = 0;
    run.received = 0;
    run.heldRows.clear();
    if (!this.warnedShape) {
      this.warnedShape = true;
      this.options.onWarning?.({
        kind: "query-shape",
        message: `${why}; reading again with one row per IP configuration (more pages, same result)`,
      });
    }
    this.enqueue({ run, generation: run.generation, skip: 0, last: false });
  }

  private fail(run: QueryRun, error: CloudAdminError): void {
    if (run.failed) return;
    run.failed = true;
    this.progress.scopesFailed++;
    this.progress.scopesDone++;
    this.options.onError?.(error);
  }
}
