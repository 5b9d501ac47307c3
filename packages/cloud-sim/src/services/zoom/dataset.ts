import type { Rng } from "../../rng.js";
import type { Scale } from "../../scale.js";
import type { DatasetProblem } from "../definition.js";

/** Zoom user types: 1 Basic, 2 Licensed, 4 Unassigned without Meetings Basic, 99 None (ssoCreate only). */
export type ZoomUserType = 1 | 2 | 4 | 99;
export type ZoomUserStatus = "active" | "inactive" | "pending";
export type ZoomPlan = "free" | "pro" | "business";

/** A user as `GET /v2/users` returns it (pending users are listed without `id`). */
export interface ZoomUserRecord {
  id: string;
  email: string;
  first_name?: string;
  last_name?: string;
  display_name?: string;
  type: ZoomUserType;
  status: ZoomUserStatus;
  pmi?: number;
  timezone?: string;
  verified?: 0 | 1;
  dept?: string;
  role_id?: string;
  language?: string;
  phone_number?: string;
  employee_unique_id?: string;
  last_client_version?: string;
  created_at: string;
  user_created_at?: string;
  /** Absent for users who never signed in. */
  last_login_time?: string;
}

export interface ZoomCategoryLimits {
  /** Requests per second (a bucket of this size refilled at this rate). */
  perSecond?: number;
  /** Requests per UTC day; absent = no daily cap for this category on this plan. */
  perDay?: number;
}

/**
 * How the account's 429s and answers carry Zoom's rate-limit headers; real accounts differ
 * (devforum 18928, zoom_rb#399, ZoomNet#151):
 * - `QPS`, `Per-second-limit`: a per-second 429 has `X-RateLimit-Type` with that value and the
 *   per-second limit in `X-RateLimit-Limit`;
 * - `daily-quota-in-limit`: a per-second 429 has no `X-RateLimit-Type`, and `X-RateLimit-Limit`
 *   holds the category's daily quota (its `perDay`, or the Free plan's 6,000 Light / 2,000 Medium
 *   when the plan has none), on every answer;
 * - `missing`: no `X-RateLimit-*` header at all.
 */
export type ZoomPerSecondHeaderForm = "QPS" | "Per-second-limit" | "daily-quota-in-limit" | "missing";
/** A daily-limit 429 with `X-RateLimit-Type: Daily-limit` and a `Retry-After` date, or without both. */
export type ZoomDailyHeaderForm = "typed" | "untyped";

/** The `zoom` section of a dataset (SPEC section 7). */
export interface ZoomDataset {
  /** The account the Server-to-Server OAuth app belongs to (default `sim-account`). */
  accountId?: string;
  /** The app's client credentials (simulator values; defaults below). */
  clientId?: string;
  clientSecret?: string;
  /** The account plan, which sets the rate limits (default `business`). */
  plan?: ZoomPlan;
  /** Per-category overrides of the plan's limits. */
  rateLimits?: { light?: ZoomCategoryLimits; medium?: ZoomCategoryLimits };
  /** Header forms of the account's rate-limit answers (default `QPS` and `typed`). */
  rateLimitHeaders?: { perSecond?: ZoomPerSecondHeaderForm; daily?: ZoomDailyHeaderForm };
  /** Licensed seats the account owns (default: unlimited). Upgrading past it is refused with 400. */
  licenses?: number;
  /**
   * The time the dataset's dates were generated against (generated datasets only): a run that
   * measures inactivity "as of" this instant gets the dataset's intended ground truth.
   */
  asOf?: string;
  users: ZoomUserRecord[];
}

export const DEFAULT_ACCOUNT_ID = "sim-account";
export const DEFAULT_CLIENT_ID = "simZoomClientId";
export const DEFAULT_CLIENT_SECRET = "sim-zoom-client-secret-not-real";

/** Zoom's documented limits per plan for the two categories the users API uses. */
export const PLAN_LIMITS: Record<ZoomPlan, { light: ZoomCategoryLimits; medium: ZoomCategoryLimits }> = {
  free: { light: { perSecond: 4, perDay: 6000 }, medium: { perSecond: 2, perDay: 2000 } },
  pro: { light: { perSecond: 30 }, medium: { perSecond: 20 } },
  business: { light: { perSecond: 80 }, medium: { perSecond: 60 } },
};

/** The daily quota a `daily-quota-in-limit` account reports when its plan has none: the Free plan's. */
export const REPORTED_DAILY_QUOTA = { light: 6000, medium: 2000 } as const;

const ISO = "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$";
const limitsSchema = {
  type: "object",
  properties: {
    perSecond: { type: "number", exclusiveMinimum: 0 },
    perDay: { type: "integer", minimum: 1 },
  },
  additionalProperties: false,
};

