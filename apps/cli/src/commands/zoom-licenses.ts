import { readFile, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { type CloudAdminError, ConfigError, UsageError, toErrorRecord } from "@cloudadmin/errors";
import type { LicenseRecord, ReasonCode } from "@cloudadmin/zoom-licenses";
import { Option } from "commander";
import type { CommandModule } from "../command-module.js";
import type { CommandContext } from "../context.js";
import { ExitCode, exitCodeForChanges } from "../exit-codes.js";

const PLANS = ["free", "pro", "business"] as const;

const FIELDS = [
  "userId",
  "email",
  "displayName",
  "type",
  "lastLoginTime",
  "createdAt",
  "inactiveDays",
  "action",
  "reason",
  "result",
];
const TABLE_COLUMNS = [
  "email",
  "displayName",
  "type",
  "lastLoginTime",
  "inactiveDays",
  "action",
  "result",
  "reason",
];

function wholeNumber(value: unknown, flag: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  if (!/^\d+$/.test(text) || Number(text) < min) {
    throw new UsageError(`${flag} must be a whole number >= ${min}, not '${text}'`);
  }
  return Number(text);
}

/** Whether `path` names an existing regular file. */
async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** A text file's content, decoded by its byte-order mark (UTF-8, UTF-16LE or UTF-16BE; UTF-8 without). */
function decodeText(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString("utf16le");
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    const swapped = Buffer.from(bytes.subarray(2));
    swapped.swap16();
    return swapped.toString("utf16le");
  }
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return bytes.subarray(3).toString("utf8");
  return bytes.toString("utf8");
}

/** One address per line; `#` starts a comment (at the start of a line or after a blank). */
function addressesIn(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/(^|\s)#.*$/, "").trim())
    .filter(Boolean);
}

/**
 * `--exclude`: a value that names an existing file is a file (whatever it contains, `@` included);
 * otherwise a comma-separated list whose parts are files when they exist, else addresses (with
 * `@`). A file that yields no address is refused: it would protect nobody.
 */
async function readExclusions(value: string | undefined, cwd: string): Promise<string[]> {
  if (value === undefined) return [];
  const parts = (await isFile(resolve(cwd, value))) ? [value] : value.split(",").map((p) => p.trim());
  const out: string[] = [];
  for (const part of parts.filter(Boolean)) {
    const path = resolve(cwd, part);
    if (await isFile(path)) {
      let bytes: Buffer;
      try {
        bytes = await readFile(path);
      } catch (error) {
        throw new UsageError(`--exclude: cannot read '${part}' (${(error as Error).message})`);
      }
      const found = addressesIn(decodeText(bytes));
      if (found.length === 0) {
        throw new UsageError(
          `--exclude: '${part}' holds no address (one email per line; # starts a comment)`,
        );
      }
      out.push(...found);
    } else if (part.includes("@")) out.push(part);
    else throw new UsageError(`--exclude: '${part}' is neither a file nor an email address`);
  }
  if (out.length === 0) throw new UsageError("--exclude: no address given");
  return out;
}

/**
 * Drains `source` in its own task into a bounded buffer. The output writer stops reading at once
 * on SIGINT; the changes already sent must still be answered and journaled, so the command waits
 * for `finished` before it returns (the library stops starting new changes through the same
 * signal). While the writer reads, at most `limit` records wait in memory; once it has stopped,
 * the rest is drained and dropped.
 */
function pump<T>(
  source: AsyncIterable<T>,
  limit = 256,
): { items: AsyncGenerator<T>; finished: Promise<void> } {
  const buffer: T[] = [];
  let done = false;
  let reading = true;
  let failure: { error: unknown } | undefined;
  let wakeReader: (() => void) | undefined;
  let wakeWriter: (() => void) | undefined;
  const finished = (async () => {
    try {
      for await (const item of source) {
        if (!reading) continue;
        buffer.push(item);
        wakeReader?.();
        while (reading && buffer.length >= limit) {
          await new Promise<void>((resolve) => {
            wakeWriter = resolve;
          });
          wakeWriter = undefined;
        }
      }
    } catch (error) {
      failure = { error };
    } finally {
      done = true;
      wakeReader?.();
    }
  })();
  async function* items(): AsyncGenerator<T> {
    try {
      for (;;) {
        const next = buffer.shift();
        if (next !== undefined) {
          wakeWriter?.();
          yield next;
          continue;
        }
        if (done) {
          if (failure) throw failure.error;
          return;
        }
        await new Promise<void>((resolve) => {
          wakeReader = resolve;
        });
        wakeReader = undefined;
      }
    } finally {
      reading = false;
      buffer.length = 0;
      wakeWriter?.();
    }
  }
  return { items: items(), finished };
}

