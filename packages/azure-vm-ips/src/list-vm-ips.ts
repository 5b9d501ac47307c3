import { setMaxListeners } from "node:events";
import type { QueryRequest, QueryResponse } from "@azure/arm-resourcegraph";
import {
  AbortedError,
  AuthError,
  CloudAdminError,
  InvalidInputError,
  RemoteError,
  ThrottledError,
  isAbortError,
} from "@cloudadmin/errors";
import { type Timer, parseRetryAfter, realTimer } from "@cloudadmin/paging";
import { createArgClient } from "./client.js";
import { QuotaPacer, type QuotaReading, parseResetsAfter } from "./pacer.js";
import { buildVmIpQuery } from "./query.js";
import { type VmRow, toRecord } from "./records.js";
import type { ListVmIpsOptions, VmIpProgress, VmIpRecord } from "./types.js";

const DEFAULT_ENDPOINT = "https://management.azure.com";
/** ARG's guidance: group subscriptions, under 300 per request. */
export const MAX_BATCH = 300;
/** ARG's `$top` maximum. */
export const MAX_PAGE = 1000;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Scope {
  label: string;
  request: Pick<QueryRequest, "subscriptions" | "managementGroups">;
  failed: boolean;
  pagesPlanned: boolean;
  pending: number;
}

interface PageTask {
  scope: Scope;
  skip: number;
  skipToken?: string;
  /** The last page planned from `totalRecords`: follow its `$skipToken` if rows appeared since. */
  last: boolean;
}

type Headers = { get(name: string): string | undefined };

function quotaFrom(headers: Headers | undefined): QuotaReading | undefined {
  if (!headers) return undefined;
  const remaining = Number.parseInt(headers.get("x-ms-user-quota-remaining") ?? "", 10);
  const resetsAfterMs = parseResetsAfter(headers.get("x-ms-user-quota-resets-after"));
  if (Number.isNaN(remaining) || resetsAfterMs === undefined) return undefined;
  return { remaining, resetsAfterMs };
}

function retryAfterFrom(headers: Headers | undefined, now: number): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get("retry-after-ms") ?? headers.get("x-ms-retry-after-ms");
  if (ms && /^\d+$/.test(ms.trim())) return Number(ms);
  return parseRetryAfter(headers.get("retry-after"), now);
}

/** ARG's error details (`InvalidQuery`, `RateLimiting`...) joined into one readable sentence. */
function argMessage(error: { message?: string; details?: unknown }): { code?: string; text: string } {
  const body = error.details as
    | { error?: { code?: string; message?: string; details?: Array<{ code?: string; message?: string }> } }
    | undefined;
  const details = body?.error?.details ?? [];
  const parts = details.map((d) => `${d.code ?? "Error"}: ${d.message ?? ""}`.trim());
  return {
    code: details[0]?.code ?? body?.error?.code,
    text: parts.length > 0 ? parts.join("; ") : (error.message ?? "unknown error"),
  };
}

/** Maps an SDK failure to our error classes, keeping what the service said. */
function toError(error: unknown, scope: string, now: number): CloudAdminError {
  if (error instanceof CloudAdminError) return error;
  const e = error as {
    statusCode?: number;
    code?: string;
    message?: string;
    details?: unknown;
    response?: { headers?: Headers };
  };
  const status = e.statusCode;
  const { code, text } = argMessage(e);
  const base = { cause: error, scope, phase: "resources-query", status, remoteCode: code };
  if (status === 429) {
    return new ThrottledError(`Resource Graph throttled the query (${text})`, {
      ...base,
      retryAfterMs: retryAfterFrom(e.response?.headers, now),
    });
  }
  if (status === 401)
    return new AuthError(
      `Resource Graph refused the credential (${text}); check the token or sign in again`,
      base,
    );
  if (status === 403) {
    return new AuthError(`the principal may not read ${scope} (${text}); assign it Reader on that scope`, {
      ...base,
      code: "ERR_ACCESS_DENIED",
    });
  }
  if (status === 400) return new RemoteError(`Resource Graph rejected the query for ${scope}: ${text}`, base);
  if (status !== undefined && status !== 408 && status < 500)
    return new RemoteError(`Resource Graph answered ${status} for ${scope}: ${text}`, base);
  const network = status === undefined ? ` (${e.code ?? "network error"}: ${e.message ?? ""})` : "";
  return new RemoteError(
    `Resource Graph failed for ${scope}${status ? ` with ${status}` : ""}: ${status ? text : ""}${network}`.trim(),
    {
      ...base,
      retryable: true,
    },
  );
}

