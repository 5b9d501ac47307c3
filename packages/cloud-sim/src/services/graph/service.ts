import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { Rng } from "../../rng.js";
import type { RequestInfo, ServiceContext, SimRequest, SimResponse, SimService } from "../../types.js";
import { type GraphDataset, type GraphPhotoEntry, type GraphUser, isPhotoPlaceholder } from "./dataset.js";
import {
  FilterSyntaxError,
  type FilterNode,
  getProperty,
  matchesFilter,
  parseFilter,
  walkFilter,
} from "./filter.js";

/** Graph's documented limit for the Outlook-backed photo API: concurrent requests per app. */
export const PHOTO_CONCURRENCY_PER_APP = 4;
/** Seconds a concurrency refusal asks the caller to wait. */
const CONCURRENCY_RETRY_AFTER_S = 1;
const PHOTO_SIZES = [48, 64, 96, 120, 240, 360, 432, 504, 648];
const DEFAULT_SELECT = [
  "businessPhones",
  "displayName",
  "givenName",
  "jobTitle",
  "mail",
  "mobilePhone",
  "officeLocation",
  "preferredLanguage",
  "surname",
  "userPrincipalName",
  "id",
];
/** User profile properties: known to v1.0, but never filterable. */
const PROFILE_PROPERTIES = [
  "aboutMe",
  "birthday",
  "hireDate",
  "interests",
  "mySite",
  "pastProjects",
  "preferredName",
  "responsibilities",
  "schools",
  "skills",
];
/** v1.0 user properties the simulator knows besides the dataset's own. */
const KNOWN_PROPERTIES = new Set(
  [
    ...DEFAULT_SELECT,
    "accountEnabled",
    "ageGroup",
    "city",
    "companyName",
    "country",
    "createdDateTime",
    "department",
    "employeeHireDate",
    "employeeId",
    "employeeLeaveDateTime",
    "employeeType",
    "externalUserState",
    "faxNumber",
    "identities",
    "imAddresses",
    "mailNickname",
    "onPremisesDistinguishedName",
    "onPremisesImmutableId",
    "onPremisesSamAccountName",
    "onPremisesSyncEnabled",
    "onPremisesUserPrincipalName",
    "otherMails",
    "postalCode",
    "proxyAddresses",
    "state",
    "streetAddress",
    "usageLocation",
    "userType",
    ...PROFILE_PROPERTIES,
  ].map((p) => p.toLowerCase()),
);
/** Properties that exist but cannot be filtered on (Graph answers Request_UnsupportedQuery). */
const NOT_FILTERABLE = new Set(
  [...PROFILE_PROPERTIES, "businessPhones", "mobilePhone", "preferredLanguage"].map((p) => p.toLowerCase()),
);

const ADVANCED_HINT =
  "is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information";

interface Held {
  app: string;
  slots: number;
}

/**
 * Photo behaviours Graph's documentation leaves open, each observed in real tenants (see the README's
 * Microsoft Graph section for sources). Tests run the job against every position.
 */
export interface GraphPhotoBehaviour {
  /**
   * The `ETag` header of `$value`: the photo's `@odata.mediaEtag` (`"media"`, seen in
   * msgraph-sdk-javascript#48), none at all (`"absent"`), or a value unlike the mediaEtag
   * (`"different"`): its presence and form are undocumented.
   */
  valueEtag: "media" | "absent" | "different";
  /** `id` of the 1x1 placeholder's metadata: `"1x1"` (current docs) or `"1X1"` (older answers). */
  placeholderId: "1x1" | "1X1";
  /** HTTP status of `MailboxNotHostedInExchangeOnline` (undocumented; 404 is what is usually seen). */
  onPremisesStatus: number;
  /**
   * `/beta` for an on-premises mailbox: falls back to the photo in Entra ID (`"entra-id"`,
   * graph-explorer-v4#634), or fails with the same error (`"same-error"`, msgraph-sdk-dotnet#688).
   */
  onPremisesBeta: "entra-id" | "same-error";
}