/** The summary's buckets for kept users. */
const KEPT_LABELS: Partial<Record<ReasonCode, string>> = {
  "active-within-period": "active within the period",
  "never-logged-in": "never logged in",
  "created-within-period": "never logged in",
  "creation-unknown": "never logged in",
  "not-active": "not active",
  "no-user-id": "not active",
  "not-licensed": "not Licensed",
  "already-basic": "already Basic",
  excluded: "excluded",
};

function timestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
}

function parseAsOf(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(String(value));
  if (Number.isNaN(ms))
    throw new UsageError(`--as-of must be a date such as 2026-01-31T00:00:00Z, not '${String(value)}'`);
  return ms;
}

/** The instant a simulated dataset was generated for, so `--simulate` plans the dataset's ground truth. */
async function simulatedAsOf(ctx: CommandContext): Promise<number | undefined> {
  const sim = await import("@cloudadmin/cloud-sim");
  const dataset = ctx.globals.simDataset
    ? await sim.loadDataset(resolve(ctx.io.cwd, ctx.globals.simDataset))
    : sim.generateDataset({ scale: ctx.globals.simulate ?? "small", seed: 1, services: ["zoom"] });
  const asOf = dataset.zoom?.asOf;
  return asOf ? Date.parse(asOf) : undefined;
}

/** Asks on the terminal; true only for "yes". */
async function confirm(ctx: CommandContext, question: string): Promise<boolean> {
  ctx.io.stderr.write(`${question} Type 'yes' to continue: `);
  const rl = createInterface({ input: ctx.io.stdin, terminal: false });
  try {
    for await (const line of rl) return line.trim().toLowerCase() === "yes";
    return false;
  } finally {
    rl.close();
  }
}

function isInteractive(ctx: CommandContext): boolean {
  return ctx.io.stdin.isTTY === true && ctx.io.stderr.isTTY === true;
}

/** Shows the changes on stderr (stdout carries results only) before asking. */
function describeChanges(ctx: CommandContext, rows: readonly LicenseRecord[], verb: string): void {
  const shown = rows.slice(0, 20);
  const lines = shown.map((r) => `  ${r.email}  ${r.reason}`);
  if (rows.length > shown.length) lines.push(`  ... and ${rows.length - shown.length} more`);
  ctx.io.stderr.write(`${rows.length} users to be ${verb}:\n${lines.join("\n")}\n`);
}

