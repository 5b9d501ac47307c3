import { InvalidInputError } from "@cloudadmin/errors";
import { type LicenseRecord, type ReasonCode, USER_TYPE, type ZoomUser } from "./types.js";

/** The inactivity period: `months` calendar months (1..1200, default 3) or `days` (1..36,500) before `now`. */
export interface LicensePeriod {
  /** The instant inactivity is measured from (a Date or epoch ms). */
  now: Date | number;
  /** Inactive = last login more than this many calendar months ago (1..1200, default 3). */
  months?: number;
  /** Inactive = last login more than this many days ago (1..36,500; instead of `months`). */
  days?: number;
}

export interface PlanLicenseRecoveryOptions extends LicensePeriod {
  /** Downgrade users who never signed in, when created before the same cutoff (default false). */
  includeNeverLoggedIn?: boolean;
  /** Protected users: emails (case-insensitive) or user ids. */
  exclude?: Iterable<string>;
  /** Called once at the end of the listing with the `exclude` entries that matched no user. */
  onUnmatchedExclusions?: (entries: string[]) => void;
}

/** The largest periods accepted: 100 years either way (larger ones overflow JavaScript dates). */
const MAX_MONTHS = 1200;
const MAX_DAYS = 36_500;

const DAY_MS = 86_400_000;
const TYPE_NAMES: Record<number, string> = { 1: "Basic", 2: "Licensed", 4: "Unassigned", 99: "None" };

/**
 * The cutoff instant: `now` minus `days`, or minus `months` calendar months (UTC, clamped to the
 * month's end). Throws InvalidInputError for a period out of range or both `months` and `days`.
 */
export function inactivityCutoff(options: LicensePeriod): number {
  const now = typeof options.now === "number" ? options.now : options.now.getTime();
  if (!Number.isFinite(now))
    throw new InvalidInputError(`now is not a valid instant: ${String(options.now)}`);
  if (options.days !== undefined && options.months !== undefined) {
    throw new InvalidInputError("give months or days, not both");
  }
  if (options.days !== undefined) {
    if (!Number.isInteger(options.days) || options.days < 1 || options.days > MAX_DAYS) {
      throw new InvalidInputError(`days must be a whole number from 1 to ${MAX_DAYS}, not ${options.days}`);
    }
    return now - options.days * DAY_MS;
  }
  const months = options.months ?? 3;
  if (!Number.isInteger(months) || months < 1 || months > MAX_MONTHS) {
    throw new InvalidInputError(`months must be a whole number from 1 to ${MAX_MONTHS}, not ${months}`);
  }
  const d = new Date(now);
  const target = new Date(
    Date.UTC(
      d.getUTCFullYear(),
      d.getUTCMonth() - months,
      1,
      d.getUTCHours(),
      d.getUTCMinutes(),
      d.getUTCSeconds(),
      d.getUTCMilliseconds(),
    ),
  );
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(d.getUTCDate(), lastDay));
  const cutoff = target.getTime();
  if (!(cutoff < now))
    throw new InvalidInputError(`months ${months} gives no valid cutoff before ${d.toISOString()}`);
  return cutoff;
}