function makeScopes(options: ListVmIpsOptions): Scope[] {
  const scope = options.scope ?? { tenant: true };
  const mk = (label: string, request: Scope["request"]): Scope => ({
    label,
    request,
    failed: false,
    pagesPlanned: false,
    pending: 0,
  });
  if ("subscriptions" in scope) {
    const seen = new Set<string>();
    const subs: string[] = [];
    for (const raw of scope.subscriptions) {
      const s = raw.trim();
      if (!GUID.test(s)) throw new InvalidInputError(`'${s}' is not a subscription ID (a GUID)`);
      if (!seen.has(s.toLowerCase())) {
        seen.add(s.toLowerCase());
        subs.push(s);
      }
    }
    if (subs.length === 0) throw new InvalidInputError("the subscription list is empty");
    const size = Math.min(MAX_BATCH, Math.max(1, Math.floor(options.batchSize ?? MAX_BATCH)));
    const batches: Scope[] = [];
    const count = Math.ceil(subs.length / size);
    // Even batches: 301 subscriptions become 151 + 150, not 300 + 1, so pages spread evenly.
    const even = Math.ceil(subs.length / count);
    for (let i = 0; i < subs.length; i += even) {
      const part = subs.slice(i, i + even);
      batches.push(
        mk(
          count === 1
            ? `subscriptions (${part.length})`
            : `subscriptions batch ${batches.length + 1}/${count} (${part.length})`,
          { subscriptions: part },
        ),
      );
    }
    return batches;
  }
  if ("managementGroup" in scope) {
    if (!scope.managementGroup.trim()) throw new InvalidInputError("the management group ID is empty");
    return [
      mk(`management group ${scope.managementGroup}`, { managementGroups: [scope.managementGroup.trim()] }),
    ];
  }
  return [mk("tenant", {})];
}

