import { InvalidInputError } from "@cloudadmin/errors";
import { type LicenseRecord, USER_TYPE, type ZoomUser } from "./types.js";

export interface PlanLicenseRecoveryOptions {
  /** The instant inactivity is measured from (a Date or epoch ms). */
  now: Date | number;
  /** Inactive = last login more than this many calendar months ago (default 3). */
  months?: number;
  /** Inactive = last login more than this many days ago (replaces `months`). */
  days?: number;
  /** Downgrade users who never signed in, when created before the same cutoff (default false). */
  includeNeverLoggedIn?: boolean;
  /** Protected users: emails (case-insensitive) or user ids. */
  exclude?: Iterable<string>;
}

const DAY_MS = 86_400_000;
const TYPE_NAMES: Record<number, string> = { 1: "Basic", 2: "Licensed", 4: "Unassigned", 99: "None" };

/** The cutoff instant: `now` minus `days`, or minus `months` calendar months (UTC, clamped to month end). */
export function inactivityCutoff(
  options: Pick<PlanLicenseRecoveryOptions, "now" | "months" | "days">,
): number {
  const now = typeof options.now === "number" ? options.now : options.now.getTime();
  if (options.days !== undefined) {
    if (!(options.days >= 0)) throw new InvalidInputError(`--days must be 0 or more, not ${options.days}`);
    return now - options.days * DAY_MS;
  }
  const months = options.months ?? 3;
  if (!Number.isInteger(months) || months < 0) {
    throw new InvalidInputError(`--months must be a whole number of 0 or more, not ${months}`);
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
  return target.getTime();
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
    result: "planned",
  };
  const keep = (reason: string): LicenseRecord => ({ ...record, reason });
  const status = user.status ?? "active";
  if (status !== "active") return keep(`status ${status}: only active users are changed`);
  if (!user.id) return keep("no user id: only active users are changed");
  if (user.type !== USER_TYPE.licensed) {
    const name = TYPE_NAMES[user.type] ?? `type ${user.type}`;
    return keep(user.type === USER_TYPE.basic ? "already Basic" : `${name}, not Licensed`);
  }
  if (excluded.has(user.email.toLowerCase()) || excluded.has(user.id.toLowerCase())) return keep("excluded");
  if (lastLogin === null) {
    if (!options.includeNeverLoggedIn)
      return keep("never logged in (use --include-never-logged-in to include)");
    if (created === null) return keep("never logged in and creation date unknown");
    if (created >= cutoff) return keep(`never logged in, created ${day(created)} (within the period)`);
    return { ...record, action: "downgrade", reason: `never logged in, created ${day(created)}` };
  }
  if (lastLogin >= cutoff) return keep(`last login ${day(lastLogin)} is within the period`);
  return { ...record, action: "downgrade", reason: `inactive: last login ${day(lastLogin)}` };
}

/** Lower-cased emails and ids. */
export function normaliseExclusions(exclude: Iterable<string>): Set<string> {
  const set = new Set<string>();
  for (const raw of exclude) {
    const value = raw.trim().toLowerCase();
    if (value && !value.startsWith("#")) set.add(value);
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
  for await (const user of users) yield decideLicense(user, { ...options, cutoff, excluded });
}