function parseDate(value: string | undefined): number | null {
  if (!value) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

function displayNameOf(user: ZoomUser): string {
  if (user.display_name) return user.display_name;
  const full = [user.first_name, user.last_name].filter(Boolean).join(" ").trim();
  return full || user.email;
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * Decides one user: `downgrade` only for an active Licensed user whose last login is older than the
 * cutoff (or, with `includeNeverLoggedIn`, who never signed in and was created before it), and not
 * excluded. Pure: the same user and options always give the same record.
 */
export function decideLicense(
  user: ZoomUser,
  options: PlanLicenseRecoveryOptions & { cutoff?: number; excluded?: ReadonlySet<string> },
): LicenseRecord {
  const now = typeof options.now === "number" ? options.now : options.now.getTime();
  const cutoff = options.cutoff ?? inactivityCutoff(options);
  const excluded = options.excluded ?? normaliseExclusions(options.exclude ?? []);
  const lastLogin = parseDate(user.last_login_time);
  const created = parseDate(user.user_created_at ?? user.created_at);
  const since = lastLogin ?? created;
  const record: LicenseRecord = {
    userId: user.id ?? "",
    email: user.email,
    displayName: displayNameOf(user),
    type: user.type,
    lastLoginTime: user.last_login_time ?? null,
    createdAt: user.created_at ?? user.user_created_at ?? null,
    inactiveDays: since === null ? null : Math.max(0, Math.floor((now - since) / DAY_MS)),
    action: "keep",
    reason: "",
    reasonCode: "not-active",
    result: "planned",
  };
  const keep = (reasonCode: ReasonCode, reason: string): LicenseRecord => ({ ...record, reasonCode, reason });
  const downgrade = (reasonCode: ReasonCode, reason: string): LicenseRecord => ({
    ...record,
    action: "downgrade",
    reasonCode,
    reason,
  });
  const status = user.status ?? "active";
  if (status !== "active") return keep("not-active", `status ${status}: only active users are changed`);
  if (!user.id) return keep("no-user-id", "no user id: only active users are changed");
  if (user.type !== USER_TYPE.licensed) {
    const name = TYPE_NAMES[user.type] ?? `type ${user.type}`;
    return user.type === USER_TYPE.basic
      ? keep("already-basic", "already Basic")
      : keep("not-licensed", `${name}, not Licensed`);
  }
  if (excluded.has(user.email.toLowerCase()) || excluded.has(user.id.toLowerCase()))
    return keep("excluded", "excluded");
  if (lastLogin === null) {
    if (!options.includeNeverLoggedIn)
      return keep("never-logged-in", "never logged in (kept: includeNeverLoggedIn is off)");
    if (created === null) return keep("creation-unknown", "never logged in and creation date unknown");
    if (created >= cutoff)
      return keep("created-within-period", `never logged in, created ${day(created)} (within the period)`);
    return downgrade("never-logged-in", `never logged in, created ${day(created)}`);
  }
  if (lastLogin >= cutoff)
    return keep("active-within-period", `last login ${day(lastLogin)} is within the period`);
  return downgrade("inactive", `inactive: last login ${day(lastLogin)}`);
}

/** Lower-cased emails and ids (blank entries dropped). */
function normaliseExclusions(exclude: Iterable<string>): Set<string> {
  const set = new Set<string>();
  for (const raw of exclude) {
    const value = raw.trim().toLowerCase();
    if (value) set.add(value);
  }
  return set;
}

/**
 * The plan: one decision per listed user, with its reason. Pure selection over the user stream
 * (nothing is changed and nothing is read but `users`).
 *
 * @example
 * ```ts
 * for await (const d of planLicenseRecovery(client.listUsers(), { now: new Date(), months: 3 })) {
 *   if (d.action === "downgrade") console.log(d.email, d.reason);
 * }
 * ```
 */
export async function* planLicenseRecovery(
  users: AsyncIterable<ZoomUser> | Iterable<ZoomUser>,
  options: PlanLicenseRecoveryOptions,
): AsyncGenerator<LicenseRecord, void, undefined> {
  const cutoff = inactivityCutoff(options);
  const excluded = normaliseExclusions(options.exclude ?? []);
  const matched = new Set<string>();
  for await (const user of users) {
    for (const key of [user.email.toLowerCase(), user.id?.toLowerCase()])
      if (key !== undefined && excluded.has(key)) matched.add(key);
    yield decideLicense(user, { ...options, cutoff, excluded });
  }
  const unmatched = [...excluded].filter((e) => !matched.has(e));
  if (unmatched.length > 0) options.onUnmatchedExclusions?.(unmatched);
}
