import { createHash, randomUUID } from "node:crypto";
import type { Clock } from "../../clock.js";
import type { RequestInfo, ServiceContext, SimRequest, SimResponse, SimService } from "../../types.js";
import type { ArgServiceSettings, AzureDataset } from "./dataset.js";
import {
  type CompiledQuery,
  KqlError,
  type Row,
  compileQuery,
  lineAndColumn,
  toObjects,
  toRows,
} from "./kql.js";

const RESOURCE_COLUMNS = [
  "id",
  "name",
  "type",
  "tenantId",
  "kind",
  "location",
  "resourceGroup",
  "subscriptionId",
  "managedBy",
  "sku",
  "plan",
  "properties",
  "tags",
  "identity",
  "zones",
  "extendedLocation",
];
const TABLES = {
  Resources: RESOURCE_COLUMNS,
  ResourceContainers: RESOURCE_COLUMNS,
  ComputeResources: RESOURCE_COLUMNS,
};
type TableName = keyof typeof TABLES;
const QUERY_PATH = "/providers/microsoft.resourcegraph/resources";
/** ARG cuts tenant and management-group scopes at this many subscriptions. */
const TENANT_SUBSCRIPTION_LIMIT = 10_000;
const DEFAULT_TOP = 100;
const MAX_TOP = 1000;
const SUPPORT = "Please provide below info when asking for support: timestamp = {ts}, correlationId = {cid}.";
const INVALID_QUERY =
  "Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the error before retrying.";
const RATE_LIMITING =
  "Client application has been throttled and should not attempt to repeat the request until an amount of time has elapsed. Please see https://aka.ms/resourcegraph-throttling for help.";
/** The bearer token `environment()` hands out: any non-empty bearer token is accepted. */
export const SIM_ARM_TOKEN = "cloudadmin-sim-arm-token";

