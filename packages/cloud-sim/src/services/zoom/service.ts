import type { Clock } from "../../clock.js";
import type { Rng } from "../../rng.js";
import type { ServiceContext, SimRequest, SimResponse, SimService } from "../../types.js";
import {
  DEFAULT_ACCOUNT_ID,
  DEFAULT_CLIENT_ID,
  DEFAULT_CLIENT_SECRET,
  PLAN_LIMITS,
  REPORTED_DAILY_QUOTA,
  type ZoomCategoryLimits,
  type ZoomDailyHeaderForm,
  type ZoomDataset,
  type ZoomPerSecondHeaderForm,
  type ZoomUserRecord,
  type ZoomUserType,
} from "./dataset.js";

export type RateLimitCategory = "Light" | "Medium";
/** How a per-second 429 carries `Retry-After`: delay-seconds, an ISO date, or not at all. */
export type RetryAfterForm = "seconds" | "date" | "missing";

/** Knobs and views tests reach through `sim.service("zoom")`. */
export interface ZoomSimService extends SimService {
  /** The live users (PATCHes change them). */
  users(): readonly ZoomUserRecord[];
  /** Removes a user (another admin deleted it between listing and changing). */
  deleteUser(idOrEmail: string): boolean;
  /** Every token issued so far stops working, as if an hour had passed. */
  expireTokens(): void;
  /** Every next_page_token issued so far stops working, as if 15 minutes had passed. */
  expirePageTokens(): void;
  /** Forces the `Retry-After` forms of per-second 429s (cycled in order); default: Zoom's mix. */
  setRetryAfterForms(forms: readonly RetryAfterForm[] | null): void;
  /** Changes a category's limits (and resets its counters). */
  setRateLimits(category: RateLimitCategory, limits: ZoomCategoryLimits): void;
  /** Switches the header forms of rate-limit answers (see `ZoomDataset.rateLimitHeaders`). */
  setRateLimitHeaders(forms: { perSecond?: ZoomPerSecondHeaderForm; daily?: ZoomDailyHeaderForm }): void;
}

const TOKEN_LIFETIME_MS = 3_600_000;
const PAGE_TOKEN_LIFETIME_MS = 15 * 60_000;

interface IssuedToken {
  expiresAt: number;
  accountId: string;
}

interface PageCursor {
  offset: number;
  status: string;
  pageSize: number;
  issuedAt: number;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): SimResponse {
  return { status, body, headers: { "content-type": "application/json;charset=UTF-8", ...headers } };
}