/** The Zoom client a run uses, from ZOOM_* and the endpoint flags (also used by `doctor`). */
export async function buildClient(ctx: CommandContext, options: Record<string, unknown>) {
  const lib = await import("@cloudadmin/zoom-licenses");
  const apiUrl = ctx
    .endpoint(String(options.zoomApiUrl ?? ctx.env.ZOOM_API_URL ?? lib.DEFAULT_API_URL), "--zoom-api-url")
    .toString();
  const oauthUrl = ctx
    .endpoint(
      String(options.zoomOauthUrl ?? ctx.env.ZOOM_OAUTH_URL ?? lib.DEFAULT_OAUTH_URL),
      "--zoom-oauth-url",
    )
    .toString();
  const accountId = ctx.env.ZOOM_ACCOUNT_ID;
  const clientId = ctx.env.ZOOM_CLIENT_ID;
  const clientSecret = ctx.env.ZOOM_CLIENT_SECRET;
  const missing = [
    ["ZOOM_ACCOUNT_ID", accountId],
    ["ZOOM_CLIENT_ID", clientId],
    ["ZOOM_CLIENT_SECRET", clientSecret],
  ].filter(([, v]) => !v);
  if (missing.length > 0) {
    throw new ConfigError(
      `set ${missing.map(([k]) => k).join(", ")} (a Zoom Server-to-Server OAuth app), or use --simulate`,
    );
  }
  const tokenProvider = lib.createZoomTokenProvider({
    credentials: {
      accountId: accountId as string,
      clientId: clientId as string,
      clientSecret: clientSecret as string,
    },
    oauthUrl,
    ...(ctx.globals.timeoutMs === undefined ? {} : { timeoutMs: ctx.globals.timeoutMs }),
  });
  const stats = { throttled: 0, retries: 0 };
  const client = lib.createZoomClient({
    tokenProvider,
    apiUrl,
    plan: (options.zoomPlan as (typeof PLANS)[number] | undefined) ?? "business",
    ...(ctx.globals.maxRetries === undefined ? {} : { maxRetries: ctx.globals.maxRetries }),
    ...(ctx.globals.timeoutMs === undefined ? {} : { timeoutMs: ctx.globals.timeoutMs }),
    onEvent: (e) => {
      if (e.kind === "throttled") {
        stats.throttled++;
        ctx.log.debug(
          `throttled (${e.category}, ${e.type}); pace now ${e.rate.toFixed(1)}/s; retry after ${e.retryAfterMs ?? "backoff"} ms`,
        );
      } else if (e.kind === "retry") stats.retries++;
      else if (e.kind === "token-refresh")
        ctx.log.debug("access token refused (expired?): fetched a new one");
      else if (e.kind === "page-token-expired")
        ctx.log.warn("the listing's next_page_token expired: listing again");
    },
  });
  return { lib, client, stats };
}

