import type { QueryRequest, QueryResponse } from "@azure/arm-resourcegraph";
import type { TokenCredential } from "@azure/core-auth";
import { ConfigError, UsageError } from "@cloudadmin/errors";
import { DEFAULT_TIMEOUT_MS, withTimeout } from "@cloudadmin/paging";
import { createArgClient } from "./client.js";
import { toArgError } from "./fetch-page.js";
import { VMSS_VM_TYPE, buildVmIpQuery } from "./query.js";

/** One assumption the job relies on, as a real tenant answered it (for `cloudadmin doctor --probe`). */
export interface ProbeResult {
  provider: string;
  assumption: string;
  status: "holds" | "differs" | "unknown";
  /** What was seen; never a secret. */
  detail: string;
}

export interface ProbeResourceGraphOptions {
  credential: TokenCredential;
  /** Default `https://management.azure.com`. */
  endpoint?: string;
  tokenScope?: string;
  ca?: string | Buffer;
  signal?: AbortSignal;
  /** Per-request timeout in ms (default `DEFAULT_TIMEOUT_MS`). */
  timeoutMs?: number;
}

const PROVIDER = "Azure Resource Graph";
export const PROBE_ASSUMPTIONS = {
  pages: "Resource Graph accepts the inventory's query and pages it",
  quota: "Resource Graph sends the quota headers (x-ms-user-quota-remaining, x-ms-user-quota-resets-after)",
  computeResources: "ComputeResources (Uniform scale-set instances) is readable",
} as const;

/**
 * Checks, with at most four small queries at tenant scope, what `listVmIps` assumes of Resource
 * Graph: that the inventory's grouped query is accepted and paged (`$skipToken`, no
 * `resultTruncated`), that answers carry the quota headers it paces by, and that the
 * `ComputeResources` table can be read. Each is `holds`, `differs` (the job then falls back: the
 * per-IP query shape, pacing from 429s) or `unknown` (a tenant too small to tell, or an error).
 * The endpoint is checked against the policy first (throws `ERR_CONFIG`/`ERR_USAGE`).
 *
 * @example
 * ```ts
 * for (const r of await probeResourceGraph({ credential })) console.log(r.status, r.assumption, r.detail);
 * ```
 */
export async function probeResourceGraph(options: ProbeResourceGraphOptions): Promise<ProbeResult[]> {
  const client = createArgClient(options);
  let quotaSeen: boolean | undefined;
  const ask = async (request: QueryRequest): Promise<{ response: QueryResponse; quota: boolean }> => {
    let quota = false;
    const response = await withTimeout(
      (signal) =>
        client.resources(request, {
          abortSignal: signal,
          onResponse: (raw) => {
            quota =
              /^\d+$/.test(raw.headers.get("x-ms-user-quota-remaining") ?? "") &&
              /^\d+:\d{1,2}:\d{1,2}$/.test(raw.headers.get("x-ms-user-quota-resets-after") ?? "");
          },
        }),
      {
        timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        ...(options.signal ? { signal: options.signal } : {}),
        what: "the Resource Graph probe",
      },
    );
    quotaSeen = (quotaSeen ?? true) && quota;
    return { response, quota };
  };
  const failed = (assumption: string, error: unknown): ProbeResult => {
    if (error instanceof ConfigError || error instanceof UsageError) throw error;
    const e = toArgError(error, "tenant", Date.now());
    const refused = e.status === 400 && /InvalidQuery/.test(`${e.remoteCode} ${e.message}`);
    return {
      provider: PROVIDER,
      assumption,
      status: refused ? "differs" : "unknown",
      detail: refused
        ? `refused: ${e.message}`
        : `could not tell: ${e.code}${e.status ? ` (${e.status})` : ""}: ${e.message}`,
    };
  };
  const results: ProbeResult[] = [];

  try {
    const query = buildVmIpQuery({ includeClassic: true });
    const first = await ask({ query, options: { top: 1, resultFormat: "objectArray" } });
    const total = first.response.totalRecords;
    const truncated = String(first.response.resultTruncated).toLowerCase() === "true";
    if (total < 2) {
      results.push({
        provider: PROVIDER,
        assumption: PROBE_ASSUMPTIONS.pages,
        status: "unknown",
        detail: `the query was accepted, but the tenant holds ${total} VM${total === 1 ? "" : "s"}: paging needs 2`,
      });
    } else if (truncated || !first.response.skipToken) {
      results.push({
        provider: PROVIDER,
        assumption: PROBE_ASSUMPTIONS.pages,
        status: "differs",
        detail: `the first page of 1 (of ${total} rows) came with resultTruncated: ${truncated} and ${first.response.skipToken ? "a" : "no"} $skipToken; the job reads such a tenant one row per IP configuration`,
      });
    } else {
      const second = await ask({
        query,
        options: { top: 1, skipToken: first.response.skipToken, resultFormat: "objectArray" },
      });
      const id = (r: QueryResponse) => ((r.data as Array<{ id?: string }>)[0]?.id ?? "").toLowerCase();
      const moved =
        second.response.count === 1 &&
        id(second.response) !== "" &&
        id(second.response) !== id(first.response);
      results.push({
        provider: PROVIDER,
        assumption: PROBE_ASSUMPTIONS.pages,
        status: moved ? "holds" : "differs",
        detail: moved
          ? `${total} rows; the second page (by $skipToken) held the next VM`
          : `${total} rows; the second page (by $skipToken) held ${second.response.count} rows${second.response.count === 1 ? ", the same VM as the first" : ""}`,
      });
    }
  } catch (error) {
    results.push(failed(PROBE_ASSUMPTIONS.pages, error));
  }

  try {
    const compute = await ask({
      query: `ComputeResources | where type =~ '${VMSS_VM_TYPE}' | project id | order by id asc`,
      options: { top: 1, resultFormat: "objectArray" },
    });
    results.push({
      provider: PROVIDER,
      assumption: PROBE_ASSUMPTIONS.computeResources,
      status: "holds",
      detail: `readable; ${compute.response.totalRecords} Uniform scale-set instances`,
    });
  } catch (error) {
    results.push(failed(PROBE_ASSUMPTIONS.computeResources, error));
  }

  results.splice(1, 0, {
    provider: PROVIDER,
    assumption: PROBE_ASSUMPTIONS.quota,
    status: quotaSeen === undefined ? "unknown" : quotaSeen ? "holds" : "differs",
    detail:
      quotaSeen === undefined
        ? "no query was answered"
        : quotaSeen
          ? "present on every answer"
          : "missing on at least one answer; the job then paces by 429s alone",
  });
  return results;
}