/** `2026-11-01T00:00:00Z`: Zoom's date form (no milliseconds). */
function zoomDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function randomChars(rng: Rng, n: number): string {
  const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let s = "";
  for (let i = 0; i < n; i++) s += chars[Math.floor(rng.next() * chars.length)];
  return s;
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/**
 * Zoom's Server-to-Server OAuth token endpoint and the users API (`GET /v2/users`,
 * `GET|PATCH /v2/users/{userId}`), with the account's per-category rate limits (Light, Medium; per
 * second and per UTC day) and their `X-RateLimit-*` headers in each form real accounts show
 * (`rateLimitHeaders`): the per-second type as `QPS` or `Per-second-limit`, the daily quota in
 * `X-RateLimit-Limit` with no type, or no header at all; `Retry-After` as delay-seconds, as a date,
 * or missing; daily-limit 429s with or without their type and date.
 */
export function createZoomService(
  section: ZoomDataset | undefined,
  options: { clock: Clock; rng: Rng },
): ZoomSimService {
  const { clock, rng } = options;
  const accountId = section?.accountId ?? DEFAULT_ACCOUNT_ID;
  const clientId = section?.clientId ?? DEFAULT_CLIENT_ID;
  const clientSecret = section?.clientSecret ?? DEFAULT_CLIENT_SECRET;
  const plan = section?.plan ?? "business";
  const limits: Record<RateLimitCategory, ZoomCategoryLimits> = {
    Light: { ...PLAN_LIMITS[plan].light, ...section?.rateLimits?.light },
    Medium: { ...PLAN_LIMITS[plan].medium, ...section?.rateLimits?.medium },
  };
  const seats = section?.licenses;
  let users: ZoomUserRecord[] = structuredClone(section?.users ?? []);
  const tokens = new Map<string, IssuedToken>();
  const cursors = new Map<string, PageCursor>();
  const daily = new Map<RateLimitCategory, { day: string; used: number }>();
  let limitsVersion = 0;
  let forcedForms: readonly RetryAfterForm[] | null = null;
  let formTurn = 0;
  let perSecondForm: ZoomPerSecondHeaderForm = section?.rateLimitHeaders?.perSecond ?? "QPS";
  let dailyForm: ZoomDailyHeaderForm = section?.rateLimitHeaders?.daily ?? "typed";
  const dailyQuota = (category: RateLimitCategory): number =>
    limits[category].perDay ?? REPORTED_DAILY_QUOTA[category === "Light" ? "light" : "medium"];

  // By id and by lower-cased email; pending users cannot be addressed (Zoom gives them no id).
  const index = new Map<string, ZoomUserRecord>();
  for (const u of users) {
    if (u.status === "pending") continue;
    index.set(`id:${u.id}`, u);
    index.set(`email:${u.email.toLowerCase()}`, u);
  }
  const findUser = (key: string): ZoomUserRecord | undefined =>
    index.get(`id:${key}`) ?? index.get(`email:${key.toLowerCase()}`);

  const utcDay = () => clock.date().toISOString().slice(0, 10);
  const nextUtcMidnight = () => {
    const d = clock.date();
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
  };

  function issueToken(req: SimRequest, ctx: ServiceContext): SimResponse {
    if (req.method !== "POST") return json(405, { reason: "Method Not Allowed", error: "invalid_request" });
    const params = new URLSearchParams(req.url.search);
    const contentType = String(req.headers["content-type"] ?? "");
    if (contentType.includes("application/x-www-form-urlencoded") && req.body.length > 0) {
      for (const [k, v] of new URLSearchParams(req.body.toString("utf8")))
        if (!params.has(k)) params.set(k, v);
    }
    const auth = String(req.headers.authorization ?? "");
    const match = /^Basic\s+(\S+)$/i.exec(auth);
    const decoded = match ? Buffer.from(match[1] as string, "base64").toString("utf8") : "";
    const sep = decoded.indexOf(":");
    const id = sep >= 0 ? decoded.slice(0, sep) : "";
    const secret = sep >= 0 ? decoded.slice(sep + 1) : "";
    if (id !== clientId || secret !== clientSecret) {
      return json(401, { reason: "Invalid client_id or client_secret", error: "invalid_client" });
    }
    const grant = params.get("grant_type");
    if (grant !== "account_credentials") {
      return json(400, { reason: "Unsupported grant type", error: "unsupported_grant_type" });
    }
    if (params.get("account_id") !== accountId) {
      return json(400, { reason: "Invalid request : Invalid account_id", error: "invalid_request" });
    }
    const now = clock.now();
    const iat = Math.floor(clock.date().getTime() / 1000);
    const token = [
      base64url({ alg: "HS512", v: "2.0", kid: randomChars(rng, 12) }),
      base64url({
        aud: "https://oauth.zoom.us",
        uid: randomChars(rng, 22),
        ver: 9,
        aid: accountId,
        iat,
        exp: iat + 3600,
      }),
      randomChars(rng, 86),
    ].join(".");
    tokens.set(token, { expiresAt: now + TOKEN_LIFETIME_MS, accountId });
    ctx.count("zoomTokensIssued");
    return json(200, {
      access_token: token,
      token_type: "bearer",
      expires_in: 3599,
      scope: "user:read:admin user:write:admin",
      api_url: req.origin,
    });
  }

  function authenticate(req: SimRequest): SimResponse | null {
    const auth = String(req.headers.authorization ?? "");
    const match = /^Bearer\s+(\S+)$/i.exec(auth);
    const issued = match ? tokens.get(match[1] as string) : undefined;
    if (!issued) return json(401, { code: 124, message: "Invalid access token." });
    if (clock.now() >= issued.expiresAt) return json(401, { code: 124, message: "Access token is expired." });
    return null;
  }

  /** Spends one request of `category`; a 429 in Zoom's shape when the account is over a limit. */
  function spend(
    category: RateLimitCategory,
    ctx: ServiceContext,
  ): { refusal?: SimResponse; headers: Record<string, string> } {
    const spec = limits[category];
    const today = utcDay();
    let counter = daily.get(category);
    if (!counter || counter.day !== today) {
      counter = { day: today, used: 0 };
      daily.set(category, counter);
    }
    if (spec.perDay !== undefined && counter.used >= spec.perDay) {
      const h =
        perSecondForm === "missing"
          ? {}
          : ({
              "X-RateLimit-Category": category,
              "X-RateLimit-Limit": String(spec.perDay),
              "X-RateLimit-Remaining": "0",
            } as Record<string, string>);
      // Zoom sometimes leaves out the type and the date (devforum 18928); the message still says "daily".
      if (dailyForm === "typed") {
        if (perSecondForm !== "missing") h["X-RateLimit-Type"] = "Daily-limit";
        h["Retry-After"] = zoomDate(nextUtcMidnight());
      }
      return {
        headers: h,
        refusal: {
          ...json(
            429,
            {
              code: 429,
              message: `You have exceeded the daily rate limit (${spec.perDay}) of ${category} API requests permitted for this account. You may resume these requests at GMT 00:00:00.`,
            },
            h,
          ),
          throttled: true,
        },
      };
    }
    if (spec.perSecond !== undefined) {
      const bucket = ctx.bucket(`zoom:${accountId}:${category}:${limitsVersion}`, {
        burst: Math.max(1, Math.floor(spec.perSecond)),
        perSecond: spec.perSecond,
      });
      const taken = bucket.take();
      if (!taken.ok) return { headers: {}, refusal: perSecondRefusal(category, taken.retryAfterMs) };
    }
    counter.used++;
    return { headers: answerHeaders(category, counter.used) };
  }

  /** The rate-limit headers of an answer that went through, in the account's header form. */
  function answerHeaders(category: RateLimitCategory, usedToday: number): Record<string, string> {
    if (perSecondForm === "missing") return {};
    const headers: Record<string, string> = { "X-RateLimit-Category": category };
    const perDay = limits[category].perDay;
    const quota = perSecondForm === "daily-quota-in-limit" ? dailyQuota(category) : perDay;
    if (quota !== undefined) {
      headers["X-RateLimit-Limit"] = String(quota);
      headers["X-RateLimit-Remaining"] = String(Math.max(0, quota - usedToday));
    }
    return headers;
  }

  function perSecondRefusal(category: RateLimitCategory, retryAfterMs: number): SimResponse {
    const spec = limits[category];
    let form: RetryAfterForm;
    if (forcedForms && forcedForms.length > 0)
      form = forcedForms[formTurn++ % forcedForms.length] as RetryAfterForm;
    else {
      const r = rng.next();
      form = r < 0.5 ? "seconds" : r < 0.75 ? "date" : "missing";
    }
    const headers: Record<string, string> = {};
    if (perSecondForm === "QPS" || perSecondForm === "Per-second-limit") {
      headers["X-RateLimit-Category"] = category;
      headers["X-RateLimit-Type"] = perSecondForm;
      headers["X-RateLimit-Limit"] = String(spec.perSecond);
      headers["X-RateLimit-Remaining"] = "0";
    } else if (perSecondForm === "daily-quota-in-limit") {
      const used = daily.get(category)?.used ?? 0;
      headers["X-RateLimit-Category"] = category;
      headers["X-RateLimit-Limit"] = String(dailyQuota(category));
      headers["X-RateLimit-Remaining"] = String(Math.max(0, dailyQuota(category) - used));
    }
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    if (form === "seconds") headers["Retry-After"] = String(seconds);
    if (form === "date") headers["Retry-After"] = zoomDate(clock.date().getTime() + seconds * 1000);
    return {
      ...json(
        429,
        {
          code: 429,
          message: "You have reached the maximum per-second rate limit for this API. Try again later.",
        },
        headers,
      ),
      throttled: true,
    };
  }

  function listUsers(req: SimRequest): SimResponse {
    const q = req.url.searchParams;
    const status = q.get("status") ?? "active";
    if (!["active", "inactive", "pending"].includes(status)) {
      return json(400, { code: 300, message: "Invalid field: status." });
    }
    const rawSize = q.get("page_size");
    let pageSize = 30;
    if (rawSize !== null) {
      const n = Number(rawSize);
      if (!Number.isInteger(n) || n < 1)
        return json(400, { code: 300, message: "Invalid field: page_size." });
      pageSize = Math.min(n, 300);
    }
    let offset = 0;
    const tokenParam = q.get("next_page_token");
    if (tokenParam) {
      const cursor = cursors.get(tokenParam);
      if (!cursor || clock.now() - cursor.issuedAt > PAGE_TOKEN_LIFETIME_MS || cursor.status !== status) {
        return json(400, { code: 300, message: "The next page token is invalid or expired." });
      }
      offset = cursor.offset;
    }
    const roleId = q.get("role_id");
    const matching = users.filter((u) => u.status === status && (roleId === null || u.role_id === roleId));
    const page = matching.slice(offset, offset + pageSize).map((u) => {
      const copy: Partial<ZoomUserRecord> = { ...u };
      if (u.status === "pending") delete copy.id;
      return copy;
    });
    let next = "";
    if (offset + pageSize < matching.length) {
      next = randomChars(rng, 35);
      cursors.set(next, { offset: offset + pageSize, status, pageSize, issuedAt: clock.now() });
    }
    return json(200, {
      next_page_token: next,
      page_count: Math.ceil(matching.length / pageSize),
      page_number: Math.floor(offset / pageSize) + 1,
      page_size: pageSize,
      total_records: matching.length,
      users: page,
    });
  }

  function getUser(userId: string): SimResponse {
    const user = findUser(userId);
    if (!user) return json(404, { code: 1001, message: `User does not exist: ${userId}.` });
    return json(200, { ...user, account_id: accountId });
  }

  function updateUser(req: SimRequest, userId: string, ctx: ServiceContext): SimResponse {
    const user = findUser(userId);
    if (!user) return json(404, { code: 1001, message: `User does not exist: ${userId}.` });
    let body: Record<string, unknown>;
    try {
      const parsed = JSON.parse(req.body.toString("utf8") || "{}") as unknown;
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
        throw new TypeError("not an object");
      body = parsed as Record<string, unknown>;
    } catch {
      return json(400, { code: 300, message: "Request Body should be a valid JSON object." });
    }
    if (body.type !== undefined) {
      // The original script sent the type as a string ("1"); Zoom accepted it.
      const type = typeof body.type === "string" && /^\d+$/.test(body.type) ? Number(body.type) : body.type;
      if (![1, 2, 4, 99].includes(type as number)) {
        return json(400, { code: 300, message: "Invalid field: type." });
      }
      if (type === 99 && user.type !== 99) {
        return json(400, { code: 1108, message: `User type permission check failed: ${user.id}` });
      }
      if (type === 2 && user.type !== 2 && seats !== undefined) {
        const licensed = users.filter((u) => u.type === 2).length;
        if (licensed >= seats)
          return json(400, { code: 200, message: `You can add max ${seats} paid users.` });
      }
      if (user.type !== type) ctx.count("zoomTypeChanges");
      user.type = type as ZoomUserType;
    }
    for (const field of ["first_name", "last_name", "dept", "timezone", "language"] as const) {
      if (typeof body[field] === "string") user[field] = body[field] as string;
    }
    return { status: 204 };
  }

  const USER_PATH = /^\/v2\/users\/([^/]+)$/;

  const service: ZoomSimService = {
    name: "zoom",
    classify(req) {
      const path = req.url.pathname;
      if (path === "/oauth/token") return { operation: "Token", principal: accountId, faultExempt: true };
      if (path === "/v2/users") {
        return req.method === "GET"
          ? { operation: "ListUsers", principal: accountId }
          : { operation: "UsersUnsupported" };
      }
      const m = USER_PATH.exec(path);
      if (m) {
        if (req.method === "PATCH") return { operation: "UpdateUser", principal: accountId };
        if (req.method === "GET") return { operation: "GetUser", principal: accountId };
        return { operation: "UsersUnsupported" };
      }
      if (path.startsWith("/v2/")) return { operation: "Unsupported" };
      return null;
    },
    handle(req, info, ctx) {
      if (info.operation === "Token") return issueToken(req, ctx);
      if (info.operation === "Unsupported" || info.operation === "UsersUnsupported") {
        return json(404, { code: 404, message: "Not Found" });
      }
      const denied = authenticate(req);
      if (denied) return denied;
      const category: RateLimitCategory = info.operation === "ListUsers" ? "Medium" : "Light";
      const { refusal, headers } = spend(category, ctx);
      if (refusal) return refusal;
      let answer: SimResponse;
      if (info.operation === "ListUsers") answer = listUsers(req);
      else {
        const userId = decodeURIComponent(USER_PATH.exec(req.url.pathname)?.[1] ?? "");
        answer = info.operation === "GetUser" ? getUser(userId) : updateUser(req, userId, ctx);
      }
      return { ...answer, headers: { ...answer.headers, ...headers } };
    },
    faultResponse(kind, _req, info) {
      if (kind === "throttle") {
        return perSecondRefusal(info.operation === "ListUsers" ? "Medium" : "Light", 1000);
      }
      return json(500, { code: 500, message: "Internal Error. Please try again later." });
    },
    environment(origins) {
      return {
        ZOOM_API_URL: `${origins.http}/v2`,
        ZOOM_OAUTH_URL: `${origins.http}/oauth/token`,
        ZOOM_ACCOUNT_ID: accountId,
        ZOOM_CLIENT_ID: clientId,
        ZOOM_CLIENT_SECRET: clientSecret,
      };
    },
    users: () => users,
    deleteUser(idOrEmail) {
      const user = findUser(idOrEmail);
      if (!user) return false;
      users = users.filter((u) => u !== user);
      index.delete(`id:${user.id}`);
      index.delete(`email:${user.email.toLowerCase()}`);
      return true;
    },
    expireTokens() {
      for (const t of tokens.values()) t.expiresAt = Math.min(t.expiresAt, clock.now());
    },
    expirePageTokens() {
      cursors.clear();
    },
    setRetryAfterForms(forms) {
      forcedForms = forms;
      formTurn = 0;
    },
    setRateLimits(category, next) {
      limits[category] = { ...next };
      limitsVersion++;
      daily.delete(category);
    },
    setRateLimitHeaders(forms) {
      if (forms.perSecond) perSecondForm = forms.perSecond;
      if (forms.daily) dailyForm = forms.daily;
    },
  };
  return service;
}