export const zoomLicensesCommand: CommandModule = {
  name: "zoom-licenses",
  summary: "find Licensed Zoom users inactive for N months and turn them Basic (plan, apply, restore)",
  configure(command) {
    command
      .addOption(
        new Option(
          "--months <n>",
          "inactive = last login more than n months ago (1..1200; default 3)",
        ).conflicts("days"),
      )
      .option("--days <n>", "inactive = last login more than n days ago (1..36500; instead of --months)")
      .option(
        "--include-never-logged-in",
        "also downgrade users who never logged in, if created before the period",
      )
      .option(
        "--exclude <file|email,...>",
        "protected users: a file (one email per line, # comments, UTF-8 or UTF-16), or emails and files separated by commas",
      )
      .option("--max-changes <n>", "when the plan holds more changes than n, change nothing (exit 2)")
      .option("--apply", "change the users (asks for confirmation on a TTY)")
      .option("-y, --yes", "do not ask for confirmation (required with --apply when not on a TTY)")
      .option("--journal <file>", "journal of every change (default zoom-licenses-<UTC timestamp>.jsonl)")
      .option("--all", "list kept users too (default: only the users to downgrade)")
      .option("--as-of <date>", "measure inactivity as of this date instead of now")
      .option("--zoom-api-url <url>", "Zoom API base URL (default $ZOOM_API_URL or https://api.zoom.us/v2)")
      .option("--zoom-oauth-url <url>", "token URL (default $ZOOM_OAUTH_URL or https://zoom.us/oauth/token)")
      .addOption(
        new Option(
          "--zoom-plan <plan>",
          "the account's plan: its documented limits are the starting pace, lowered by 429s",
        )
          .choices(PLANS)
          .default("business"),
      );
    command
      .command("restore")
      .description("turn the users in a journal Licensed again")
      .option("--journal <file>", "the journal of an earlier --apply run (required)")
      .option("-y, --yes", "do not ask for confirmation (required when not on a TTY)")
      .option("--zoom-api-url <url>", "Zoom API base URL (default $ZOOM_API_URL or https://api.zoom.us/v2)")
      .option("--zoom-oauth-url <url>", "token URL (default $ZOOM_OAUTH_URL or https://zoom.us/oauth/token)")
      .addOption(new Option("--zoom-plan <plan>", "the account's plan").choices(PLANS).default("business"));
    // Commander hands options the parent also declares (--journal, --yes...) to the parent, wherever
    // they appear: give them to `restore` when it is the command that runs.
    command.hook("preAction", (self, action) => {
      if (action === self) return;
      for (const key of ["journal", "yes", "zoomApiUrl", "zoomOauthUrl"]) {
        if (action.getOptionValue(key) === undefined && self.getOptionValue(key) !== undefined) {
          action.setOptionValue(key, self.getOptionValue(key));
        }
      }
    });
    command.addHelpText(
      "after",
      `
Auth: a Server-to-Server OAuth app (scopes user:read:admin, user:write:admin) in ZOOM_ACCOUNT_ID,
ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET. Only active users are considered; users who never logged in are
kept unless --include-never-logged-in. Nothing changes without --apply; every change is journaled
before and after it is made, and a rerun with the same --journal never changes a user twice.

Examples:
  cloudadmin zoom-licenses --months 6 --exclude vips.txt          # the plan: who and why
  cloudadmin zoom-licenses --months 6 --apply --journal z.jsonl    # asks, then changes
  cloudadmin zoom-licenses --apply --yes --max-changes 200 --journal z.jsonl
  cloudadmin zoom-licenses restore --journal z.jsonl --yes
  cloudadmin zoom-licenses --simulate                               # against the embedded simulator
`,
    );
  },
  async run(ctx, options, args) {
    if (args[0] === "restore") return restore(ctx, options);
    const apply = options.apply === true;
    const yes = options.yes === true;
    const days = wholeNumber(options.days, "--days");
    const months = wholeNumber(options.months, "--months");
    const maxChanges = wholeNumber(options.maxChanges, "--max-changes");
    if (apply && !yes && !isInteractive(ctx)) {
      throw new UsageError("--apply needs --yes when not on a TTY (nothing was changed)");
    }
    const lib = await import("@cloudadmin/zoom-licenses");
    const exclude = await readExclusions(options.exclude as string | undefined, ctx.io.cwd);
    const asOf = parseAsOf(options.asOf);
    // The library owns the period's rules; asking it now refuses a bad one before anything is sent.
    lib.inactivityCutoff({
      now: asOf ?? Date.now(),
      ...(months === undefined ? {} : { months }),
      ...(days === undefined ? {} : { days }),
    });
    const journal = resolve(
      ctx.io.cwd,
      String(options.journal ?? `zoom-licenses-${timestamp(new Date())}.jsonl`),
    );
    const sim = await ctx.simulate(["zoom"]);
    const now = asOf ?? (sim ? await simulatedAsOf(ctx) : undefined) ?? Date.now();
    const period = {
      now,
      ...(months === undefined ? {} : { months }),
      ...(days === undefined ? {} : { days }),
    };
    const { client, stats } = await buildClient(ctx, options);
    const progress = await ctx.progress("zoom-licenses");
    const counts = { listed: 0, downgrade: 0, keep: 0, applied: 0, failed: 0, skipped: 0 };
    const keptBy: Record<string, number> = {};
    const errors: CloudAdminError[] = [];
    const show = () => progress.update({ ...counts, throttled: stats.throttled });

    const plan = (async function* () {
      for await (const d of lib.planLicenseRecovery(client.listUsers({ signal: ctx.signal }), {
        ...period,
        includeNeverLoggedIn: options.includeNeverLoggedIn === true,
        exclude,
        onUnmatchedExclusions: (entries) =>
          ctx.log.warn(
            `--exclude: ${entries.length} ${entries.length === 1 ? "entry matches" : "entries match"} no user: ${entries.slice(0, 20).join(", ")}${entries.length > 20 ? ", ..." : ""}`,
          ),
      })) {
        counts.listed++;
        if (d.action === "downgrade") counts.downgrade++;
        else {
          counts.keep++;
          const key = KEPT_LABELS[d.reasonCode] ?? d.reasonCode;
          keptBy[key] = (keptBy[key] ?? 0) + 1;
        }
        show();
        yield d;
      }
    })();

    const items: AsyncIterable<LicenseRecord> = apply
      ? lib.applyLicenseRecovery(plan, {
          client,
          journal,
          period,
          ...(maxChanges === undefined ? {} : { maxChanges }),
          ...(yes
            ? {}
            : {
                confirm: async (changes: readonly LicenseRecord[]) => {
                  progress.stop();
                  describeChanges(ctx, changes, 'converted from "Licensed" to Basic');
                  return confirm(ctx, `Downgrade ${changes.length} users?`);
                },
              }),
          concurrency: ctx.globals.concurrency ?? 16,
          signal: ctx.signal,
          onProgress: (p) => {
            counts.applied = p.applied;
            counts.failed = p.failed;
            show();
          },
          onError: (e) => errors.push(e),
          onWarning: (message) => ctx.log.warn(message),
        })
      : plan;
    if (apply) ctx.log.info(`journal: ${journal}`);

    const counted = (async function* () {
      for await (const r of items) {
        if (apply && r.action === "downgrade" && r.result === "skipped") counts.skipped++;
        if (options.all === true || r.action !== "keep") yield r;
      }
    })();
    const pumped = pump(counted);
    try {
      await ctx.emit({
        items: pumped.items,
        errors: () => errors.map((e) => toErrorRecord(e)),
        summary: () => ({
          asOf: new Date(now).toISOString(),
          ...(days === undefined ? { months: months ?? 3 } : { days }),
          listed: counts.listed,
          downgrade: counts.downgrade,
          keep: counts.keep,
          keptBy,
          ...(apply
            ? { applied: counts.applied, failed: counts.failed, skipped: counts.skipped, journal }
            : {}),
          throttled: stats.throttled,
          retries: stats.retries,
        }),
        columns: ctx.format === "table" ? TABLE_COLUMNS : FIELDS,
      });
    } finally {
      await pumped.finished;
    }
    progress.stop();
    if (!apply) {
      ctx.log.info(
        counts.downgrade === 0
          ? `no user to downgrade among ${counts.listed}`
          : `${counts.downgrade} of ${counts.listed} users would be downgraded; rerun with --apply to change them`,
      );
      return ExitCode.ok;
    }
    return exitCodeForChanges(counts.applied + counts.skipped, errors);
  },
};

