import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { type Simulator, type ZoomDataset, generateDataset, startSimulator } from "@cloudadmin/cloud-sim";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CliIo } from "../src/io.js";
import { run } from "../src/run.js";
import { Capture, runCli } from "./helpers.js";

interface Item {
  userId: string;
  email: string;
  action: string;
  result: string;
  reason: string;
  type: number;
}
interface Doc {
  command: string;
  items: Item[];
  errors: Array<{ scope: string; phase: string; code: string; message: string }>;
  summary: Record<string, unknown>;
}

const sims: Simulator[] = [];
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "cli-zoom-"));
});
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

function dataset(): ZoomDataset {
  return generateDataset({ scale: "small", seed: 5, services: ["zoom"] }).zoom as ZoomDataset;
}

async function sim(zoom = dataset()) {
  const s = await startSimulator({ dataset: { zoom }, services: ["zoom"] });
  sims.push(s);
  return { s, env: s.environment(), zoom };
}

function stale(zoom: ZoomDataset): string[] {
  const cutoff = Date.parse("2026-08-01T00:00:00Z"); // asOf 2026-11-01 minus 3 months
  return zoom.users
    .filter(
      (u) =>
        u.status === "active" && u.type === 2 && u.last_login_time && Date.parse(u.last_login_time) < cutoff,
    )
    .map((u) => u.id)
    .sort();
}

