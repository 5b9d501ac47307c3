import { randomUUID } from "node:crypto";
import {
  AbortedError,
  type CloudAdminError,
  InvalidInputError,
  ThrottledError,
  toCloudAdminError,
} from "@cloudadmin/errors";
import { mapConcurrent } from "@cloudadmin/paging";
import type { ZoomClient } from "./client.js";
import { Journal, type JournalUserState, journalState, readJournal } from "./journal.js";
import { type LicenseRecord, USER_TYPE, type ZoomProgress } from "./types.js";

export interface ApplyLicenseRecoveryOptions {
  client: ZoomClient;
  /** Journal file (JSON lines), appended to before and after each change; read first to resume. */
  journal: string;
  /** When the plan holds more downgrades than this, nothing is applied (ERR_LIMIT_EXCEEDED). */
  maxChanges?: number;
  /** Changes in flight at once (default 16); the Light pace is what really bounds the rate. */
  concurrency?: number;
  /**
   * Stops starting new changes; changes already sent finish and are journaled, then the
   * iteration throws AbortedError.
   */
  signal?: AbortSignal;
  onProgress?: (progress: ZoomProgress) => void;
  /** A change that failed, or the stop on Zoom's daily limit (per-user errors as data). */
  onError?: (error: CloudAdminError, record: LicenseRecord) => void;
}

function progressCounter(phase: ZoomProgress["phase"], onProgress?: (p: ZoomProgress) => void) {
  const p: ZoomProgress = { phase, listed: 0, planned: 0, applied: 0, failed: 0, skipped: 0 };
  return {
    p,
    bump(field: "listed" | "planned" | "applied" | "failed" | "skipped") {
      p[field]++;
      onProgress?.({ ...p });
    },
  };
}

/**
 * Tracks changes in flight so that a consumer that stops early (an interrupted run) still gets every
 * change sent so far answered and journaled before the journal closes.
 */
function inFlight<T, R>(fn: (item: T) => Promise<R>) {
  const pending = new Set<Promise<R>>();
  return {
    run(item: T): Promise<R> {
      const p = fn(item);
      pending.add(p);
      const forget = () => pending.delete(p);
      p.then(forget, forget);
      return p;
    },
    async settle(): Promise<void> {
      await Promise.allSettled([...pending]);
    },
  };
}

/**
 * Runs `fn` over the items with bounded concurrency; when the run ends, however it ends, waits for
 * the changes already sent and closes the journal, then reports an interruption.
 */
async function* runJournaled<T>(
  source: AsyncIterable<T> | Iterable<T>,
  fn: (item: T) => Promise<LicenseRecord>,
  journal: Journal,
  options: { concurrency?: number; signal?: AbortSignal },
): AsyncGenerator<LicenseRecord> {
  const tracked = inFlight(fn);
  try {
    yield* mapConcurrent(untilAborted(source, options.signal), tracked.run, {
      concurrency: options.concurrency ?? 16,
    });
  } finally {
    await tracked.settle();
    await journal.close();
  }
  if (options.signal?.aborted)
    throw new AbortedError("interrupted: the journal records every change made so far");
}

async function* untilAborted<T>(
  source: AsyncIterable<T> | Iterable<T>,
  signal?: AbortSignal,
): AsyncGenerator<T> {
  for await (const item of source) {
    if (signal?.aborted) return;
    yield item;
  }
}

/**
 * Applies a plan: downgrades each `downgrade` decision to Basic (`PATCH {"type": 1}`), writing the
 * journal line before and after every change. A user the journal already shows downgraded is not
 * changed again (result `skipped`), so a rerun with the same journal resumes. On Zoom's daily limit
 * it stops changing users cleanly (the rest `skipped`, one ERR_QUOTA_EXHAUSTED error reported).
 * `keep` decisions pass through with result `skipped`. Results stream as they settle.
 *
 * @example
 * ```ts
 * const plan = planLicenseRecovery(client.listUsers(), { now: new Date(), months: 3 });
 * for await (const r of applyLicenseRecovery(plan, { client, journal: "zoom.jsonl" })) {
 *   if (r.result === "failed") console.error(r.email, r.reason);
 * }
 * ```
 */