const DEFAULT_PHOTO_BEHAVIOUR: GraphPhotoBehaviour = {
  valueEtag: "media",
  placeholderId: "1x1",
  onPremisesStatus: 404,
  onPremisesBeta: "entra-id",
};

interface Routed {
  operation: string;
  version: "v1.0" | "beta";
  /** Path after the version segment, decoded, without leading slash. */
  segments: string[];
}

type Answer = SimResponse & { status: number };

function headerValue(
  headers: IncomingHttpHeaders | Record<string, string>,
  name: string,
): string | undefined {
  const v = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The calling app: `appid`/`azp` of a JWT, else a short hash of the opaque token (never the token). */
export function appFromToken(token: string): string {
  const parts = token.split(".");
  if (parts.length === 3) {
    try {
      const payload = JSON.parse(Buffer.from(parts[1] as string, "base64url").toString("utf8")) as Record<
        string,
        unknown
      >;
      const app = payload.appid ?? payload.azp;
      if (typeof app === "string" && app) return app;
    } catch {
      // not a JWT after all
    }
  }
  return `app-${createHash("sha256").update(token).digest("hex").slice(0, 12)}`;
}

function route(pathname: string): Routed | null {
  const m = /^\/(v1\.0|beta)(\/.*)?$/.exec(pathname);
  if (!m) return null;
  const segments = (m[2] ?? "/")
    .split("/")
    .filter((s) => s.length > 0)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  return { operation: operationOf(segments), version: m[1] === "beta" ? "beta" : "v1.0", segments };
}

function operationOf(s: string[]): string {
  const [a, id, b, c, d] = s;
  if (a === "$batch" && s.length === 1) return "Batch";
  if (a?.toLowerCase() !== "users") return "Unknown";
  if (s.length === 1) return "ListUsers";
  if (s.length === 2) return id === "$count" ? "CountUsers" : "GetUser";
  if (b === "photo" && s.length === 3) return "GetPhoto";
  if (b === "photo" && c === "$value" && s.length === 4) return "GetPhotoValue";
  if (b === "photos" && s.length === 3) return "ListPhotos";
  if (b === "photos" && s.length === 4) return "GetPhotoSize";
  if (b === "photos" && d === "$value" && s.length === 5) return "GetPhotoSizeValue";
  return "Unknown";
}

/**
 * The Microsoft Graph simulator: `/v1.0/users` with the directory's query rules (advanced queries,
 * `$top` 1..999, absolute `@odata.nextLink`), profile photos backed by the "Outlook" photo API (4
 * concurrent requests per app, 404 ImageNotFound, on-premises mailboxes) and JSON batching.
 */
export class GraphSimService implements SimService {
  readonly name = "graph";
  private users: GraphUser[];
  private readonly byKey = new Map<string, GraphUser>();
  private readonly photos = new Map<string, GraphPhotoEntry & { bytes?: Buffer }>();
  private behaviour: GraphPhotoBehaviour = { ...DEFAULT_PHOTO_BEHAVIOUR };
  private readonly onPrem = new Set<string>();
  private knownProps = new Set<string>(KNOWN_PROPERTIES);
  private readonly inFlight = new Map<string, number>();
  private readonly held = new Map<SimRequest, Held>();
  /** Most photo requests one app had in flight at once (tests assert the client stayed within 4). */
  maxPhotoInFlight = 0;

  constructor(
    section: GraphDataset | undefined,
    private readonly rng: Rng,
    readonly token = "sim-graph-token",
  ) {
    this.users = structuredClone(section?.users ?? []);
    for (const u of this.users) this.index(u);
    for (const [id, p] of Object.entries(section?.photos ?? {})) this.photos.set(id.toLowerCase(), { ...p });
    for (const id of section?.onPremisesMailboxes ?? []) this.onPrem.add(id.toLowerCase());
  }

  private index(u: GraphUser): void {
    this.byKey.set(u.id.toLowerCase(), u);
    this.byKey.set(u.userPrincipalName.toLowerCase(), u);
    for (const k of Object.keys(u)) this.knownProps.add(k.toLowerCase());
  }

  /** Test hook: replaces (or with null removes) a user's photo, as an admin uploading a new one would. */
  setPhoto(userId: string, photo: GraphPhotoEntry | null): void {
    if (photo === null) this.photos.delete(userId.toLowerCase());
    else this.photos.set(userId.toLowerCase(), { ...photo });
  }

  /** Test hook: switches the photo behaviours the documentation leaves open (see GraphPhotoBehaviour). */
  setPhotoBehaviour(patch: Partial<GraphPhotoBehaviour>): GraphPhotoBehaviour {
    this.behaviour = { ...this.behaviour, ...patch };
    return { ...this.behaviour };
  }

  /** Test hook: changes a user's properties. */
  updateUser(userId: string, patch: Partial<GraphUser>): void {
    const u = this.byKey.get(userId.toLowerCase());
    if (!u) throw new RangeError(`no user ${userId}`);
    Object.assign(u, patch);
    this.index(u);
  }

  classify(req: SimRequest): RequestInfo | null {
    const r = route(req.url.pathname);
    if (!r) return null;
    const auth = headerValue(req.headers, "authorization");
    const token = auth?.replace(/^Bearer\s+/i, "").trim();
    const info: RequestInfo = { operation: r.operation };
    if (token) info.principal = appFromToken(token);
    return info;
  }

  environment(origins: { http: string; https: string }): Record<string, string> {
    return { CLOUDADMIN_GRAPH_ENDPOINT: origins.https, CLOUDADMIN_GRAPH_TOKEN: this.token };
  }

  faultResponse(kind: "error" | "throttle", _req: SimRequest, _info: RequestInfo): SimResponse {
    if (kind === "throttle") return this.tooManyRequests(2);
    return this.error(
      503,
      "serviceNotAvailable",
      "The service is temporarily unavailable. Please retry later.",
      {
        "retry-after": "1",
      },
    );
  }

  onFinished(req: SimRequest): void {
    const h = this.held.get(req);
    if (!h) return;
    this.held.delete(req);
    this.inFlight.set(h.app, (this.inFlight.get(h.app) ?? 0) - h.slots);
  }

  handle(req: SimRequest, info: RequestInfo, ctx: ServiceContext): SimResponse {
    const auth = headerValue(req.headers, "authorization");
    const token = auth?.replace(/^Bearer\s+/i, "").trim();
    if (!token || !info.principal) {
      return this.error(401, "InvalidAuthenticationToken", "Access token is empty.");
    }
    const r = route(req.url.pathname) as Routed;
    if (r.operation === "Batch") {
      if (req.method !== "POST")
        return this.error(
          405,
          "Request_BadRequest",
          "Specified HTTP method is not allowed for the request target.",
        );
      return this.batch(req, info.principal, ctx);
    }
    return this.dispatch(req.method, r, req.url.searchParams, req.headers, info.principal, req, ctx);
  }

  private requestHeaders(extra: Record<string, string> = {}): Record<string, string> {
    const id = this.rng.uuid();
    return { "request-id": id, "client-request-id": id, ...extra };
  }

  private error(status: number, code: string, message: string, headers: Record<string, string> = {}): Answer {
    const h = this.requestHeaders(headers);
    return {
      status,
      headers: h,
      body: {
        error: {
          code,
          message,
          innerError: {
            date: new Date().toISOString().slice(0, 19),
            "request-id": h["request-id"],
            "client-request-id": h["request-id"],
          },
        },
      },
    };
  }

  /** The mailbox limits' 429 (concurrency per app, request rate per app and mailbox). */
  private applicationThrottled(
    retryAfterS: number,
    limit: "MailboxConcurrency" | "MailboxRequestRate",
  ): Answer {
    return {
      status: 429,
      throttled: true,
      headers: this.requestHeaders({ "retry-after": String(retryAfterS) }),
      body: { error: { code: "ApplicationThrottled", message: `Application is over its ${limit} limit.` } },
    };
  }

  private tooManyRequests(retryAfterS: number, extra: Record<string, string> = {}): Answer {
    const h = this.requestHeaders({ "retry-after": String(retryAfterS), ...extra });
    return {
      status: 429,
      throttled: true,
      headers: h,
      body: {
        error: {
          code: "TooManyRequests",
          message: "Please retry again later.",
          innerError: {
            code: "429",
            message: "Please retry after",
            date: new Date().toISOString().slice(0, 19),
            "request-id": h["request-id"],
          },
        },
      },
    };
  }

  /** One request, direct or from a batch; `owner` holds any photo concurrency slot taken. */
  private dispatch(
    method: string,
    r: Routed,
    query: URLSearchParams,
    headers: IncomingHttpHeaders | Record<string, string>,
    app: string,
    owner: SimRequest,
    ctx: ServiceContext,
  ): Answer {
    if (r.operation === "Unknown") {
      const target = `/${r.segments.join("/")}`;
      return this.error(
        400,
        "BadRequest",
        `Resource not found for the segment '${r.segments.at(-1) ?? target}'.`,
      );
    }
    if (method !== "GET") {
      return this.error(
        405,
        "Request_BadRequest",
        "Specified HTTP method is not allowed for the request target.",
      );
    }
    if (r.operation === "ListUsers") return this.listUsers(query, headers, app, owner, ctx);
    if (r.operation === "CountUsers") return this.countUsers(query, headers, app, ctx);
    const user = this.byKey.get((r.segments[1] ?? "").toLowerCase());
    if (!user) {
      return this.error(
        404,
        "Request_ResourceNotFound",
        `Resource '${r.segments[1]}' does not exist or one of its queried reference-property objects are not present.`,
      );
    }
    if (r.operation === "GetUser") return this.getUser(user, query, app, owner, ctx);
    return this.photo(r, user, app, owner, ctx);
  }

  private identityBudget(app: string, ctx: ServiceContext, cost: number): Answer | null {
    // App + tenant budget per 10 s, by tenant size (S < 50 users, M 50-500, L > 500).
    const n = this.users.length;
    const budget = n < 50 ? 3500 : n <= 500 ? 5000 : 8000;
    const taken = ctx.bucket(`graph:identity:${app}`, { burst: budget, perSecond: budget / 10 }).take(cost);
    if (taken.ok) return null;
    return this.tooManyRequests(Math.max(1, Math.ceil(taken.retryAfterMs / 1000)), {
      "x-ms-throttle-scope": `Tenant_Application/ReadWrite/${app}`,
      "x-ms-throttle-information": "ResourceUnitLimitExceeded",
    });
  }

  private checkProperty(name: string): Answer | null {
    if (!this.knownProps.has(name.toLowerCase())) {
      return this.error(
        400,
        "Request_BadRequest",
        `Could not find a property named '${name}' on type 'microsoft.graph.user'.`,
      );
    }
    return null;
  }

  private select(query: URLSearchParams): string[] | Answer {
    const raw = query.get("$select");
    if (raw === null) return DEFAULT_SELECT;
    const props = raw
      .split(",")
      .map((p) => p.trim())
      .filter((p) => p.length > 0);
    for (const p of props) {
      const bad = this.checkProperty(p);
      if (bad) return bad;
    }
    return props;
  }

  private project(user: GraphUser, props: string[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const p of props) {
      const v = getProperty(user, p);
      // Graph returns every selected property, null when unset; extension attributes only when set.
      if (v === undefined && p.toLowerCase().startsWith("extension_")) continue;
      out[p] = v === undefined ? (p === "businessPhones" ? [] : null) : v;
    }
    return out;
  }

  private listUsers(
    query: URLSearchParams,
    headers: IncomingHttpHeaders | Record<string, string>,
    app: string,
    owner: SimRequest,
    ctx: ServiceContext,
  ): Answer {
    const advanced =
      headerValue(headers, "consistencylevel")?.toLowerCase() === "eventual" &&
      query.get("$count")?.toLowerCase() === "true";
    const topRaw = query.get("$top");
    let top = 100;
    if (topRaw !== null) {
      top = Number(topRaw);
      if (!/^\d+$/.test(topRaw) || top < 1 || top > 999) {
        return this.error(
          400,
          "Request_UnsupportedQuery",
          `Invalid page size specified: '${topRaw}'. Must be between 1 and 999 inclusive.`,
        );
      }
    }
    if (query.has("$skip")) {
      return this.error(400, "Request_BadRequest", "'$skip' is not supported by the service.");
    }
    const props = this.select(query);
    if (!Array.isArray(props)) return props;
    let filter: FilterNode | null = null;
    const filterText = query.get("$filter");
    if (filterText !== null) {
      try {
        filter = parseFilter(filterText);
      } catch (e) {
        if (e instanceof FilterSyntaxError)
          return this.error(400, "BadRequest", `Invalid filter clause: ${e.message}`);
        throw e;
      }
      let problem: Answer | null = null;
      let needsAdvanced: string | null = null;
      walkFilter(filter, (n) => {
        if (problem) return;
        if (n.kind === "cmp" || n.kind === "in" || n.kind === "fn") {
          problem = this.checkProperty(n.property);
          if (!problem && NOT_FILTERABLE.has(n.property.toLowerCase())) {
            problem = this.error(
              400,
              "Request_UnsupportedQuery",
              `Unsupported or invalid query filter clause specified for property '${n.property}' of resource 'User'.`,
            );
          }
        }
        if (n.kind === "cmp" && n.op === "ne") needsAdvanced ??= "ne";
        if (n.kind === "not") needsAdvanced ??= "not";
        if (n.kind === "fn" && n.name === "endswith") needsAdvanced ??= "endsWith";
      });
      if (problem) return problem;
      if (needsAdvanced && !advanced) {
        return this.error(400, "Request_UnsupportedQuery", `Operator '${needsAdvanced}' ${ADVANCED_HINT}`);
      }
    }
    const orderby = query.get("$orderby");
    if (orderby !== null && filter && !advanced) {
      return this.error(400, "Request_UnsupportedQuery", "Sorting not supported for current query.");
    }
    const search = query.get("$search");
    if (search !== null && headerValue(headers, "consistencylevel")?.toLowerCase() !== "eventual") {
      return this.error(
        400,
        "Request_UnsupportedQuery",
        "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
      );
    }
    if (query.has("$expand") && advanced) {
      return this.error(
        400,
        "Request_UnsupportedQuery",
        "The $expand query parameter is not supported with advanced queries.",
      );
    }
    const throttled = this.identityBudget(app, ctx, query.has("$select") ? 1 : 2);
    if (throttled) return throttled;

    let offset = 0;
    let afterEmpty = false;
    const skiptoken = query.get("$skiptoken");
    if (skiptoken !== null) {
      const decoded = /^sim1\.(\d+)(\.e)?$/.exec(Buffer.from(skiptoken, "base64url").toString("utf8"));
      if (!decoded) {
        return this.error(
          400,
          "Directory_ExpiredPageToken",
          "The specified page token value has expired and can no longer be included in your request.",
        );
      }
      offset = Number(decoded[1]);
      afterEmpty = decoded[2] !== undefined;
    }
    let rows = filter ? this.users.filter((u) => matchesFilter(filter, u)) : this.users;
    if (search !== null) {
      const m = /^"?([^:"]+):([^"]*)"?$/.exec(search.trim());
      if (m) {
        const [, prop, term] = m as unknown as [string, string, string];
        rows = rows.filter((u) =>
          String(getProperty(u, prop) ?? "")
            .toLowerCase()
            .includes(term.toLowerCase()),
        );
      }
    }
    if (orderby !== null) {
      const [prop, dir] = orderby.trim().split(/\s+/) as [string, string | undefined];
      const sign = dir?.toLowerCase() === "desc" ? -1 : 1;
      rows = [...rows].sort((a, b) => {
        const x = String(getProperty(a, prop) ?? "").toLowerCase();
        const y = String(getProperty(b, prop) ?? "").toLowerCase();
        return x < y ? -sign : x > y ? sign : 0;
      });
    }
    // An empty page with a nextLink happens (eventual consistency); never twice in a row at one offset.
    const emptyPage =
      !afterEmpty &&
      ctx.faults.emptyPageRate > 0 &&
      offset < rows.length &&
      ctx.rng.chance(ctx.faults.emptyPageRate);
    const page = emptyPage ? [] : rows.slice(offset, offset + top);
    const nextOffset = emptyPage ? offset : offset + page.length;
    const origin = owner.origin;
    const version = owner.url.pathname.startsWith("/beta") ? "beta" : "v1.0";
    const body: Record<string, unknown> = {
      "@odata.context": `${origin}/${version}/$metadata#users${query.has("$select") ? `(${props.join(",")})` : ""}`,
    };
    if (advanced && skiptoken === null) body["@odata.count"] = rows.length;
    if (nextOffset < rows.length) {
      const params = new URLSearchParams();
      for (const [k, v] of query) if (k !== "$skiptoken") params.append(k, v);
      params.set(
        "$skiptoken",
        Buffer.from(`sim1.${nextOffset}${emptyPage ? ".e" : ""}`).toString("base64url"),
      );
      body["@odata.nextLink"] =
        `${origin}/${version}/users?${params.toString().replace(/%24/g, "$").replace(/\+/g, "%20")}`;
    }
    body.value = page.map((u) => this.project(u, props));
    return {
      status: 200,
      headers: this.requestHeaders({ "x-ms-resource-unit": query.has("$select") ? "1" : "2" }),
      body,
    };
  }

  private countUsers(
    query: URLSearchParams,
    headers: IncomingHttpHeaders | Record<string, string>,
    app: string,
    ctx: ServiceContext,
  ): Answer {
    if (headerValue(headers, "consistencylevel")?.toLowerCase() !== "eventual") {
      return this.error(400, "Request_BadRequest", "$count is not currently supported.");
    }
    let rows = this.users;
    const filterText = query.get("$filter");
    if (filterText !== null) {
      try {
        const f = parseFilter(filterText);
        rows = rows.filter((u) => matchesFilter(f, u));
      } catch (e) {
        if (e instanceof FilterSyntaxError)
          return this.error(400, "BadRequest", `Invalid filter clause: ${e.message}`);
        throw e;
      }
    }
    const throttled = this.identityBudget(app, ctx, 1);
    if (throttled) return throttled;
    return {
      status: 200,
      headers: this.requestHeaders({ "content-type": "text/plain" }),
      body: String(rows.length),
    };
  }

  private getUser(
    user: GraphUser,
    query: URLSearchParams,
    app: string,
    owner: SimRequest,
    ctx: ServiceContext,
  ): Answer {
    const props = this.select(query);
    if (!Array.isArray(props)) return props;
    const throttled = this.identityBudget(app, ctx, 1);
    if (throttled) return throttled;
    return {
      status: 200,
      headers: this.requestHeaders(),
      body: {
        "@odata.context": `${owner.origin}/v1.0/$metadata#users/$entity`,
        ...this.project(user, props),
      },
    };
  }

  /** Takes one photo concurrency slot for `app` on behalf of `owner`, or says it cannot. */
  private acquire(app: string, owner: SimRequest): boolean {
    const n = this.inFlight.get(app) ?? 0;
    if (n >= PHOTO_CONCURRENCY_PER_APP) return false;
    this.inFlight.set(app, n + 1);
    this.maxPhotoInFlight = Math.max(this.maxPhotoInFlight, n + 1);
    const h = this.held.get(owner);
    if (h) h.slots++;
    else this.held.set(owner, { app, slots: 1 });
    return true;
  }

  private photo(r: Routed, user: GraphUser, app: string, owner: SimRequest, ctx: ServiceContext): Answer {
    if (!this.acquire(app, owner)) {
      return this.applicationThrottled(CONCURRENCY_RETRY_AFTER_S, "MailboxConcurrency");
    }
    const rate = ctx.window(`graph:mailbox:${app}:${user.id}`, 10_000, 600_000).take();
    if (!rate.ok) {
      return this.applicationThrottled(
        Math.max(1, Math.ceil(rate.retryAfterMs / 1000)),
        "MailboxRequestRate",
      );
    }
    const version = r.version;
    const onPremises = () =>
      this.error(
        this.behaviour.onPremisesStatus,
        "MailboxNotHostedInExchangeOnline",
        "Mailbox is hosted by an on-premise or non-Exchange server, which is not supported.",
      );
    // v1.0 reads photos from Exchange Online only; beta may fall back to Entra ID (profilephoto-get, beta).
    if (this.onPrem.has(user.id.toLowerCase())) {
      if (version === "v1.0" || this.behaviour.onPremisesBeta === "same-error") return onPremises();
    }
    const photo = this.photos.get(user.id.toLowerCase());
    const notFound = () =>
      this.error(
        404,
        "ImageNotFound",
        "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown.",
      );
    if (!photo) return notFound();
    if (isPhotoPlaceholder(photo)) {
      // profilephoto-get example 3: the metadata of a 1x1 GIF with an empty mediaEtag; no bytes.
      if (r.operation === "GetPhoto") {
        return {
          status: 200,
          headers: this.requestHeaders(),
          body: {
            "@odata.context": `${owner.origin}/${version}/$metadata#users('${user.id}')/photo/$entity`,
            "@odata.mediaContentType": "image/gif",
            "@odata.mediaEtag": "",
            id: this.behaviour.placeholderId,
            height: 1,
            width: 1,
          },
        };
      }
      if (r.operation === "ListPhotos") {
        return {
          status: 200,
          headers: this.requestHeaders(),
          body: {
            "@odata.context": `${owner.origin}/${version}/$metadata#users('${user.id}')/photos`,
            value: [],
          },
        };
      }
      return notFound();
    }
    const width = photo.width ?? 648;
    const height = photo.height ?? width;
    const available = PHOTO_SIZES.filter((s) => s <= Math.max(width, height));
    const meta = (w: number, h: number) => ({
      "@odata.mediaContentType": photo.contentType,
      "@odata.mediaEtag": photo.etag,
      id: `${w}x${h}`,
      height: h,
      width: w,
    });
    const value = (): Answer => {
      photo.bytes ??= Buffer.from(photo.base64, "base64");
      const bytes = photo.bytes;
      ctx.count("photoBytes", bytes.length);
      ctx.count("photosServed");
      const etag: Record<string, string> = {
        media: { etag: photo.etag },
        absent: {},
        different: { etag: `"${createHash("sha1").update(bytes).digest("hex").slice(0, 8).toUpperCase()}"` },
      }[this.behaviour.valueEtag];
      return {
        status: 200,
        headers: this.requestHeaders({ "content-type": photo.contentType, ...etag }),
        body: bytes,
      };
    };
    switch (r.operation) {
      case "GetPhoto":
        return {
          status: 200,
          headers: this.requestHeaders(),
          body: {
            "@odata.context": `${owner.origin}/${version}/$metadata#users('${user.id}')/photo/$entity`,
            ...meta(width, height),
          },
        };
      case "GetPhotoValue":
        return value();
      case "ListPhotos":
        return {
          status: 200,
          headers: this.requestHeaders(),
          body: {
            "@odata.context": `${owner.origin}/${version}/$metadata#users('${user.id}')/photos`,
            value: available.map((s) => meta(s, s)),
          },
        };
      default: {
        const m = /^(\d+)x(\d+)$/i.exec(r.segments[3] ?? "");
        if (!m) return this.error(400, "ErrorInvalidIdMalformed", "Id is malformed.");
        const w = Number(m[1]);
        const h = Number(m[2]);
        if (w !== h || !available.includes(w)) return notFound();
        if (r.operation === "GetPhotoSize") {
          return {
            status: 200,
            headers: this.requestHeaders(),
            body: {
              "@odata.context": `${owner.origin}/${version}/$metadata#users('${user.id}')/photos/$entity`,
              ...meta(w, h),
            },
          };
        }
        return value();
      }
    }
  }

  private batch(req: SimRequest, app: string, ctx: ServiceContext): Answer {
    let parsed: unknown;
    try {
      parsed = JSON.parse(req.body.toString("utf8"));
    } catch {
      return this.error(400, "BadRequest", "Invalid batch payload format.");
    }
    const requests = (parsed as { requests?: unknown }).requests;
    if (!Array.isArray(requests) || requests.length === 0) {
      return this.error(400, "BadRequest", "Invalid batch payload format.");
    }
    if (requests.length > 20) {
      return this.error(400, "BadRequest", "Limit of 20 requests per batch exceeded.");
    }
    const ids = new Set<string>();
    for (const item of requests as Array<Record<string, unknown>>) {
      if (typeof item?.id !== "string" || typeof item.method !== "string" || typeof item.url !== "string") {
        return this.error(
          400,
          "BadRequest",
          "Invalid batch payload format: each request needs id, method and url.",
        );
      }
      if (ids.has(item.id))
        return this.error(400, "BadRequest", `Batch request contains duplicate id '${item.id}'.`);
      ids.add(item.id);
    }
    const statusById = new Map<string, number>();
    const responses: Array<Record<string, unknown>> = [];
    for (const item of requests as Array<{
      id: string;
      method: string;
      url: string;
      headers?: Record<string, string>;
      dependsOn?: string[];
    }>) {
      const failedDep = (item.dependsOn ?? []).find((d) => (statusById.get(d) ?? 424) >= 400);
      let answer: Answer;
      if (failedDep !== undefined) {
        answer = this.error(
          424,
          "FailedDependency",
          `The request depends on request '${failedDep}', which failed.`,
        );
      } else {
        // The SDK sends `/v1.0/users/...` when built from absolute URLs, `/users/...` from relative ones.
        let url = item.url.replace(/^https?:\/\/[^/]+/i, "");
        if (!url.startsWith("/")) url = `/${url}`;
        if (!/^\/(v1\.0|beta)\//.test(url)) url = `/v1.0${url}`;
        const target = new URL(url, req.origin);
        const r = route(target.pathname);
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(item.headers ?? {})) headers[k.toLowerCase()] = String(v);
        if (!r || r.operation === "Batch")
          answer = this.error(400, "BadRequest", "Invalid request url in batch.");
        else
          answer = this.dispatch(item.method.toUpperCase(), r, target.searchParams, headers, app, req, ctx);
      }
      statusById.set(item.id, answer.status);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(answer.headers ?? {})) {
        if (k === "request-id" || k === "client-request-id") continue;
        headers[
          k === "content-type"
            ? "Content-Type"
            : k === "retry-after"
              ? "Retry-After"
              : k === "etag"
                ? "ETag"
                : k
        ] = String(v);
      }
      let body: unknown = answer.body;
      if (Buffer.isBuffer(body)) body = body.toString("base64");
      else if (typeof body === "string") headers["Content-Type"] ??= "text/plain";
      else if (body !== undefined) headers["Content-Type"] ??= "application/json";
      responses.push({
        id: item.id,
        status: answer.status,
        headers,
        ...(body === undefined ? {} : { body }),
      });
    }
    // Responses may come back in any order; without dependencies, Graph often reorders them.
    if (!requests.some((r: { dependsOn?: unknown }) => r.dependsOn)) {
      for (let i = responses.length - 1; i > 0; i--) {
        const j = this.rng.int(0, i);
        [responses[i], responses[j]] = [
          responses[j] as Record<string, unknown>,
          responses[i] as Record<string, unknown>,
        ];
      }
    }
    return { status: 200, headers: this.requestHeaders(), body: { responses } };
  }
}
