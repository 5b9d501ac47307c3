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
