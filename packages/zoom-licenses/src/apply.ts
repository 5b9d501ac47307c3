import { randomUUID } from "node:crypto";
import { AbortedError, CloudAdminError, InvalidInputError, UsageError } from "@cloudadmin/errors";
import { type JobOptions, mapConcurrent, realTimer } from "@cloudadmin/paging";
import type { ZoomClient } from "./client.js";
import {
  type Journal,
  type JournalEntry,
  type JournalUserState,
  journaledChange,
  openJournal,
} from "./journal.js";
import type { LicensePeriod } from "./plan.js";
import { type LicenseRecord, USER_TYPE, type ZoomProgress } from "./types.js";

/**
 * What apply and restore share. `signal`, `concurrency` and `onError` act here; `timeoutMs`,
 * `maxRetries` and `random` act on each request, so give them to `createZoomClient` (same names).
 */
export interface LicenseChangeOptions extends JobOptions {
  client: ZoomClient;
  /** Journal file (JSON lines): read first to resume, appended to before and after each change. */
  journal: string;
  onProgress?: (progress: ZoomProgress) => void;
  /** Something the caller should tell its user (a journal repaired, ...). */
  onWarning?: (message: string) => void;
}

export interface ApplyLicenseRecoveryOptions extends LicenseChangeOptions {
  /**
   * The period the plan was made for. Before the first change every planned user is checked
   * against it, independently of the plan's own arithmetic: one whose last login (or creation,
   * for users who never signed in) is inside the period refuses the whole apply.
   */
  period: LicensePeriod;
  /** When the plan holds more downgrades than this, nothing is applied (ERR_LIMIT_EXCEEDED). */
  maxChanges?: number;
  /**
   * Asked once with the downgrades, after the checks and before the first change; false changes
   * nothing (ERR_USAGE). Not asked when the plan downgrades nobody.
   */
  confirm?: (changes: readonly LicenseRecord[]) => Promise<boolean>;
}

export type RestoreLicensesOptions = LicenseChangeOptions & {
  /** Asked once with the users to restore before the first change; false changes nothing. */
  confirm?: (users: readonly JournalUserState[]) => Promise<boolean>;
};

const DAY_MS = 86_400_000;

function progressCounter(phase: ZoomProgress["phase"], onProgress?: (p: ZoomProgress) => void) {
  const p: ZoomProgress = { phase, listed: 0, planned: 0, applied: 0, failed: 0, skipped: 0 };
  return {
    bump(field: "listed" | "planned" | "applied" | "failed" | "skipped") {
      p[field]++;
      onProgress?.({ ...p });
    },
  };
}

/** The error reported through `onError`: Zoom's, with the user's email as scope and the step as phase. */
function scoped(error: CloudAdminError, email: string, phase: "downgrade" | "restore"): CloudAdminError {
  return new CloudAdminError(error.code, error.message, {
    cause: error,
    scope: email,
    phase,
    ...(error.status === undefined ? {} : { status: error.status }),
    ...(error.remoteCode === undefined ? {} : { remoteCode: error.remoteCode }),
  });
}

/**
 * Runs journaled type changes one record at a time: writes the journal around each change, stops
 * changing users once Zoom's daily limit is spent (the rest `skipped`, the first such error
 * reported), reports other failures through `onError` and goes on. Apply and restore both use it.
 */
function changeRunner(
  journal: Journal,
  options: LicenseChangeOptions,
  progress: ReturnType<typeof progressCounter>,
  op: "downgrade" | "restore",
) {
  let dailyLimitSpent = false;
  return async (
    base: LicenseRecord,
    entry: Omit<JournalEntry, "time" | "runId" | "phase">,
  ): Promise<LicenseRecord> => {
    if (dailyLimitSpent) {
      progress.bump("skipped");
      return {
        ...base,
        result: "skipped",
        reason: `${base.reason}; not attempted: Zoom's daily limit is spent`,
      };
    }
    // Not aborted mid-request: a change once sent is seen through and journaled.
    const done = await journaledChange(journal, entry, () =>
      options.client.updateUserType(entry.userId, entry.toType),
    );
    if (done.outcome === "applied") {
      progress.bump("applied");
      return { ...base, type: entry.toType, result: "applied" };
    }
    const error = scoped(done.error, base.email, op);
    if (done.outcome === "not-applied") {
      if (!dailyLimitSpent) options.onError?.(error);
      dailyLimitSpent = true;
      progress.bump("skipped");
      return { ...base, result: "skipped", reason: `${base.reason}; not attempted: ${error.message}` };
    }
    options.onError?.(error);
    progress.bump("failed");
    return { ...base, result: "failed", reason: `${base.reason}; failed: ${error.message}` };
  };
}

