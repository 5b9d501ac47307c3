import { type FileHandle, appendFile, open, readFile, truncate } from "node:fs/promises";
import {
  type CloudAdminError,
  InvalidInputError,
  redactSecrets,
  toCloudAdminError,
} from "@cloudadmin/errors";

/**
 * One journal line. Written before a change (`intent`) and after it (`applied`, `failed`, or
 * `not-applied` when Zoom refused before changing anything, such as the daily limit). Holds no
 * secret: user ids, emails, types and redacted error messages only.
 */
export interface JournalEntry {
  time: string;
  runId: string;
  op: "downgrade" | "restore";
  phase: "intent" | "applied" | "failed" | "not-applied";
  userId: string;
  email: string;
  displayName?: string;
  fromType: number;
  toType: number;
  lastLoginTime?: string | null;
  createdAt?: string | null;
  reason?: string;
  code?: string;
  message?: string;
}

/** What a journal says about one user, from its lines in order. */
export interface JournalUserState {
  userId: string;
  email: string;
  displayName: string;
  /** The type the user had before the first downgrade (what restore puts back). */
  originalType: number;
  lastLoginTime: string | null;
  createdAt: string | null;
  /** `applied` downgrade, or an `intent` with no outcome (the change may have happened). */
  downgrade: "applied" | "unknown" | "failed" | "none";
  /** A restore was applied after the last downgrade. */
  restored: boolean;
}

/** Reads a journal's lines (none when the file does not exist). */
export async function readJournal(path: string): Promise<JournalEntry[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new InvalidInputError(`cannot read journal ${path}: ${(error as Error).message}`, { cause: error });
  }
  const entries: JournalEntry[] = [];
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    let entry: JournalEntry;
    try {
      entry = JSON.parse(line) as JournalEntry;
    } catch (cause) {
      // A torn last line (the process died mid-write) is set aside by openJournal before anything is
      // appended; a reader that only looks ignores it. A bad line elsewhere is an error.
      if (i === lines.length - 1) return;
      throw new InvalidInputError(`journal ${path} line ${i + 1} is not JSON`, { cause });
    }
    if (typeof entry.userId !== "string" || (entry.op !== "downgrade" && entry.op !== "restore")) {
      throw new InvalidInputError(`journal ${path} line ${i + 1} is not a zoom-licenses journal entry`);
    }
    entries.push(entry);
  });
  return entries;
}

/** Folds journal lines into one state per user. */
export function journalState(entries: readonly JournalEntry[]): Map<string, JournalUserState> {
  const users = new Map<string, JournalUserState>();
  for (const e of entries) {
    let state = users.get(e.userId);
    if (!state) {
      state = {
        userId: e.userId,
        email: e.email,
        displayName: e.displayName ?? e.email,
        originalType: e.fromType,
        lastLoginTime: e.lastLoginTime ?? null,
        createdAt: e.createdAt ?? null,
        downgrade: "none",
        restored: false,
      };
      users.set(e.userId, state);
    }
    if (e.op === "downgrade") {
      if (e.phase === "intent") {
        if (state.downgrade === "none" || state.downgrade === "failed" || state.restored) {
          state.downgrade = "unknown";
          state.restored = false;
        }
      } else if (e.phase === "applied") state.downgrade = "applied";
      else if (state.downgrade === "unknown") state.downgrade = "failed";
    } else if (e.op === "restore" && e.phase === "applied") state.restored = true;
  }
  return users;
}

/**
 * An append-only JSON-lines journal. Each line is written with one `write` call on a file opened in
 * append mode; the file is created with the first line, so a run that changes nobody leaves none.
 * Open it with {@link openJournal}, which repairs a torn last line first.
 */
export class Journal {
  private handle: Promise<FileHandle> | undefined;
  constructor(
    readonly path: string,
    readonly runId: string,
    private readonly now: () => number = Date.now,
  ) {}

  private file(): Promise<FileHandle> {
    this.handle ??= open(this.path, "a", 0o600).catch((cause: unknown) => {
      throw new InvalidInputError(`cannot write journal ${this.path}: ${(cause as Error).message}`, {
        cause,
      });
    });
    return this.handle;
  }

  async append(entry: Omit<JournalEntry, "time" | "runId">): Promise<void> {
    const line: JournalEntry = { time: new Date(this.now()).toISOString(), runId: this.runId, ...entry };
    if (line.message !== undefined) line.message = redactSecrets(line.message);
    await (await this.file()).write(`${JSON.stringify(line)}\n`);
  }

  async close(): Promise<void> {
    if (this.handle) await (await this.handle.catch(() => undefined))?.close();
  }
}

/**
 * Cuts a journal back to its last whole line when its final line has no newline (the process
 * died mid-write), keeping the cut bytes in `<journal>.partial`. Returns the warning to show, or
 * undefined when the journal was whole (or does not exist).
 */
async function repairJournal(path: string): Promise<string | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new InvalidInputError(`cannot read journal ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (bytes.length === 0 || bytes[bytes.length - 1] === 0x0a) return undefined;
  const keep = bytes.lastIndexOf(0x0a) + 1;
  try {
    await appendFile(`${path}.partial`, Buffer.concat([bytes.subarray(keep), Buffer.from("\n")]), {
      mode: 0o600,
    });
    await truncate(path, keep);
  } catch (error) {
    throw new InvalidInputError(`cannot repair journal ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return `journal ${path} ended in a partial line (the run stopped mid-write): it was moved to ${path}.partial and the journal cut back to its last whole line`;
}

/**
 * Opens a journal for a run: repairs a torn last line (reported through `onWarning`), reads what
 * it says about each user, and returns the journal to append to.
 */
export async function openJournal(
  path: string,
  options: { runId: string; now?: () => number; onWarning?: (message: string) => void },
): Promise<{ journal: Journal; entries: JournalEntry[]; state: Map<string, JournalUserState> }> {
  const warning = await repairJournal(path);
  if (warning) options.onWarning?.(warning);
  const entries = await readJournal(path);
  return { journal: new Journal(path, options.runId, options.now), entries, state: journalState(entries) };
}

/** What one journaled change came to. */
export type ChangeOutcome =
  | { outcome: "applied" }
  | { outcome: "failed" | "not-applied"; error: CloudAdminError };

/**
 * One change, journaled: the `intent` line before it, then `applied`, `failed`, or `not-applied`
 * (Zoom refused before changing anything: the daily limit). The one place apply and restore write
 * their lines.
 */
export async function journaledChange(
  journal: Journal,
  entry: Omit<JournalEntry, "time" | "runId" | "phase">,
  change: () => Promise<void>,
): Promise<ChangeOutcome> {
  await journal.append({ ...entry, phase: "intent" });
  try {
    await change();
  } catch (error) {
    const e = toCloudAdminError(error, "ERR_REMOTE");
    const outcome = e.code === "ERR_QUOTA_EXHAUSTED" ? "not-applied" : "failed";
    await journal.append({ ...entry, phase: outcome, code: e.remoteCode ?? e.code, message: e.message });
    return { outcome, error: e };
  }
  await journal.append({ ...entry, phase: "applied" });
  return { outcome: "applied" };
}