/**
 * Every Azure VM (ARM and classic) in a tenant, management group or subscription list, with every
 * private and public IP of every NIC and IP configuration, from Azure Resource Graph.
 *
 * One query returns one row per VM; pages (1000 VMs each) are fetched in parallel with `$skip`
 * once the first page has said how many there are, paced by the quota ARG reports on every answer
 * (`x-ms-user-quota-remaining` / `-resets-after`) so that even a large tenant sees no 429. A 429
 * that happens anyway (another process sharing the quota) is retried, with or without Retry-After.
 * Records stream as pages arrive, in no particular order. A scope that cannot be read is reported
 * through `onError` (the other scopes go on); without `onError` the error is thrown.
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
  const scopes = makeScopes(options);
  const timer: Timer = options.timer ?? realTimer;
  const random = options.random ?? Math.random;
  const endpoint = (options.endpoint ?? DEFAULT_ENDPOINT).replace(/\/+$/, "");
  let endpointUrl: URL;
  try {
    endpointUrl = new URL(endpoint);
  } catch (cause) {
    throw new InvalidInputError(`'${endpoint}' is not a URL`, { cause });
  }
  const pageSize = Math.min(MAX_PAGE, Math.max(1, Math.floor(options.pageSize ?? MAX_PAGE)));
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 15));
  const maxRetries = Math.max(0, options.maxRetries ?? 6);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const query = buildVmIpQuery({ includeClassic: options.includeClassic ?? true });
  const tokenScope = options.tokenScope ?? `${endpointUrl.origin}/.default`;
  const client = createArgClient({ ...options, endpoint, tokenScope });
  const pacer = new QuotaPacer(timer);
  const internal = new AbortController();
  // Every request and every request waiting for quota listens on it: more than Node's default 10.
  setMaxListeners(0, internal.signal);
  const onOuterAbort = () => internal.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });
  if (options.signal?.aborted) internal.abort(options.signal.reason);

  const progress: VmIpProgress = {
    scopesTotal: scopes.length,
    scopesDone: 0,
    pagesDone: 0,
    pagesTotal: scopes.length,
    records: 0,
    quotaRemaining: undefined,
    quotaWaitMs: 0,
    throttled: 0,
    retries: 0,
  };
  const report = () => {
    progress.quotaRemaining = pacer.lastRemaining;
    progress.quotaWaitMs = pacer.waitedMs;
    options.onProgress?.({ ...progress });
  };
  const warnedLimit = { done: false };
  const emitted = new Set<string>();
  const buffer: VmIpRecord[] = [];
  let fatal: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const queue: PageTask[] = scopes.map((scope) => ({ scope, skip: 0, last: false }));
  for (const s of scopes) s.pending = 1;
  let running = 0;

  /** One page, through the pacer, with our own retries. */
  const fetchPage = async (task: PageTask): Promise<QueryResponse> => {
    for (let attempt = 0; ; attempt++) {
      const ticket = await pacer.acquire(internal.signal);
      let headers: Headers | undefined;
      const signal = AbortSignal.any([internal.signal, AbortSignal.timeout(timeoutMs)]);
      try {
        const response = await client.resources(
          {
            ...task.scope.request,
            query,
            options: {
              top: pageSize,
              ...(task.skipToken ? { skipToken: task.skipToken } : { skip: task.skip }),
              resultFormat: "objectArray",
            },
          },
          {
            abortSignal: signal,
            onResponse: (raw) => {
              headers = raw.headers;
            },
          },
        );
        pacer.observe(ticket, quotaFrom(headers));
        if (headers?.get("x-ms-tenant-subscription-limit-hit") === "true" && !warnedLimit.done) {
          warnedLimit.done = true;
          options.onWarning?.({
            kind: "subscription-limit",
            message: `Resource Graph read only the first 10,000 subscriptions of ${task.scope.label}; pass the subscription list to read them all in batches`,
          });
        }
        return response;
      } catch (raw) {
        const rawHeaders = headers ?? (raw as { response?: { headers?: Headers } }).response?.headers;
        if (internal.signal.aborted || (isAbortError(raw) && !signal.aborted)) {
          pacer.observe(ticket, undefined);
          throw new AbortedError(undefined, { cause: raw });
        }
        const timedOut = isAbortError(raw) || (raw as { name?: string }).name === "AbortError";
        const error = timedOut
          ? new RemoteError(`Resource Graph did not answer within ${timeoutMs} ms for ${task.scope.label}`, {
              code: "ERR_TIMEOUT",
              scope: task.scope.label,
              retryable: true,
              cause: raw,
            })
          : toError(raw, task.scope.label, Date.now());
        if (error instanceof ThrottledError) {
          progress.throttled++;
          pacer.throttled(ticket, quotaFrom(rawHeaders), error.retryAfterMs, random);
        } else pacer.observe(ticket, quotaFrom(rawHeaders));
        if (!error.retryable || attempt >= maxRetries) throw error;
        progress.retries++;
        report();
        if (!(error instanceof ThrottledError)) {
          // Full-jitter exponential back-off for 5xx and dropped connections; 429s wait in the pacer.
          await timer.sleep(Math.ceil(random() * Math.min(20_000, 500 * 2 ** attempt)), internal.signal);
        }
      }
    }
  };

  const runTask = async (task: PageTask): Promise<void> => {
    const scope = task.scope;
    try {
      const response = await fetchPage(task);
      if (scope.failed) return;
      const rows = Array.isArray(response.data) ? (response.data as VmRow[]) : [];
      if (!scope.pagesPlanned) {
        scope.pagesPlanned = true;
        const pages = Math.ceil(response.totalRecords / pageSize);
        for (let p = 1; p < pages; p++) {
          queue.push({ scope, skip: p * pageSize, last: p === pages - 1 });
          scope.pending++;
          progress.pagesTotal++;
        }
        if (pages <= 1 && response.skipToken) {
          queue.push({ scope, skip: rows.length, skipToken: response.skipToken, last: true });
          scope.pending++;
          progress.pagesTotal++;
        }
      } else if (task.last && response.skipToken && rows.length > 0) {
        // More rows than the first page counted (VMs created meanwhile): follow the token.
        queue.push({ scope, skip: task.skip + rows.length, skipToken: response.skipToken, last: true });
        scope.pending++;
        progress.pagesTotal++;
      }
      // The next pages start before this page's rows are converted: on the first page that
      // conversion would otherwise delay every other request.
      pump();
      for (const row of rows) {
        const key = row.id.toLowerCase();
        if (emitted.has(key)) continue;
        emitted.add(key);
        buffer.push(toRecord(row, options.onWarning));
      }
      progress.pagesDone++;
      progress.records = emitted.size;
    } catch (error) {
      if (error instanceof AbortedError || internal.signal.aborted) {
        fatal ??= {
          error: error instanceof AbortedError ? error : new AbortedError(undefined, { cause: error }),
        };
        return;
      }
      const e = error instanceof CloudAdminError ? error : toError(error, scope.label, Date.now());
      if (!scope.failed) {
        scope.failed = true;
        if (options.onError) options.onError(e);
        else fatal ??= { error: e };
      }
    } finally {
      scope.pending--;
      if (scope.pending === 0) progress.scopesDone++;
      report();
    }
  };

  const pump = () => {
    while (running < concurrency && queue.length > 0 && !fatal) {
      // First pages first: they tell how much work there is.
      const firstIndex = queue.findIndex((t) => !t.scope.pagesPlanned);
      const [task] = queue.splice(Math.max(firstIndex, 0), 1);
      if (!task) break;
      if (task.scope.failed) {
        task.scope.pending--;
        if (task.scope.pending === 0) progress.scopesDone++;
        continue;
      }
      running++;
      runTask(task).finally(() => {
        running--;
        pump();
        notify();
      });
    }
  };

  try {
    pump();
    let read = 0;
    for (;;) {
      while (read < buffer.length) {
        const item = buffer[read++] as VmIpRecord;
        if (read > 4096) {
          buffer.splice(0, read);
          read = 0;
        }
        yield item;
      }
      if (fatal) throw fatal.error;
      if (running === 0 && queue.length === 0) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    options.signal?.throwIfAborted();
  } finally {
    options.signal?.removeEventListener("abort", onOuterAbort);
    if (running > 0) internal.abort(new AbortedError("the consumer stopped reading"));
  }
}
