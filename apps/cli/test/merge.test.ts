import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers.js";

/**
 * Sharded ec2-ips runs against the simulator (`--shard i/n`), merged with `cloudadmin merge`, against
 * the unsharded run of the same dataset; and the set checks merge owns (exit 2 and exit 5).
 */

interface Doc {
  command: string;
  items: Array<{ accountId: string; instanceId: string; privateIps: string[] }>;
  errors: Array<{ scope: string; phase: string; code: string; message: string }>;
  summary: Record<string, unknown>;
  shard?: { index: number; count: number };
  scopes?: string[];
}

let work: string;
let whole: Doc;

const cli = (argv: string[]) => runCli(argv, { cwd: work });
const ids = (doc: Doc) => doc.items.map((i) => i.instanceId).sort();

async function shardRun(index: number, count: number): Promise<string> {
  const file = `ec2-${index}-of-${count}.json`;
  const r = await cli(["ec2-ips", "--simulate", "--shard", `${index}/${count}`, "-o", "json", "--out", file]);
  expect([0, 5], r.stderr).toContain(r.code);
  return file;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "merge-test-"));
  const r = await cli(["ec2-ips", "--simulate", "-o", "json", "--out", "ec2.json"]);
  expect([0, 5], r.stderr).toContain(r.code);
  whole = JSON.parse(await readFile(join(work, "ec2.json"), "utf8")) as Doc;
  expect(whole.items.length).toBeGreaterThan(0);
}, 60_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("merge", () => {
  for (const n of [1, 3, 7]) {
    it(`the union of ${n} shard(s) equals the unsharded run`, async () => {
      const files: string[] = [];
      for (let i = 0; i < n; i++) files.push(await shardRun(i, n));
      const shards = await Promise.all(
        files.map(async (f) => JSON.parse(await readFile(join(work, f), "utf8")) as Doc),
      );
      for (const [i, doc] of shards.entries()) expect(doc.shard).toEqual({ index: i, count: n });
      // Every instance is read by exactly one shard.
      expect(shards.flatMap(ids).sort()).toEqual(ids(whole));
      const r = await cli(["merge", ...files.reverse(), "-o", "json"]);
      // The unsharded run's errors (accounts whose role cannot be assumed) come back through the shards.
      expect(r.code, r.stderr).toBe(whole.errors.length === 0 ? 0 : 5);
      const merged = JSON.parse(r.stdout) as Doc & { shards: { count: number; indexes: number[] } };
      expect(ids(merged)).toEqual(ids(whole));
      expect(merged.items.flatMap((i) => i.privateIps).sort()).toEqual(
        whole.items.flatMap((i) => i.privateIps).sort(),
      );
      expect(merged.shards).toEqual({ count: n, indexes: [...Array(n).keys()] });
      // The merged document is the job's own: it reads back like one unsharded run.
      expect(merged.command).toBe("ec2-ips");
      expect(merged.errors.map((e) => e.scope).sort()).toEqual(whole.errors.map((e) => e.scope).sort());
      // ips find reads the shard set as one inventory.
      const find = await cli(["ips", "find", "0.0.0.0/0", "--from", files.join(","), "-o", "json"]);
      const findWhole = await cli(["ips", "find", "0.0.0.0/0", "--from", "ec2.json", "-o", "json"]);
      const strip = (out: string) =>
        (JSON.parse(out) as { items: Array<{ observedAt?: string }> }).items.map(
          ({ observedAt: _o, ...h }) => h,
        );
      expect(strip(find.stdout)).toEqual(strip(findWhole.stdout));
    }, 120_000);
  }

  it("the union of 3 azure-vm-ips shards equals the unsharded run, scopes included", async () => {
    const run = async (extra: string[], out: string) => {
      const r = await cli(["azure-vm-ips", "--simulate", ...extra, "-o", "json", "--out", out]);
      expect([0, 5], r.stderr).toContain(r.code);
      return JSON.parse(await readFile(join(work, out), "utf8")) as Omit<Doc, "items"> & {
        items: Array<{ vmId: string; subscriptionId: string }>;
      };
    };
    const all = await run([], "azure.json");
    const files: string[] = [];
    const covered: string[] = [];
    for (let i = 0; i < 3; i++) {
      const doc = await run(["--shard", `${i}/3`], `azure-${i}.json`);
      expect(doc.shard).toEqual({ index: i, count: 3 });
      covered.push(...(doc.scopes ?? []));
      files.push(`azure-${i}.json`);
    }
    const subscriptions = new Set(all.items.map((v) => v.subscriptionId.toLowerCase()));
    for (const s of subscriptions) expect(covered.map((c) => c.toLowerCase())).toContain(s);
    const r = await cli(["merge", ...files, "-o", "json"]);
    expect(r.code, r.stderr).toBe(0);
    const merged = JSON.parse(r.stdout) as { items: Array<{ vmId: string }> };
    expect(merged.items.map((v) => v.vmId).sort()).toEqual(all.items.map((v) => v.vmId).sort());
  }, 120_000);

  it("reports a missing shard as an errors entry (exit 5)", async () => {
    const files = [await shardRun(0, 3), await shardRun(2, 3)];
    const r = await cli(["merge", ...files, "-o", "json"]);
    expect(r.code).toBe(5);
    const doc = JSON.parse(r.stdout) as Doc;
    expect(doc.errors).toContainEqual(
      expect.objectContaining({ scope: "ec2-ips shard 1/3", phase: "merge", code: "ERR_PARTIAL" }),
    );
    expect(r.stderr).toMatch(/shard 1\/3 of ec2-ips is missing/);
    // The items of the shards that are there are all written.
    const there = await Promise.all(
      files.map(async (f) => JSON.parse(await readFile(join(work, f), "utf8")) as Doc),
    );
    expect(ids(doc)).toEqual(there.flatMap(ids).sort());
  }, 60_000);

  it("reports a scope an item belongs to that no shard says it covered (exit 5)", async () => {
    const file = await shardRun(0, 1);
    const doc = JSON.parse(await readFile(join(work, file), "utf8")) as Doc;
    const dropped = doc.items[0]?.accountId as string;
    doc.scopes = (doc.scopes ?? []).filter((s) => s !== dropped);
    await writeFile(join(work, "uncovered.json"), JSON.stringify(doc));
    const r = await cli(["merge", "uncovered.json", "-o", "json"]);
    expect(r.code).toBe(5);
    expect((JSON.parse(r.stdout) as Doc).errors).toContainEqual(
      expect.objectContaining({ scope: dropped, phase: "merge", code: "ERR_PARTIAL" }),
    );
  }, 60_000);

  it("refuses mixed commands, mixed shard counts and bad shards with one line and exit 2", async () => {
    const a = await shardRun(0, 2);
    const b = await shardRun(1, 3);
    const azure = {
      command: "azure-vm-ips",
      generatedAt: new Date().toISOString(),
      items: [],
      errors: [],
      summary: {},
      shard: { index: 1, count: 2 },
      scopes: [],
    };
    await writeFile(join(work, "azure-1.json"), JSON.stringify(azure));
    await writeFile(join(work, "bad-3-3.json"), JSON.stringify({ ...azure, shard: { index: 3, count: 3 } }));
    await writeFile(join(work, "bad-neg.json"), JSON.stringify({ ...azure, shard: { index: -1, count: 2 } }));
    const cases: Array<[string[], RegExp]> = [
      [[a, "azure-1.json"], /different commands/],
      [[a, b], /different shard counts/],
      [[a, a], /both shard 0\/2/],
      [["bad-3-3.json"], /shard .* is not valid/],
      [["bad-neg.json"], /shard .* is not valid/],
      [["ec2.json"], /not a shard document/],
    ];
    for (const [files, message] of cases) {
      const r = await cli(["merge", ...files, "-o", "json"]);
      expect(r.code, files.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
    for (const shard of ["3/3", "-1/2"]) {
      const r = await cli(["ec2-ips", "--simulate", "--shard", shard, "-o", "json"]);
      expect(r.code, shard).toBe(2);
      expect(r.stdout).toBe("");
    }
  }, 60_000);
});