/** Like runCli, with a terminal on stdin and stderr and what the user types. */
async function runOnTty(argv: string[], env: Record<string, string>, typed: string) {
  const stdout = new Capture(false);
  const stderr = new Capture(true);
  const stdin = new PassThrough() as PassThrough & { isTTY?: boolean };
  stdin.isTTY = true;
  stdin.end(typed);
  const io: CliIo = { stdout, stderr, stdin, env: { PATH: process.env.PATH, ...env }, cwd: dir };
  const code = await run(argv, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const patches = (s: Simulator) => s.requestLog.filter((r) => r.method === "PATCH").length;
const asOf = ["--as-of", "2026-11-01T00:00:00Z"];

describe("cloudadmin zoom-licenses", () => {
  it("--simulate plans the dataset's stale Licensed users, changing nothing", async () => {
    const r = await runCli(["zoom-licenses", "--simulate", "-o", "json"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as Doc;
    const zoom = generateDataset({ scale: "small", seed: 1, services: ["zoom"] }).zoom as ZoomDataset;
    expect(doc.items.map((i) => i.userId).sort()).toEqual(stale(zoom));
    expect(doc.items.every((i) => i.action === "downgrade" && i.result === "planned")).toBe(true);
    expect(doc.summary).toMatchObject({
      asOf: "2026-11-01T00:00:00.000Z",
      months: 3,
      downgrade: 24,
      listed: 272,
    });
    expect(r.stderr).toMatch(/24 of 272 users would be downgraded; rerun with --apply/);
    expect(await readdir(dir)).toEqual([]);
  });

  it("prints a table for people, with --all listing kept users and their reasons", async () => {
    const { env } = await sim();
    const r = await runCli(["zoom-licenses", "-o", "table", "--all", ...asOf], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split("\n")[0]).toMatch(
      /email\W+displayName\W+type\W+lastLoginTime\W+inactiveDays\W+action\W+result\W+reason/,
    );
    expect(r.stdout).toMatch(/downgrade\W+planned\W+inactive: last login \d{4}-\d{2}-\d{2}/);
    expect(r.stdout).toMatch(/keep\W+planned\W+already Basic/);
    expect(r.stdout).toMatch(/never logged in \(kept: includeNeverLoggedIn is off\)/);
    const json = await runCli(["zoom-licenses", "-o", "json", ...asOf], { env });
    const summary = (JSON.parse(json.stdout) as Doc).summary as {
      keptBy: Record<string, number>;
      keep: number;
    };
    expect(Object.keys(summary.keptBy).sort()).toEqual([
      "active within the period",
      "already Basic",
      "never logged in",
      "not Licensed",
    ]);
    expect(Object.values(summary.keptBy).reduce((a, b) => a + b, 0)).toBe(summary.keep);
  });

  it("SIGINT between changes: exit 130, every journaled change has its outcome, a rerun finishes the rest", async () => {
    const zoom = dataset();
    const controller = new AbortController();
    let patchesSeen = 0;
    // Sees every request first and claims none: interrupts the run when the 5th change is sent.
    const tap = {
      name: "tap",
      classify: (req: { method: string }) => {
        if (req.method === "PATCH" && ++patchesSeen === 5) controller.abort();
        return null;
      },
      handle: () => ({ status: 500 }),
      faultResponse: () => ({ status: 500 }),
    };
    const s = await startSimulator({
      dataset: { zoom },
      services: ["zoom"],
      customServices: [tap],
      latency: 20,
    });
    sims.push(s);
    const env = s.environment();
    const journal = join(dir, "z.jsonl");
    const argv = [
      "zoom-licenses",
      "--apply",
      "--yes",
      "--concurrency",
      "2",
      "--journal",
      journal,
      "-o",
      "json",
      ...asOf,
    ];
    const r = await runCli(argv, { env, signal: controller.signal });
    expect(r.code).toBe(130);
    const lines = (await readFile(journal, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { phase: string });
    const applied = lines.filter((l) => l.phase === "applied").length;
    expect(lines.filter((l) => l.phase === "intent")).toHaveLength(applied);
    expect(applied).toBeGreaterThanOrEqual(5);
    expect(applied).toBeLessThan(stale(zoom).length);
    const rerun = await runCli(argv, { env });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect((JSON.parse(rerun.stdout) as Doc).items.filter((i) => i.result === "applied")).toHaveLength(
      stale(zoom).length - applied,
    );
    const perUser = new Map<string, number>();
    for (const q of s.requestLog)
      if (q.method === "PATCH") perUser.set(q.path, (perUser.get(q.path) ?? 0) + 1);
    expect(perUser.size).toBe(stale(zoom).length);
    expect([...perUser.values()].every((n) => n === 1)).toBe(true);
  });

  it("--apply without a TTY needs --yes: exit 2 and nothing listed or changed", async () => {
    const { env, s } = await sim();
    const r = await runCli(["zoom-licenses", "--apply", ...asOf], { env, cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      "cloudadmin: zoom-licenses: --apply needs --yes when not on a TTY (nothing was changed)",
    );
    expect(s.stats().total).toBe(0);
  });

  it("--apply --yes changes the users, journals them, and a rerun changes nobody twice; restore undoes it", async () => {
    const { env, s, zoom } = await sim();
    const journal = join(dir, "z.jsonl");
    const first = await runCli(
      ["zoom-licenses", "--apply", "--yes", "--journal", journal, "-o", "json", ...asOf],
      { env },
    );
    expect(first.code, first.stderr).toBe(0);
    const doc = JSON.parse(first.stdout) as Doc;
    expect(
      doc.items
        .filter((i) => i.result === "applied")
        .map((i) => i.userId)
        .sort(),
    ).toEqual(stale(zoom));
    expect(doc.summary).toMatchObject({ applied: stale(zoom).length, failed: 0, journal });
    expect(first.stderr).toContain(`journal: ${journal}`);
    const lines = (await readFile(journal, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { phase: string });
    expect(lines.filter((l) => l.phase === "applied")).toHaveLength(stale(zoom).length);
    expect(patches(s)).toBe(stale(zoom).length);

    const rerun = await runCli(
      ["zoom-licenses", "--apply", "--yes", "--journal", journal, "-o", "json", ...asOf],
      { env },
    );
    expect(rerun.code, rerun.stderr).toBe(0);
    expect((JSON.parse(rerun.stdout) as Doc).items).toEqual([]);
    expect(patches(s)).toBe(stale(zoom).length);

    const restored = await runCli(["zoom-licenses", "restore", "--journal", journal, "--yes", "-o", "json"], {
      env,
    });
    expect(restored.code, restored.stderr).toBe(0);
    const rdoc = JSON.parse(restored.stdout) as Doc;
    expect(rdoc.items.map((i) => i.userId).sort()).toEqual(stale(zoom));
    expect(rdoc.items.every((i) => i.action === "restore" && i.result === "applied" && i.type === 2)).toBe(
      true,
    );
    const control = s.service("zoom") as unknown as { users(): Array<{ id: string; type: number }> };
    expect(
      control
        .users()
        .filter((u) => stale(zoom).includes(u.id))
        .every((u) => u.type === 2),
    ).toBe(true);
  });

  it("--max-changes below the plan: exit 2, nothing changed, no journal", async () => {
    const { env, s } = await sim();
    const journal = join(dir, "z.jsonl");
    const r = await runCli(
      ["zoom-licenses", "--apply", "--yes", "--max-changes", "3", "--journal", journal, ...asOf],
      { env },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^cloudadmin: zoom-licenses: the plan downgrades 24 users, more than maxChanges 3; nothing was changed$/m,
    );
    expect(r.stdout).toBe("");
    expect(patches(s)).toBe(0);
    expect(await readdir(dir)).toEqual([]);
  });

  it("asks on a TTY: 'yes' applies, anything else changes nothing", async () => {
    const { env, s, zoom } = await sim();
    const no = await runOnTty(
      ["zoom-licenses", "--apply", "--journal", "z.jsonl", "-o", "json", ...asOf],
      env,
      "no\n",
    );
    expect(no.code).toBe(2);
    expect(no.stderr).toMatch(/24 users to be converted from "Licensed" to Basic:/);
    expect(no.stderr).toMatch(/Downgrade 24 users\? Type 'yes' to continue: /);
    expect(no.stderr).toMatch(/not confirmed; nothing was changed/);
    expect(patches(s)).toBe(0);
    const yes = await runOnTty(
      ["zoom-licenses", "--apply", "--journal", "z.jsonl", "-o", "json", ...asOf],
      env,
      "yes\n",
    );
    expect(yes.code, yes.stderr).toBe(0);
    expect(patches(s)).toBe(stale(zoom).length);
  });

  it("failed changes in the middle: the others applied, exit 5, errors[] and the journal say which", async () => {
    const { env, s, zoom } = await sim();
    s.setFaults({ errorRate: 0.25, operations: ["UpdateUser"] });
    const journal = join(dir, "z.jsonl");
    const r = await runCli(
      [
        "zoom-licenses",
        "--apply",
        "--yes",
        "--max-retries",
        "0",
        "--journal",
        journal,
        "-o",
        "json",
        ...asOf,
      ],
      { env },
    );
    expect(r.code).toBe(5);
    const doc = JSON.parse(r.stdout) as Doc;
    const failed = doc.items.filter((i) => i.result === "failed");
    const applied = doc.items.filter((i) => i.result === "applied");
    expect(failed.length).toBeGreaterThan(0);
    expect(applied.length).toBeGreaterThan(0);
    expect(failed.length + applied.length).toBe(stale(zoom).length);
    expect(doc.errors.map((e) => e.scope).sort()).toEqual(failed.map((i) => i.email).sort());
    expect(doc.errors.every((e) => e.phase === "downgrade")).toBe(true);
    const lines = (await readFile(journal, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { phase: string; userId: string });
    expect(
      lines
        .filter((l) => l.phase === "failed")
        .map((l) => l.userId)
        .sort(),
    ).toEqual(failed.map((i) => i.userId).sort());
    expect(r.stderr).toMatch(/^cloudadmin: zoom-licenses: /m);
  });

  it("stops on Zoom's daily limit with exit 5 and an intact journal", async () => {
    const zoom = dataset();
    zoom.rateLimits = { light: { perDay: 4 } };
    const { env } = await sim(zoom);
    const journal = join(dir, "z.jsonl");
    const r = await runCli(
      [
        "zoom-licenses",
        "--apply",
        "--yes",
        "--concurrency",
        "1",
        "--journal",
        journal,
        "-o",
        "json",
        ...asOf,
      ],
      { env },
    );
    expect(r.code).toBe(5);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(doc.items.filter((i) => i.result === "applied")).toHaveLength(4);
    expect(doc.items.filter((i) => i.result === "skipped")).toHaveLength(stale(zoom).length - 4);
    expect(doc.errors).toHaveLength(1);
    expect(doc.errors[0]).toMatchObject({ code: "ERR_QUOTA_EXHAUSTED", phase: "downgrade" });
    const lines = (await readFile(journal, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { phase: string });
    expect(lines.map((l) => l.phase).filter((p) => p !== "intent")).toEqual([
      "applied",
      "applied",
      "applied",
      "applied",
      "not-applied",
    ]);
  });

  it("keeps secrets out of stdout, stderr, the journal and the --out file", async () => {
    const { env, zoom } = await sim();
    const journal = join(dir, "z.jsonl");
    const out = join(dir, "out.csv");
    const r = await runCli(
      ["zoom-licenses", "--apply", "--yes", "-vv", "--journal", journal, "-o", "csv", "--out", out, ...asOf],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    const csv = await readFile(out, "utf8");
    expect(csv.split("\n")[0]).toBe(
      "userId,email,displayName,type,lastLoginTime,createdAt,inactiveDays,action,reason,result",
    );
    expect(csv.trim().split("\n")).toHaveLength(stale(zoom).length + 1);
    const basic = Buffer.from(`${env.ZOOM_CLIENT_ID}:${env.ZOOM_CLIENT_SECRET}`).toString("base64");
    for (const text of [r.stdout, r.stderr, csv, await readFile(journal, "utf8")]) {
      expect(text).not.toContain(env.ZOOM_CLIENT_SECRET);
      expect(text).not.toContain(basic);
      expect(text).not.toMatch(/eyJ[\w-]+\./);
    }
  });

  it("missing credentials exit 3; plain http to a remote host is refused with exit 3", async () => {
    const none = await runCli(["zoom-licenses", "-o", "json"]);
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/set ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET/);
    const { env } = await sim();
    const remote = await runCli(["zoom-licenses", "--zoom-api-url", "http://zoom.example.com/v2"], { env });
    expect(remote.code).toBe(3);
    expect(remote.stderr).toMatch(/--zoom-api-url http:\/\/zoom\.example\.com uses plain http/);
  });

  it("--exclude reads emails and files", async () => {
    const { env, zoom } = await sim();
    const ids = stale(zoom);
    const emails = zoom.users.filter((u) => ids.includes(u.id)).map((u) => u.email);
    await writeFile(join(dir, "vips.txt"), `# VIPs\n${emails[1]}\n${emails[2]}\n`);
    const r = await runCli(
      ["zoom-licenses", "-o", "json", "--all", "--exclude", `${emails[0]},vips.txt`, ...asOf],
      {
        env,
        cwd: dir,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(doc.items.filter((i) => i.action === "downgrade")).toHaveLength(ids.length - 3);
    expect(
      doc.items
        .filter((i) => i.reason === "excluded")
        .map((i) => i.email)
        .sort(),
    ).toEqual(emails.slice(0, 3).sort());
    const bad = await runCli(["zoom-licenses", "--exclude", "missing.txt"], { env, cwd: dir });
    expect(bad.code).toBe(2);
  });
});

describe("cloudadmin zoom-licenses: hostile input (issue 14)", () => {
  it("refuses periods out of range or given twice with exit 2, before any request", async () => {
    const { env, s } = await sim();
    for (const flags of [
      ["--months", "3300000"],
      ["--months", "1201"],
      ["--months", "0"],
      ["--days", "36501"],
      ["--months", "3", "--days", "10"],
    ]) {
      const r = await runCli(["zoom-licenses", "--apply", "--yes", "-o", "json", ...flags, ...asOf], {
        env,
        cwd: dir,
      });
      expect(r.code, `${flags.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
    expect(s.stats().total).toBe(0);
    expect(await readdir(dir)).toEqual([]);
    const ok = await runCli(["zoom-licenses", "-o", "json", "--months", "1200", ...asOf], { env });
    expect(ok.code, ok.stderr).toBe(0);
    expect((JSON.parse(ok.stdout) as Doc).items).toEqual([]);
  });

  it("a journal whose last line was cut mid-write: set aside in .partial, cut back, and nobody changed twice", async () => {
    const { env, s, zoom } = await sim();
    const journal = join(dir, "z.jsonl");
    const argv = ["zoom-licenses", "--apply", "--yes", "--journal", journal, "-o", "json", ...asOf];
    const first = await runCli(argv, { env });
    expect(first.code, first.stderr).toBe(0);
    // The process died while writing the last "applied" line: its user has an intent and half an outcome.
    const whole = await readFile(journal, "utf8");
    const lastLine = whole.trimEnd().split("\n").pop() as string;
    const torn = lastLine.slice(0, 40);
    await writeFile(journal, whole.slice(0, whole.length - lastLine.length - 1) + torn);
    const restored = await runCli(["zoom-licenses", "restore", "--journal", journal, "--yes", "-o", "json"], {
      env,
    });
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stderr).toContain(
      `journal ${journal} ended in a partial line (the run stopped mid-write): it was moved to ${journal}.partial`,
    );
    expect(await readFile(`${journal}.partial`, "utf8")).toBe(`${torn}\n`);
    const lines = (await readFile(journal, "utf8")).split("\n");
    expect(lines.pop()).toBe("");
    expect(lines.every((l) => JSON.parse(l) !== null)).toBe(true);
    // Every journaled user is Licensed again, the one whose outcome was torn included.
    expect((JSON.parse(restored.stdout) as Doc).items.map((i) => i.userId).sort()).toEqual(stale(zoom));
    const again = await runCli(argv, { env });
    expect(again.code, again.stderr).toBe(0);
    const perUser = new Map<string, number>();
    for (const q of s.requestLog)
      if (q.method === "PATCH") perUser.set(q.path, (perUser.get(q.path) ?? 0) + 1);
    // Downgraded, restored, and the journal says downgraded before: never a third time.
    expect([...perUser.values()].every((n) => n === 2)).toBe(true);
    expect(perUser.size).toBe(stale(zoom).length);
  });

  it("a resume after a torn 'applied' line changes nobody twice (the listing confirms the change)", async () => {
    const { env, s, zoom } = await sim();
    const journal = join(dir, "z.jsonl");
    const argv = ["zoom-licenses", "--apply", "--yes", "--journal", journal, "-o", "json", ...asOf];
    expect((await runCli(argv, { env })).code).toBe(0);
    const whole = await readFile(journal, "utf8");
    const lastLine = whole.trimEnd().split("\n").pop() as string;
    await writeFile(journal, whole.slice(0, whole.length - lastLine.length - 1) + lastLine.slice(0, 25));
    const again = await runCli(argv, { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/ended in a partial line/);
    expect(s.requestLog.filter((q) => q.method === "PATCH")).toHaveLength(stale(zoom).length);
    const entries = (await readFile(journal, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { phase: string; userId: string; reason?: string });
    const tornUser = (JSON.parse(lastLine) as { userId: string }).userId;
    expect(entries.filter((e) => e.userId === tornUser).map((e) => e.phase)).toEqual(["intent", "applied"]);
    expect(entries.find((e) => e.userId === tornUser && e.phase === "applied")?.reason).toBe(
      "confirmed by listing after an interrupted run",
    );
  });

  it("--exclude: a file with @ in its path, UTF-16 files with a BOM, # comments, and unmatched entries warned", async () => {
    const { env, zoom } = await sim();
    const ids = stale(zoom);
    const emails = zoom.users.filter((u) => ids.includes(u.id)).map((u) => u.email);
    const atPath = join(dir, "team@ops");
    await import("node:fs/promises").then((fs) => fs.mkdir(atPath));
    await writeFile(join(atPath, "vips.txt"), `# VIPs\n${emails[0]}  # the CEO\n\n${emails[1]}\r\n`);
    const le = Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from(`${emails[2]}\r\nnobody@example.com\r\n`, "utf16le"),
    ]);
    await writeFile(join(dir, "le.txt"), le);
    const beText = Buffer.from(`${emails[3]}\n`, "utf16le");
    beText.swap16();
    await writeFile(join(dir, "be.txt"), Buffer.concat([Buffer.from([0xfe, 0xff]), beText]));
    const r = await runCli(
      ["zoom-licenses", "-o", "json", "--all", "--exclude", `${join(atPath, "vips.txt")}`, ...asOf],
      { env, cwd: dir },
    );
    expect(r.code, r.stderr).toBe(0);
    const excludedOf = (stdout: string) =>
      (JSON.parse(stdout) as Doc).items
        .filter((i) => i.reason === "excluded")
        .map((i) => i.email)
        .sort();
    expect(excludedOf(r.stdout)).toEqual(emails.slice(0, 2).sort());
    const both = await runCli(
      ["zoom-licenses", "-o", "json", "--all", "--exclude", "le.txt,be.txt", ...asOf],
      {
        env,
        cwd: dir,
      },
    );
    expect(both.code, both.stderr).toBe(0);
    expect(excludedOf(both.stdout)).toEqual(emails.slice(2, 4).sort());
    expect(both.stderr).toMatch(/--exclude: 1 entry matches no user: nobody@example\.com/);
  });

  it("--exclude: a file that yields no address exits 2, and so does a part that is neither file nor address", async () => {
    const { env, s } = await sim();
    await writeFile(join(dir, "empty.txt"), "# nobody yet\n\n");
    const empty = await runCli(["zoom-licenses", "--exclude", "empty.txt", ...asOf], { env, cwd: dir });
    expect(empty.code).toBe(2);
    expect(empty.stderr.trim()).toBe(
      "cloudadmin: zoom-licenses: --exclude: 'empty.txt' holds no address (one email per line; # starts a comment)",
    );
    const bad = await runCli(["zoom-licenses", "--exclude", "missing.txt"], { env, cwd: dir });
    expect(bad.code).toBe(2);
    expect(s.stats().total).toBe(0);
  });

  it("restore --yes without --journal: exit 2 with one clear line", async () => {
    const { env, s } = await sim();
    const r = await runCli(["zoom-licenses", "restore", "--yes"], { env, cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      "cloudadmin: zoom-licenses restore: --journal <file> is required: the journal of an earlier --apply run",
    );
    expect(s.stats().total).toBe(0);
    expect(await readdir(dir)).toEqual([]);
  });

  it("a 401 shows Zoom's code and message, never [object Object]", async () => {
    const zoom = dataset();
    // A token endpoint behind a gateway that nests its error object.
    const gateway = {
      name: "gateway",
      classify: (req: { url: URL }) => (req.url.pathname === "/oauth/token" ? { operation: "Token" } : null),
      handle: () => ({
        status: 401,
        headers: { "content-type": "application/json" },
        body: { error: { code: "invalid_client", message: "Invalid client_id or client_secret" } },
      }),
      faultResponse: () => ({ status: 500 }),
    };
    const s = await startSimulator({ dataset: { zoom }, services: ["zoom"], customServices: [gateway] });
    sims.push(s);
    const r = await runCli(["zoom-licenses", "-o", "json", ...asOf], { env: s.environment() });
    expect(r.code).toBe(3);
    expect(r.stderr).not.toContain("[object Object]");
    expect(r.stderr).toContain("(401 invalid_client: Invalid client_id or client_secret)");
  });
});