/**
 * Runs `fn` over the items with bounded concurrency; when the run ends, however it ends, waits for
 * the changes already sent and closes the journal, then reports an interruption.
 */
async function* runJournaled<T>(
  items: readonly T[],
  fn: (item: T) => Promise<LicenseRecord>,
  journal: Journal,
  options: Pick<JobOptions, "concurrency" | "signal">,
): AsyncGenerator<LicenseRecord> {
  const pending = new Set<Promise<LicenseRecord>>();
  const tracked = (item: T): Promise<LicenseRecord> => {
    const p = fn(item);
    pending.add(p);
    const forget = () => pending.delete(p);
    p.then(forget, forget);
    return p;
  };
  try {
    yield* mapConcurrent(untilAborted(items, options.signal), tracked, {
      concurrency: options.concurrency ?? 16,
    });
  } finally {
    await Promise.allSettled([...pending]);
    await journal.close();
  }
  if (options.signal?.aborted)
    throw new AbortedError("interrupted: the journal records every change made so far");
}

function* untilAborted<T>(items: readonly T[], signal?: AbortSignal): Generator<T> {
  for (const item of items) {
    if (signal?.aborted) return;
    yield item;
  }
}

/**
 * The checks made on the whole plan before the first change: the change limit, and that no
 * planned user was active inside the period. The period's shortest possible length is used
 * (28 days a month), so this holds whatever the plan's calendar arithmetic did.
 */
function checkPlan(changes: readonly LicenseRecord[], options: ApplyLicenseRecoveryOptions): void {
  if (options.maxChanges !== undefined && changes.length > options.maxChanges) {
    throw new InvalidInputError(
      `the plan downgrades ${changes.length} users, more than maxChanges ${options.maxChanges}; nothing was changed`,
      { code: "ERR_LIMIT_EXCEEDED" },
    );
  }
  const { now, months, days } = options.period;
  const nowMs = typeof now === "number" ? now : now.getTime();
  const shortestDays = days ?? (months ?? 3) * 28;
  const latest = nowMs - shortestDays * DAY_MS;
  const inside = changes.filter((d) => {
    const since = Date.parse(d.lastLoginTime ?? d.createdAt ?? "");
    return !(since < latest);
  });
  if (inside.length > 0) {
    const first = inside[0] as LicenseRecord;
    throw new InvalidInputError(
      `the plan downgrades ${inside.length} users active inside the period (such as ${first.email}, last login ${first.lastLoginTime ?? "never"}); nothing was changed`,
      { code: "ERR_INVALID_INPUT" },
    );
  }
}

/**
 * Applies a plan: downgrades each `downgrade` decision to Basic (`PATCH {"type": 1}`), writing the
 * journal line before and after every change. The whole plan is read first and checked (change
 * limit, activity inside the period, confirmation); nothing is changed unless all pass. A user the
 * journal already shows downgraded, or restored since, is not changed again (result `skipped`), so
 * a rerun with the same journal resumes. On Zoom's daily limit it stops changing users cleanly (the rest
 * `skipped`, one ERR_QUOTA_EXHAUSTED error reported). `keep` decisions come back `skipped`.
 *
 * @example
 * ```ts
 * const period = { now: new Date(), months: 3 };
 * const plan = planLicenseRecovery(client.listUsers(), period);
 * for await (const r of applyLicenseRecovery(plan, { client, journal: "zoom.jsonl", period })) {
 *   if (r.result === "failed") console.error(r.email, r.reason);
 * }
 * ```
 */