async function restore(ctx: CommandContext, options: Record<string, unknown>): Promise<number> {
  if (options.journal === undefined || options.journal === "") {
    throw new UsageError("--journal <file> is required: the journal of an earlier --apply run");
  }
  const yes = options.yes === true;
  if (!yes && !isInteractive(ctx))
    throw new UsageError("restore needs --yes when not on a TTY (nothing was changed)");
  const journal = resolve(ctx.io.cwd, String(options.journal));
  await ctx.simulate(["zoom"]);
  const { lib, client, stats } = await buildClient(ctx, options);
  const progress = await ctx.progress("zoom-licenses restore");
  const counts = { restored: 0, failed: 0, skipped: 0 };
  const errors: CloudAdminError[] = [];
  const pumped = pump(
    lib.restoreLicenses({
      client,
      journal,
      ...(yes
        ? {}
        : {
            confirm: async (users) => {
              progress.stop();
              ctx.io.stderr.write(
                `${users.length} users to be turned Licensed again:\n${users
                  .slice(0, 20)
                  .map((u) => `  ${u.email}`)
                  .join("\n")}${users.length > 20 ? `\n  ... and ${users.length - 20} more` : ""}\n`,
              );
              return confirm(ctx, `Restore ${users.length} users?`);
            },
          }),
      concurrency: ctx.globals.concurrency ?? 16,
      signal: ctx.signal,
      onProgress: (p) => {
        counts.restored = p.applied;
        counts.failed = p.failed;
        counts.skipped = p.skipped;
        progress.update({ ...counts, throttled: stats.throttled });
      },
      onError: (e) => errors.push(e),
      onWarning: (message) => ctx.log.warn(message),
    }),
  );
  try {
    await ctx.emit({
      items: pumped.items,
      errors: () => errors.map((e) => toErrorRecord(e)),
      summary: () => ({ journal, ...counts, throttled: stats.throttled, retries: stats.retries }),
      columns: ctx.format === "table" ? TABLE_COLUMNS : FIELDS,
    });
  } finally {
    await pumped.finished;
  }
  progress.stop();
  return exitCodeForChanges(counts.restored + counts.skipped, errors);
}
