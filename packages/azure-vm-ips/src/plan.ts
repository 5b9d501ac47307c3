import type { QueryRequest } from "@azure/arm-resourcegraph";
import { InvalidInputError } from "@cloudadmin/errors";
import { type Shard, shardOf } from "@cloudadmin/paging";
import type { FetchPage } from "./fetch-page.js";
import type { PerIpRow } from "./records.js";
import type { VmIpRecord } from "./types.js";
import type { QueryShape, QueryTable } from "./query.js";
import type { VmIpScope } from "./types.js";

/** ARG's guidance: group subscriptions, under 300 per request. */
export const MAX_BATCH = 300;
/** ARG's `$top` maximum. */
export const MAX_PAGE = 1000;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One scope of the request (a subscription batch, a management group, the tenant). */
export interface RequestScope {
  label: string;
  request: Pick<QueryRequest, "subscriptions" | "managementGroups">;
}

/** One query over one scope: its own pages, shape and count of rows to expect. */
export interface QueryRun {
  scope: RequestScope;
  table: QueryTable;
  /** How errors name it. */
  label: string;
  shape: QueryShape;
  /** Bumped when the run restarts in another shape: answers of the older shape are dropped. */
  generation: number;
  failed: boolean;
  /** Pages planned from the first answer's `totalRecords`. */
  planned: boolean;
  totalRecords: number;
  /** Pages not yet answered (or skipped). */
  pending: number;
  /** VM IDs already yielded. */
  emitted: Set<string>;
  /** Whether the run already fell back to the safer shape after an `InvalidQuery`. */
  retriedShape: boolean;
  /** Rows received in the current shape (per-IP rows are checked against `totalRecords`). */
  received: number;
  /** Per-IP rows of VMs at a page's edge, which may continue on a neighbouring page. */
  heldRows: Map<string, PerIpRow[]>;
  /** Records completed when the scope's last page arrived, not yet handed out. */
  flushed: VmIpRecord[];
}

/** One page to fetch. */
export interface PageTask {
  run: QueryRun;
  generation: number;
  skip: number;
  skipToken?: string;
  /** The last page planned from `totalRecords`: follow its `$skipToken` if rows appeared since. */
  last: boolean;
}

function checkSubscriptions(list: readonly string[]): string[] {
  const seen = new Set<string>();
  const subs: string[] = [];
  for (const raw of list) {
    const s = raw.trim();
    if (!GUID.test(s)) throw new InvalidInputError(`'${s}' is not a subscription ID (a GUID)`);
    if (!seen.has(s.toLowerCase())) {
      seen.add(s.toLowerCase());
      subs.push(s);
    }
  }
  return subs;
}

/** Even batches of at most `batchSize`: 301 subscriptions become 151 + 150, not 300 + 1. */
export function batchSubscriptions(subs: readonly string[], batchSize = MAX_BATCH): RequestScope[] {
  const size = Math.min(MAX_BATCH, Math.max(1, Math.floor(batchSize)));
  const count = Math.ceil(subs.length / size);
  const even = Math.ceil(subs.length / count);
  const batches: RequestScope[] = [];
  for (let i = 0; i < subs.length; i += even) {
    const part = subs.slice(i, i + even);
    batches.push({
      label:
        count === 1
          ? `subscriptions (${part.length})`
          : `subscriptions batch ${batches.length + 1}/${count} (${part.length})`,
      request: { subscriptions: part },
    });
  }
  return batches;
}

/** The request scopes of a run without a shard, checked before anything is sent. */
export function planScopes(scope: VmIpScope, batchSize?: number): RequestScope[] {
  if ("subscriptions" in scope) {
    const subs = checkSubscriptions(scope.subscriptions);
    if (subs.length === 0) throw new InvalidInputError("the subscription list is empty");
    return batchSubscriptions(subs, batchSize);
  }
  if ("managementGroup" in scope) {
    const mg = scope.managementGroup.trim();
    if (!mg) throw new InvalidInputError("the management group ID is empty");
    return [{ label: `management group ${mg}`, request: { managementGroups: [mg] } }];
  }
  return [{ label: "tenant", request: {} }];
}

/** Lists every subscription of a tenant or management-group scope: one `ResourceContainers` query, paged. */
const SUBSCRIPTIONS_QUERY = `ResourceContainers
| where type =~ 'microsoft.resources/subscriptions'
| project id, subscriptionId
| order by id asc`;

/**
 * A shard's subscriptions: the scope's whole subscription list (given, or listed with one cheap
 * query), kept where `shardOf(subscriptionId, count) === index`.
 */
export async function shardSubscriptions(
  scope: VmIpScope,
  shard: Shard,
  fetchPage: FetchPage,
): Promise<string[]> {
  let all: string[];
  if ("subscriptions" in scope) all = checkSubscriptions(scope.subscriptions);
  else {
    const [listing] = planScopes(scope);
    const request = (listing as RequestScope).request;
    all = [];
    let skipToken: string | undefined;
    do {
      const { response } = await fetchPage(
        {
          ...request,
          query: SUBSCRIPTIONS_QUERY,
          options: { top: MAX_PAGE, resultFormat: "objectArray", ...(skipToken ? { skipToken } : {}) },
        },
        `the subscription list of ${(listing as RequestScope).label}`,
      );
      const rows = Array.isArray(response.data) ? (response.data as Array<{ subscriptionId?: string }>) : [];
      for (const r of rows) if (typeof r.subscriptionId === "string") all.push(r.subscriptionId);
      skipToken = response.skipToken;
    } while (skipToken);
  }
  return all.filter((id) => shardOf(id, shard.count) === shard.index);
}

/**
 * Checks a scope as `listVmIps` will (subscription IDs are GUIDs, lists and management group names
 * not empty), so a front end can refuse it before it starts any output.
 *
 * @throws InvalidInputError
 *
 * @example
 * ```ts
 * checkVmIpScope({ subscriptions: ids }); // throws before any output or request
 * for await (const vm of listVmIps({ credential, scope: { subscriptions: ids } })) console.log(vm.vmName);
 * ```
 */
export function checkVmIpScope(scope: VmIpScope): void {
  planScopes(scope);
}