export async function* applyLicenseRecovery(
  plan: AsyncIterable<LicenseRecord> | Iterable<LicenseRecord>,
  options: ApplyLicenseRecoveryOptions,
): AsyncGenerator<LicenseRecord, void, undefined> {
  const all: LicenseRecord[] = [];
  for await (const d of plan) {
    options.signal?.throwIfAborted();
    all.push(d);
  }
  const changes = all.filter((d) => d.action === "downgrade");
  checkPlan(changes, options);
  if (options.confirm && changes.length > 0 && !(await options.confirm(changes))) {
    throw new UsageError("not confirmed; nothing was changed");
  }
  const { journal, state: previous } = await openJournal(options.journal, {
    runId: randomUUID(),
    now: (options.timer ?? realTimer).now,
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
  });
  const progress = progressCounter("apply", options.onProgress);
  const change = changeRunner(journal, options, progress, "downgrade");

  const decide = async (d: LicenseRecord): Promise<LicenseRecord> => {
    progress.bump("listed");
    const before = previous.get(d.userId);
    if (d.action !== "downgrade") {
      // A change sent just before an interruption: the listing now shows it done, so record that.
      if (before?.downgrade === "unknown" && d.type === USER_TYPE.basic) {
        await journal.append({
          op: "downgrade",
          phase: "applied",
          userId: d.userId,
          email: d.email,
          fromType: before.originalType,
          toType: USER_TYPE.basic,
          reason: "confirmed by listing after an interrupted run",
        });
      }
      progress.bump("skipped");
      return { ...d, result: "skipped" };
    }
    progress.bump("planned");
    // Downgraded before, or restored since by an admin's decision: never changed a second time.
    if (before?.downgrade === "applied" || before?.restored) {
      progress.bump("skipped");
      return {
        ...d,
        result: "skipped",
        reason: `${d.reason}; already ${before.restored ? "restored" : "downgraded"} (journal)`,
      };
    }
    return change(d, {
      op: "downgrade",
      userId: d.userId,
      email: d.email,
      displayName: d.displayName,
      fromType: d.type,
      toType: USER_TYPE.basic,
      lastLoginTime: d.lastLoginTime,
      createdAt: d.createdAt,
      reason: d.reason,
    });
  };

  yield* runJournaled(all, decide, journal, options);
}

/** The users a journal would restore: downgraded (or maybe downgraded) and not restored since. */
function restorable(state: Map<string, JournalUserState>): JournalUserState[] {
  return [...state.values()].filter(
    (u) => (u.downgrade === "applied" || u.downgrade === "unknown") && !u.restored,
  );
}

/**
 * Turns every user a journal downgraded back to the type they had (Licensed), appending restore
 * lines to the same journal, so a second restore changes nobody twice. A user whose change was
 * interrupted (intent without outcome) is restored too: setting Licensed on a Licensed user is
 * harmless.
 *
 * @example
 * ```ts
 * for await (const r of restoreLicenses({ client, journal: "zoom.jsonl" })) console.log(r.email, r.result);
 * ```
 */
export async function* restoreLicenses(
  options: RestoreLicensesOptions,
): AsyncGenerator<LicenseRecord, void, undefined> {
  const { journal, entries, state } = await openJournal(options.journal, {
    runId: randomUUID(),
    now: (options.timer ?? realTimer).now,
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
  });
  if (entries.length === 0) {
    throw new InvalidInputError(`journal ${options.journal} is missing or empty: nothing to restore`);
  }
  const users = restorable(state);
  if (options.confirm && users.length > 0 && !(await options.confirm(users))) {
    throw new UsageError("not confirmed; nothing was changed");
  }
  const progress = progressCounter("restore", options.onProgress);
  const change = changeRunner(journal, options, progress, "restore");

  const restore = async (u: JournalUserState): Promise<LicenseRecord> => {
    progress.bump("planned");
    return change(
      {
        userId: u.userId,
        email: u.email,
        displayName: u.displayName,
        type: USER_TYPE.basic,
        lastLoginTime: u.lastLoginTime,
        createdAt: u.createdAt,
        inactiveDays: null,
        action: "restore",
        reason: `downgraded from type ${u.originalType} (journal)`,
        reasonCode: "journal",
        result: "planned",
      },
      {
        op: "restore",
        userId: u.userId,
        email: u.email,
        displayName: u.displayName,
        fromType: USER_TYPE.basic,
        toType: u.originalType,
      },
    );
  };

  yield* runJournaled(users, restore, journal, options);
}