export async function* applyLicenseRecovery(
  plan: AsyncIterable<LicenseRecord> | Iterable<LicenseRecord>,
  options: ApplyLicenseRecoveryOptions,
): AsyncGenerator<LicenseRecord, void, undefined> {
  let source: AsyncIterable<LicenseRecord> | Iterable<LicenseRecord> = plan;
  if (options.maxChanges !== undefined) {
    // The limit is about the whole plan: it must be known before the first change.
    const all: LicenseRecord[] = [];
    for await (const d of plan) all.push(d);
    const changes = all.filter((d) => d.action === "downgrade").length;
    if (changes > options.maxChanges) {
      throw new InvalidInputError(
        `the plan downgrades ${changes} users, more than --max-changes ${options.maxChanges}; nothing was changed`,
        { code: "ERR_LIMIT_EXCEEDED" },
      );
    }
    source = all;
  }
  const previous = journalState(await readJournal(options.journal));
  const journal = await Journal.open(options.journal, randomUUID());
  const progress = progressCounter("apply", options.onProgress);
  let dailyLimit: ThrottledError | undefined;

  const change = async (d: LicenseRecord): Promise<LicenseRecord> => {
    progress.bump("listed");
    if (d.action !== "downgrade") {
      const before = previous.get(d.userId);
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
    if (previous.get(d.userId)?.downgrade === "applied") {
      progress.bump("skipped");
      return { ...d, result: "skipped", reason: `${d.reason}; already downgraded (journal)` };
    }
    if (dailyLimit) {
      progress.bump("skipped");
      return { ...d, result: "skipped", reason: `${d.reason}; not attempted: Zoom's daily limit is spent` };
    }
    const entry = {
      op: "downgrade" as const,
      userId: d.userId,
      email: d.email,
      displayName: d.displayName,
      fromType: d.type,
      toType: USER_TYPE.basic,
      lastLoginTime: d.lastLoginTime,
      createdAt: d.createdAt,
      reason: d.reason,
    };
    await journal.append({ ...entry, phase: "intent" });
    try {
      // Not aborted mid-request: a change once sent is seen through and journaled.
      await options.client.updateUserType(d.userId, USER_TYPE.basic);
      await journal.append({ ...entry, phase: "applied" });
      progress.bump("applied");
      return { ...d, type: USER_TYPE.basic, result: "applied" };
    } catch (error) {
      const e = toCloudAdminError(error, "ERR_REMOTE");
      if (e instanceof ThrottledError && e.code === "ERR_QUOTA_EXHAUSTED") {
        await journal.append({ ...entry, phase: "not-applied", code: e.code, message: e.message });
        const first = dailyLimit === undefined;
        dailyLimit ??= e;
        const record: LicenseRecord = {
          ...d,
          result: "skipped",
          reason: `${d.reason}; not attempted: ${e.message}`,
        };
        if (first) options.onError?.(e, record);
        progress.bump("skipped");
        return record;
      }
      await journal.append({ ...entry, phase: "failed", code: e.remoteCode ?? e.code, message: e.message });
      const record: LicenseRecord = { ...d, result: "failed", reason: `${d.reason}; failed: ${e.message}` };
      options.onError?.(e, record);
      progress.bump("failed");
      return record;
    }
  };

  yield* runJournaled(source, change, journal, options);
}

export interface RestoreLicensesOptions {
  client: ZoomClient;
  /** The journal of an earlier apply; restore lines are appended to it. */
  journal: string;
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (progress: ZoomProgress) => void;
  onError?: (error: CloudAdminError, record: LicenseRecord) => void;
}

/** The users a journal would restore: downgraded (or maybe downgraded) and not restored since. */
export async function listRestorable(journalPath: string): Promise<JournalUserState[]> {
  const entries = await readJournal(journalPath);
  if (entries.length === 0) {
    throw new InvalidInputError(`journal ${journalPath} is missing or empty: nothing to restore`);
  }
  return [...journalState(entries).values()].filter(
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
  const users = await listRestorable(options.journal);
  const journal = await Journal.open(options.journal, randomUUID());
  const progress = progressCounter("restore", options.onProgress);
  let dailyLimit: ThrottledError | undefined;

  const restore = async (u: JournalUserState): Promise<LicenseRecord> => {
    progress.bump("planned");
    const base: LicenseRecord = {
      userId: u.userId,
      email: u.email,
      displayName: u.displayName,
      type: USER_TYPE.basic,
      lastLoginTime: u.lastLoginTime,
      createdAt: u.createdAt,
      inactiveDays: null,
      action: "restore",
      reason: `downgraded from type ${u.originalType} (journal)`,
      result: "planned",
    };
    if (dailyLimit) {
      progress.bump("skipped");
      return {
        ...base,
        result: "skipped",
        reason: `${base.reason}; not attempted: Zoom's daily limit is spent`,
      };
    }
    const entry = {
      op: "restore" as const,
      userId: u.userId,
      email: u.email,
      displayName: u.displayName,
      fromType: USER_TYPE.basic,
      toType: u.originalType,
    };
    await journal.append({ ...entry, phase: "intent" });
    try {
      await options.client.updateUserType(u.userId, u.originalType);
      await journal.append({ ...entry, phase: "applied" });
      progress.bump("applied");
      return { ...base, type: u.originalType, result: "applied" };
    } catch (error) {
      const e = toCloudAdminError(error, "ERR_REMOTE");
      const daily = e instanceof ThrottledError && e.code === "ERR_QUOTA_EXHAUSTED";
      await journal.append({
        ...entry,
        phase: daily ? "not-applied" : "failed",
        code: e.remoteCode ?? e.code,
        message: e.message,
      });
      if (daily) {
        const first = dailyLimit === undefined;
        dailyLimit ??= e as ThrottledError;
        const record: LicenseRecord = {
          ...base,
          result: "skipped",
          reason: `${base.reason}; not attempted: ${e.message}`,
        };
        if (first) options.onError?.(e, record);
        progress.bump("skipped");
        return record;
      }
      const record: LicenseRecord = {
        ...base,
        result: "failed",
        reason: `${base.reason}; failed: ${e.message}`,
      };
      options.onError?.(e, record);
      progress.bump("failed");
      return record;
    }
  };

  yield* runJournaled(users, restore, journal, options);
}