function hhmmss(ms: number): string {
  const s = Math.ceil(Math.max(0, ms) / 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

/** The principal a bearer token stands for: the JWT's oid/appid when it is one, else a hash (never the token). */
export function principalOf(token: string): string {
  const parts = token.split(".");
  if (parts.length === 3) {
    try {
      const claims = JSON.parse(Buffer.from(parts[1] as string, "base64url").toString("utf8")) as Record<
        string,
        unknown
      >;
      const who = claims.oid ?? claims.appid ?? claims.sub;
      if (typeof who === "string" && who) return who;
    } catch {
      // not a JWT: fall through to the hash
    }
  }
  return `token-${createHash("sha256").update(token).digest("hex").slice(0, 12)}`;
}

interface QueryBody {
  subscriptions?: unknown;
  managementGroups?: unknown;
  query?: unknown;
  options?: Record<string, unknown>;
  facets?: unknown;
}

class ArgError {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly details: Array<Record<string, unknown>>,
    readonly message?: string,
  ) {}
}

interface QuotaView {
  remaining: number;
  resetsAt: number;
}

/** Resource Graph's query endpoint over a dataset's raw rows (see the folder's index.ts). */
export class ArgSimService implements SimService {
  readonly name = "arg";
  private readonly byTable: Record<TableName, Map<string, Row[]>>;
  private readonly settings: ArgServiceSettings;
  private readonly subscriptions: Array<{ id: string; managementGroups: string[] }>;
  private readonly compiled = new Map<string, CompiledQuery | KqlError>();
  private readonly results = new Map<string, Array<Record<string, unknown>>>();
  private readonly quotaViews = new Map<string, QuotaView>();
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly retryAfter: boolean;

  constructor(
    section: AzureDataset | undefined,
    private readonly clock: Clock,
  ) {
    const data: AzureDataset = section ?? { subscriptions: [], resources: [] };
    this.limit = data.quota?.limit ?? 15;
    this.windowMs = (data.quota?.windowSeconds ?? 5) * 1000;
    this.retryAfter = data.quota?.retryAfter ?? false;
    this.settings = data.service ?? {};
    this.subscriptions = data.subscriptions.map((s) => ({
      id: s.subscriptionId.toLowerCase(),
      managementGroups: (s.managementGroups ?? []).map((m) => m.toLowerCase()),
    }));
    const bySubscription = (rows: AzureDataset["resources"]) => {
      const out = new Map<string, Row[]>();
      for (const r of rows) {
        const key = r.subscriptionId.toLowerCase();
        const row = toRows([r as unknown as Record<string, unknown>], RESOURCE_COLUMNS)[0] as Row;
        const list = out.get(key);
        if (list) list.push(row);
        else out.set(key, [row]);
      }
      return out;
    };
    const containers = new Map<string, Row[]>();
    for (const s of data.subscriptions) {
      containers.set(
        s.subscriptionId.toLowerCase(),
        toRows(
          [
            {
              id: `/subscriptions/${s.subscriptionId}`,
              name: s.displayName,
              type: "microsoft.resources/subscriptions",
              tenantId: data.tenantId ?? "",
              kind: "",
              location: "",
              resourceGroup: "",
              subscriptionId: s.subscriptionId,
              managedBy: "",
              sku: null,
              plan: null,
              properties: {
                state: s.state ?? "Enabled",
                managementGroupAncestorsChain: (s.managementGroups ?? []).map((m) => ({
                  name: m,
                  displayName: m,
                })),
              },
              tags: {},
              identity: null,
              zones: null,
              extendedLocation: null,
            },
          ],
          RESOURCE_COLUMNS,
        ),
      );
    }
    this.byTable = {
      Resources: bySubscription(data.resources),
      ResourceContainers: containers,
      ComputeResources: bySubscription(data.computeResources ?? []),
    };
  }

  classify(req: SimRequest): RequestInfo | null {
    if (req.url.pathname.toLowerCase() !== QUERY_PATH) return null;
    const auth = req.headers.authorization;
    const token =
      typeof auth === "string" && /^bearer\s+/i.test(auth) ? auth.replace(/^bearer\s+/i, "").trim() : "";
    return token ? { operation: "Resources", principal: principalOf(token) } : { operation: "Resources" };
  }

  environment(origins: { http: string; https: string }): Record<string, string> {
    return { CLOUDADMIN_ARM_ENDPOINT: origins.https, CLOUDADMIN_ARM_TOKEN: SIM_ARM_TOKEN };
  }

  /** The principal's quota as it stands, without spending any (for answers that did not run a query). */
  private peekQuota(principal: string | undefined): Record<string, string> {
    if (!principal || this.settings.quotaHeaders === false) return {};
    const view = this.quotaViews.get(principal);
    const now = this.clock.now();
    if (!view || now >= view.resetsAt) {
      return {
        "x-ms-user-quota-remaining": String(this.limit),
        "x-ms-user-quota-resets-after": hhmmss(this.windowMs),
      };
    }
    return {
      "x-ms-user-quota-remaining": String(view.remaining),
      "x-ms-user-quota-resets-after": hhmmss(view.resetsAt - now),
    };
  }

  faultResponse(kind: "error" | "throttle", _req: SimRequest, info: RequestInfo): SimResponse {
    const headers: Record<string, string> = { ...this.peekQuota(info.principal), ...this.ids() };
    if (kind === "throttle") {
      headers["retry-after"] = "1";
      return {
        status: 429,
        headers,
        body: this.errorBody("RateLimiting", [{ code: "RateLimiting", message: RATE_LIMITING }]),
      };
    }
    return {
      status: 500,
      headers,
      body: this.errorBody("InternalServerError", [
        { code: "InternalServerError", message: "Encountered an internal server error." },
      ]),
    };
  }

  private ids(): Record<string, string> {
    const id = randomUUID();
    return { "x-ms-request-id": id, "x-ms-correlation-request-id": id };
  }

  private errorBody(code: string, details: Array<Record<string, unknown>>, message?: string): unknown {
    return {
      error: {
        code,
        message: message ?? SUPPORT.replace("{ts}", new Date().toISOString()).replace("{cid}", randomUUID()),
        details,
      },
    };
  }

  handle(req: SimRequest, info: RequestInfo, ctx: ServiceContext): SimResponse {
    const headers: Record<string, string> = this.ids();
    if (req.method !== "POST") {
      return {
        status: 405,
        headers,
        body: this.errorBody(
          "MethodNotAllowed",
          [],
          `The requested resource does not support http method '${req.method}'.`,
        ),
      };
    }
    if (!info.principal) {
      return {
        status: 401,
        headers: {
          ...headers,
          "www-authenticate":
            'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token"',
        },
        body: {
          error: {
            code: "AuthenticationFailed",
            message: "Authentication failed. The 'Authorization' header is missing.",
          },
        },
      };
    }
    const principal = info.principal;
    const quota = ctx.window(`arg:${principal}`, this.limit, this.windowMs).take();
    this.quotaViews.set(principal, {
      remaining: quota.remaining,
      resetsAt: this.clock.now() + quota.resetsAfterMs,
    });
    if (this.settings.quotaHeaders !== false) {
      headers["x-ms-user-quota-remaining"] = String(quota.remaining);
      headers["x-ms-user-quota-resets-after"] = hhmmss(quota.resetsAfterMs);
    }
    if (!quota.ok) {
      if (this.retryAfter) headers["retry-after"] = String(Math.max(1, Math.ceil(quota.retryAfterMs / 1000)));
      return {
        status: 429,
        headers,
        throttled: true,
        body: this.errorBody("RateLimiting", [{ code: "RateLimiting", message: RATE_LIMITING }]),
      };
    }
    try {
      const answer = this.query(req);
      Object.assign(headers, answer.headers);
      // Serialised here (still inside the modelled latency) to count the bytes a client must read.
      const body = JSON.stringify(answer.body);
      ctx.count("argResponseBytes", Buffer.byteLength(body));
      headers["content-type"] = "application/json; charset=utf-8";
      return { status: 200, headers, body, latencyUnits: answer.rows };
    } catch (error) {
      if (error instanceof ArgError)
        return {
          status: error.status,
          headers,
          body: this.errorBody(error.code, error.details, error.message),
        };
      throw error;
    }
  }

  private scope(body: QueryBody): { subs: string[]; headers: Record<string, string> } {
    const headers: Record<string, string> = {};
    const known = new Set(this.subscriptions.map((s) => s.id));
    if (body.subscriptions !== undefined && body.subscriptions !== null) {
      if (!Array.isArray(body.subscriptions) || !body.subscriptions.every((s) => typeof s === "string")) {
        throw new ArgError(400, "BadRequest", [
          { code: "InvalidRequestContent", message: "subscriptions must be an array of strings" },
        ]);
      }
      const wanted = [...new Set((body.subscriptions as string[]).map((s) => s.toLowerCase()))];
      const subs = wanted.filter((s) => known.has(s));
      if (wanted.length > 0 && subs.length === 0) {
        throw new ArgError(400, "BadRequest", [
          {
            code: "NoValidSubscriptionsInQueryRequest",
            message: "There are no valid subscriptions in the query request.",
          },
        ]);
      }
      if (wanted.length > 0) return { subs, headers };
    }
    let subs: string[];
    if (body.managementGroups !== undefined && body.managementGroups !== null) {
      if (
        !Array.isArray(body.managementGroups) ||
        !body.managementGroups.every((s) => typeof s === "string")
      ) {
        throw new ArgError(400, "BadRequest", [
          { code: "InvalidRequestContent", message: "managementGroups must be an array of strings" },
        ]);
      }
      const groups = new Set((body.managementGroups as string[]).map((g) => g.toLowerCase()));
      subs = this.subscriptions.filter((s) => s.managementGroups.some((m) => groups.has(m))).map((s) => s.id);
    } else subs = this.subscriptions.map((s) => s.id);
    if (subs.length > TENANT_SUBSCRIPTION_LIMIT) {
      subs = subs.slice(0, TENANT_SUBSCRIPTION_LIMIT);
      headers["x-ms-tenant-subscription-limit-hit"] = "true";
    }
    return { subs, headers };
  }

  private compile(text: string): CompiledQuery {
    const code = text.replace(/'[^']*'/g, "''");
    for (const name of this.settings.unsupportedFunctions ?? []) {
      const at = new RegExp(`\\b${name}\\s*\\(`).exec(code);
      if (at) {
        throw new ArgError(400, "BadRequest", [
          { code: "InvalidQuery", message: INVALID_QUERY },
          {
            code: "UnknownFunction",
            message: `Unknown function: '${name}'.`,
            ...lineAndColumn(text, at.index),
          },
        ]);
      }
    }
    let c = this.compiled.get(text);
    if (!c) {
      try {
        c = compileQuery(text, TABLES);
      } catch (error) {
        if (!(error instanceof KqlError)) throw error;
        c = error;
      }
      if (this.compiled.size > 256) this.compiled.clear();
      this.compiled.set(text, c);
    }
    if (c instanceof KqlError) {
      const detail: Record<string, unknown> = { code: c.detailCode, message: c.message };
      if (c.position !== undefined) Object.assign(detail, lineAndColumn(text, c.position));
      throw new ArgError(400, "BadRequest", [{ code: "InvalidQuery", message: INVALID_QUERY }, detail]);
    }
    return c;
  }

  /** The whole result of a query over a scope; cached, as ARG's continuation context is. */
  private evaluate(text: string, q: CompiledQuery, subs: string[]): Array<Record<string, unknown>> {
    const key = `${createHash("sha256").update(text).digest("hex")}:${createHash("sha256").update(subs.join(",")).digest("hex")}`;
    const hit = this.results.get(key);
    if (hit) {
      this.results.delete(key);
      this.results.set(key, hit);
      return hit;
    }
    const tables: Record<TableName, Row[]> = { Resources: [], ResourceContainers: [], ComputeResources: [] };
    for (const name of Object.keys(tables) as TableName[]) {
      const out = tables[name];
      for (const s of subs) for (const r of this.byTable[name].get(s) ?? []) out.push(r);
    }
    const table = q.run(tables);
    const rows = toObjects(table);
    this.results.set(key, rows);
    if (this.results.size > 8) this.results.delete(this.results.keys().next().value as string);
    return rows;
  }

  private query(req: SimRequest): { body: unknown; headers: Record<string, string>; rows: number } {
    let body: QueryBody;
    try {
      body = JSON.parse(req.body.toString("utf8")) as QueryBody;
    } catch {
      throw new ArgError(400, "BadRequest", [
        {
          code: "InvalidRequestContent",
          message: "The request content was invalid and could not be deserialized.",
        },
      ]);
    }
    if (
      typeof body !== "object" ||
      body === null ||
      typeof body.query !== "string" ||
      body.query.trim() === ""
    ) {
      throw new ArgError(400, "BadRequest", [
        { code: "InvalidRequestContent", message: "The query field is required." },
      ]);
    }
    const options = body.options ?? {};
    const top = options.$top;
    const skip = options.$skip;
    if (
      top !== undefined &&
      top !== null &&
      (typeof top !== "number" || !Number.isInteger(top) || top < 1 || top > MAX_TOP)
    ) {
      throw new ArgError(400, "BadRequest", [
        {
          code: "InvalidParameter",
          message: `The value of $top must be an integer between 1 and ${MAX_TOP}.`,
        },
      ]);
    }
    if (
      skip !== undefined &&
      skip !== null &&
      (typeof skip !== "number" || !Number.isInteger(skip) || skip < 0)
    ) {
      throw new ArgError(400, "BadRequest", [
        { code: "InvalidParameter", message: "The value of $skip must be a non-negative integer." },
      ]);
    }
    const format = options.resultFormat ?? "objectArray";
    if (format !== "objectArray" && format !== "table") {
      throw new ArgError(400, "BadRequest", [
        { code: "InvalidParameter", message: `resultFormat '${String(format)}' is not valid.` },
      ]);
    }
    const { subs, headers } = this.scope(body);
    const compiled = this.compile(body.query);
    const queryHash = createHash("sha256")
      .update(`${body.query}\u0000${subs.join(",")}`)
      .digest("hex")
      .slice(0, 16);
    let offset = 0;
    let size = DEFAULT_TOP;
    const tokenText = options.$skipToken;
    if (tokenText !== undefined && tokenText !== null && tokenText !== "") {
      let token: { skip?: unknown; top?: unknown; q?: unknown } | undefined;
      try {
        token = JSON.parse(Buffer.from(String(tokenText), "base64").toString("utf8"));
      } catch {
        token = undefined;
      }
      if (!token || typeof token.skip !== "number" || token.q !== queryHash) {
        throw new ArgError(400, "BadRequest", [
          {
            code: "InvalidSkipToken",
            message: "The skip token is invalid or does not belong to this query and scope.",
          },
        ]);
      }
      offset = token.skip;
      size = typeof token.top === "number" ? token.top : size;
    }
    if (typeof top === "number") size = top;
    if (typeof skip === "number" && !compiled.limited) offset = skip;
    // A summarize nested in a join: paged, or (switch) first page only, silently or marked truncated.
    const nested = this.settings.nestedSummarize ?? "pages";
    const firstPageOnly = nested !== "pages" && /\|\s*summarize\b/.test(body.query.replace(/'[^']*'/g, "''"));
    if (firstPageOnly) offset = 0;
    const all = this.evaluate(body.query, compiled, subs);
    const page = all.slice(offset, offset + size);
    const more = offset + page.length < all.length;
    const pageable = compiled.hasId && !compiled.firstPageOnly && !firstPageOnly;
    const response: Record<string, unknown> = {
      totalRecords: all.length,
      count: page.length,
      data:
        format === "table"
          ? {
              columns: compiled.columns.map((name) => ({ name, type: columnType(all, name) })),
              rows: page.map((r) => compiled.columns.map((c) => r[c])),
            }
          : page,
      facets: [],
      resultTruncated: more && !pageable && nested !== "first-page" ? "true" : "false",
    };
    if (more && pageable) {
      response.$skipToken = Buffer.from(
        JSON.stringify({ skip: offset + page.length, top: size, q: queryHash }),
      ).toString("base64");
    }
    return { body: response, headers, rows: page.length };
  }
}

function columnType(rows: Array<Record<string, unknown>>, name: string): string {
  for (const r of rows) {
    const v = r[name];
    if (v === null || v === undefined) continue;
    if (typeof v === "string") return "string";
    if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
    if (typeof v === "boolean") return "boolean";
    return "object";
  }
  return "string";
}