export const zoomSchema: Record<string, unknown> = {
  type: "object",
  required: ["users"],
  properties: {
    accountId: { type: "string", minLength: 1 },
    clientId: { type: "string", minLength: 1 },
    clientSecret: { type: "string", minLength: 1 },
    plan: { enum: ["free", "pro", "business"] },
    rateLimits: {
      type: "object",
      properties: { light: limitsSchema, medium: limitsSchema },
      additionalProperties: false,
    },
    rateLimitHeaders: {
      type: "object",
      properties: {
        perSecond: { enum: ["QPS", "Per-second-limit", "daily-quota-in-limit", "missing"] },
        daily: { enum: ["typed", "untyped"] },
      },
      additionalProperties: false,
    },
    licenses: { type: "integer", minimum: 0 },
    asOf: { type: "string", pattern: ISO },
    users: {
      type: "array",
      items: {
        type: "object",
        required: ["id", "email", "type", "status", "created_at"],
        properties: {
          id: { type: "string", minLength: 1 },
          email: { type: "string", minLength: 3 },
          first_name: { type: "string" },
          last_name: { type: "string" },
          display_name: { type: "string" },
          type: { enum: [1, 2, 4, 99] },
          status: { enum: ["active", "inactive", "pending"] },
          pmi: { type: "integer" },
          timezone: { type: "string" },
          verified: { enum: [0, 1] },
          dept: { type: "string" },
          role_id: { type: "string" },
          language: { type: "string" },
          phone_number: { type: "string" },
          employee_unique_id: { type: "string" },
          last_client_version: { type: "string" },
          created_at: { type: "string", pattern: ISO },
          user_created_at: { type: "string", pattern: ISO },
          last_login_time: { type: "string", pattern: ISO },
        },
        additionalProperties: false,
      },
    },
  },
  additionalProperties: false,
};

/** Checks the schema cannot express: unique ids and emails, seats, login after creation. */
export function checkZoom(section: ZoomDataset): DatasetProblem[] {
  const problems: DatasetProblem[] = [];
  const ids = new Map<string, number>();
  const emails = new Map<string, number>();
  section.users.forEach((user, i) => {
    const seenId = ids.get(user.id);
    if (seenId !== undefined) {
      problems.push({ path: `$.zoom.users[${i}].id`, message: `duplicates users[${seenId}].id` });
    } else ids.set(user.id, i);
    const key = user.email.toLowerCase();
    const seenEmail = emails.get(key);
    if (seenEmail !== undefined) {
      problems.push({ path: `$.zoom.users[${i}].email`, message: `duplicates users[${seenEmail}].email` });
    } else emails.set(key, i);
    if (user.last_login_time && Date.parse(user.last_login_time) < Date.parse(user.created_at)) {
      problems.push({ path: `$.zoom.users[${i}].last_login_time`, message: "is before created_at" });
    }
  });
  if (section.licenses !== undefined) {
    const licensed = section.users.filter((u) => u.type === 2).length;
    if (licensed > section.licenses) {
      problems.push({
        path: "$.zoom.licenses",
        message: `is ${section.licenses} but ${licensed} users are Licensed (type 2)`,
      });
    }
  }
  return problems;
}

/** The instant generated datasets are built around (fixed, so a seed always gives the same dataset). */
export const GENERATED_AS_OF = "2026-11-01T00:00:00Z";
const DAY = 86_400_000;

const FIRST = [
  "Ana",
  "Ben",
  "Chen",
  "Dara",
  "Eli",
  "Fatima",
  "Goran",
  "Hana",
  "Ivan",
  "Jill",
  "Kofi",
  "Lena",
  "Mihai",
  "Noor",
  "Omar",
  "Priya",
  "Quinn",
  "Rosa",
  "Sven",
  "Tara",
  "Uma",
  "Viktor",
  "Wen",
  "Yusuf",
  "Zoe",
];
const LAST = [
  "Albert",
  "Brown",
  "Chill",
  "Dumitru",
  "Evans",
  "Fischer",
  "Garcia",
  "Horvat",
  "Ito",
  "Jones",
  "Kim",
  "Lopez",
  "Meyer",
  "Novak",
  "Okafor",
  "Popescu",
  "Rossi",
  "Silva",
  "Tanaka",
  "Weber",
];
const DEPTS = ["Sales", "Engineering", "Support", "Finance", "HR", "Marketing", "Operations"];
const ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function zoomId(rng: Rng): string {
  let id = "";
  for (let i = 0; i < 22; i++) id += ID_CHARS[Math.floor(rng.next() * ID_CHARS.length)];
  return id;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** How many users of each kind a scale holds. */
interface Mix {
  /** Active Licensed users whose last login is old (the ones to downgrade). */
  staleLicensed: number;
  recentLicensed: number;
  /** Active Licensed users who never signed in: created long ago / created recently. */
  neverOld: number;
  neverNew: number;
  basic: number;
  unassigned: number;
  none: number;
  inactive: number;
  pending: number;
}

const MIXES: Record<Scale, Mix> = {
  // 300 users: every case a test or demo needs, over 3 pages of 100.
  small: {
    staleLicensed: 24,
    recentLicensed: 150,
    neverOld: 5,
    neverNew: 3,
    basic: 75,
    unassigned: 10,
    none: 5,
    inactive: 18,
    pending: 10,
  },
  // zoom-recover benchmark: 9,000 users, 8,700 of them active (29 pages of 300), 600 to downgrade.
  large: {
    staleLicensed: 600,
    recentLicensed: 5250,
    neverOld: 100,
    neverNew: 50,
    basic: 2500,
    unassigned: 150,
    none: 50,
    inactive: 180,
    pending: 120,
  },
};

/**
 * A seeded `zoom` section. Dates are relative to {@link GENERATED_AS_OF}: stale logins are
 * 120 to 900 days old, recent ones at most 80 days old, so "inactive for 3 months" (or 90 days)
 * selects exactly the `staleLicensed` users. Users are shuffled, so they spread over the pages.
 */
export function generateZoom(rng: Rng, scale: Scale): ZoomDataset {
  const mix = MIXES[scale];
  const asOf = Date.parse(GENERATED_AS_OF);
  const users: ZoomUserRecord[] = [];
  const ids = new Set<string>();
  let n = 0;
  const make = (
    type: ZoomUserType,
    status: ZoomUserStatus,
    login: "stale" | "recent" | "never" | "any",
    created: "old" | "new" | "any",
  ): void => {
    n++;
    let id = zoomId(rng);
    while (ids.has(id)) id = zoomId(rng);
    ids.add(id);
    const first = rng.pick(FIRST);
    const last = rng.pick(LAST);
    const createdAt =
      created === "new" ? asOf - rng.int(5, 60) * DAY : asOf - rng.int(200, 2000) * DAY - rng.int(0, DAY - 1);
    let lastLogin: number | undefined;
    const kind = login === "any" ? rng.pick(["stale", "recent", "never"] as const) : login;
    if (kind === "stale") lastLogin = Math.max(createdAt + DAY, asOf - rng.int(120, 900) * DAY);
    else if (kind === "recent") lastLogin = asOf - rng.int(0, 80) * DAY - rng.int(0, DAY - 1);
    if (lastLogin !== undefined && lastLogin < createdAt) lastLogin = createdAt + 3_600_000;
    const user: ZoomUserRecord = {
      id,
      email: `${first}.${last}.${n}@example.com`.toLowerCase(),
      first_name: first,
      last_name: last,
      display_name: `${first} ${last}`,
      type,
      status,
      pmi: 1_000_000_000 + rng.int(0, 8_999_999_999),
      timezone: rng.pick(["Europe/Bucharest", "America/New_York", "Asia/Tokyo", "Europe/London"]),
      verified: status === "pending" ? 0 : 1,
      dept: rng.pick(DEPTS),
      role_id: "2",
      language: "en-US",
      created_at: iso(createdAt),
      user_created_at: iso(createdAt),
    };
    if (lastLogin !== undefined && status !== "pending") {
      user.last_login_time = iso(lastLogin);
      user.last_client_version = "6.2.5.54321(win)";
    }
    users.push(user);
  };
  for (let i = 0; i < mix.staleLicensed; i++) make(2, "active", "stale", "old");
  for (let i = 0; i < mix.recentLicensed; i++) make(2, "active", "recent", "any");
  for (let i = 0; i < mix.neverOld; i++) make(2, "active", "never", "old");
  for (let i = 0; i < mix.neverNew; i++) make(2, "active", "never", "new");
  for (let i = 0; i < mix.basic; i++) make(1, "active", "any", "any");
  for (let i = 0; i < mix.unassigned; i++) make(4, "active", "any", "any");
  for (let i = 0; i < mix.none; i++) make(99, "active", "any", "any");
  for (let i = 0; i < mix.inactive; i++) make(rng.pick([1, 2] as const), "inactive", "stale", "old");
  for (let i = 0; i < mix.pending; i++) make(rng.pick([1, 2] as const), "pending", "never", "any");
  for (let i = users.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [users[i], users[j]] = [users[j] as ZoomUserRecord, users[i] as ZoomUserRecord];
  }
  const licensed = users.filter((u) => u.type === 2).length;
  return {
    accountId: DEFAULT_ACCOUNT_ID,
    clientId: DEFAULT_CLIENT_ID,
    clientSecret: DEFAULT_CLIENT_SECRET,
    plan: "business",
    licenses: licensed + 20,
    asOf: GENERATED_AS_OF,
    users,
  };
}
