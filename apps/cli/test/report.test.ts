import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { BlobServiceClient } from "@azure/storage-blob";
import { generateDataset, startAzurite } from "@cloudadmin/cloud-sim";
import stringWidth from "string-width";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIo } from "../src/io.js";
import { run } from "../src/run.js";
import { Capture, runCli } from "./helpers.js";

/** The report's data block, parsed back. */
function reportData(html: string): Record<string, unknown> {
  const match = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  if (!match?.[1]) throw new Error("no data block in the report");
  return JSON.parse(match[1]) as Record<string, unknown>;
}

/** Runs the CLI with stdout as a terminal of `columns` columns. */
async function runOnTerminal(argv: string[], columns: number) {
  const stdout = Object.assign(new Capture(true), { columns });
  const stderr = new Capture(false);
  const stdin = new PassThrough();
  stdin.end();
  const io: CliIo = { stdout, stderr, stdin, env: { PATH: process.env.PATH }, cwd: process.cwd() };
  const code = await run(argv, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe("--report", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cli-report-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes an inventory report beside the json: every item, totals per subscription", async () => {
    const file = join(dir, "vms.html");
    const r = await runCli(["azure-vm-ips", "--simulate", "-o", "json", "--no-progress", "--report", file]);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      generatedAt: string;
      items: Array<{ vmId: string; subscriptionName: string }>;
    };
    const html = await readFile(file, "utf8");
    const data = reportData(html);
    expect(data.kind).toBe("inventory");
    expect(data.command).toBe("azure-vm-ips");
    expect(data.generatedAt).toBe(doc.generatedAt);
    const rows = data.rows as string[][];
    const idColumn = (data.columns as string[]).indexOf("id");
    expect(rows.map((row) => row[idColumn]).sort()).toEqual(doc.items.map((i) => i.vmId).sort());
    const totals = data.totals as { scopes: Array<{ scope: string; items: number }> };
    const perSubscription = new Map<string, number>();
    for (const i of doc.items)
      perSubscription.set(i.subscriptionName, (perSubscription.get(i.subscriptionName) ?? 0) + 1);
    expect(new Map(totals.scopes.map((s) => [s.scope, s.items]))).toEqual(perSubscription);
    // Atomic like --out: no temp file is left beside it.
    expect((await readdir(dir)).filter((f) => f.startsWith("vms"))).toEqual(["vms.html"]);
  });

  it("writes a photo sheet whose images point at the saved files", async () => {
    const photos = join(dir, "photos");
    const file = join(dir, "photos.html");
    const r = await runCli([
      "user-photos",
      "--simulate",
      "--out-dir",
      photos,
      "-o",
      "json",
      "--no-progress",
      "--report",
      file,
    ]);
    expect([0, 5], r.stderr).toContain(r.code);
    const doc = JSON.parse(r.stdout) as {
      items: Array<{ key: string; status: string; file: string | null }>;
    };
    const data = reportData(await readFile(file, "utf8"));
    const sheet = data.photos as Array<{ key: string; src: string | null }>;
    const saved = doc.items.filter((i) => i.status === "saved");
    expect(saved.length).toBeGreaterThan(0);
    expect(sheet.map((p) => p.key).sort()).toEqual(saved.map((i) => i.key).sort());
    for (const p of sheet) {
      expect(p.src).not.toBeNull();
      if (!p.src?.startsWith("data:image/")) {
        // A path relative to the report that names a file that exists.
        const files = await readdir(photos);
        expect(files).toContain(decodeURIComponent((p.src ?? "").replace(/^photos\//, "")));
      }
    }
    const left = data.left as Array<{ status: string; reason: string }>;
    expect(left.length).toBe(doc.items.length - saved.length);
  });

  it("leak-memory report renders an earlier run's --json samples, cut last line and all", async () => {
    const leak = await runCli(["leak-memory", "-m", "8", "-x", "32", "--hold", "0s", "--json"]);
    expect(leak.code, leak.stderr).toBe(0);
    const samplesFile = join(dir, "samples.ndjson");
    // As an OOM kill leaves it: the last line half written.
    await writeFile(samplesFile, `${leak.stdout}{"t":"2026-`);
    const file = join(dir, "leak.html");
    const r = await runCli(["leak-memory", "report", samplesFile, "--report", file]);
    expect(r.code, r.stderr).toBe(0);

    const data = reportData(await readFile(file, "utf8"));
    const samples = leak.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { allocatedBytes: number });
    expect(data.kind).toBe("leak");
    expect((data.t as number[]).length).toBe(samples.length);
    expect(Math.max(...(data.allocated as number[]))).toBe(32);
    // Without --report the page goes to stdout.
    const stdout = await runCli(["leak-memory", "report", samplesFile]);
    expect(stdout.stdout.startsWith("<!doctype html>")).toBe(true);
    const missing = await runCli(["leak-memory", "report", join(dir, "none.ndjson")]);
    expect(missing.code).toBe(2);
    // A damaged line in the middle is refused by memory-leaker's reader, naming the line.
    const damaged = join(dir, "damaged.ndjson");
    const lines = leak.stdout.trim().split("\n");
    await writeFile(damaged, `${lines[0]}\nnot json\n${lines.slice(1).join("\n")}\n`);
    const refused = await runCli(["leak-memory", "report", damaged]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/damaged\.ndjson line 2/);
  });

  it("a live leak-memory run writes its own report when it ends", async () => {
    const file = join(dir, "live-leak.html");
    const r = await runCli(["leak-memory", "-m", "8", "-x", "24", "--hold", "0s", "--report", file]);
    expect(r.code, r.stderr).toBe(0);
    const data = reportData(await readFile(file, "utf8"));
    expect(data.kind).toBe("leak");
    expect(Math.max(...(data.allocated as number[]))).toBe(24);
    const bad = await runCli(["leak-memory", "-m", "8", "-x", "24", "--report", join(dir, "no", "x.html")]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).not.toMatch(/Allocating memory complete/);
  });

  it("uploads the report to Blob storage as text/html (Azurite)", async () => {
    const azurite = await startAzurite();
    try {
      const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
      await service.getContainerClient("reports").createIfNotExists();
      const url = `${azurite.blobEndpoint}/reports/ec2-ips/latest.html`;
      const env = { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString };
      const r = await runCli(["ec2-ips", "--simulate", "-o", "json", "--no-progress", "--report", url], {
        env,
      });
      expect(r.code, r.stderr).toBe(0);
      const blob = service.getContainerClient("reports").getBlobClient("ec2-ips/latest.html");
      const props = await blob.getProperties();
      expect(props.contentType).toBe("text/html; charset=utf-8");
      const html = (await blob.downloadToBuffer()).toString("utf8");
      const data = reportData(html);
      expect(data.command).toBe("ec2-ips");
      expect((data.rows as unknown[]).length).toBe(
        (JSON.parse(r.stdout) as { items: unknown[] }).items.length,
      );
    } finally {
      await azurite.stop();
    }
  });

  it("refuses a report target in a folder that does not exist before any work (exit 2)", async () => {
    const r = await runCli([
      "azure-vm-ips",
      "--simulate",
      "-o",
      "json",
      "--no-progress",
      "--report",
      join(dir, "missing", "r.html"),
    ]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    // Nor is --out touched, and no temp file of either is left behind.
    const out = join(dir, "kept.json");
    await writeFile(out, "earlier");
    const both = await runCli([
      "azure-vm-ips",
      "--simulate",
      "--no-progress",
      "--out",
      out,
      "--report",
      join(dir, "missing", "r.html"),
    ]);
    expect(both.code).toBe(2);
    expect(await readFile(out, "utf8")).toBe("earlier");
    expect((await readdir(dir)).filter((f) => f.includes("kept"))).toEqual(["kept.json"]);
    const badOut = await runCli([
      "azure-vm-ips",
      "--simulate",
      "--no-progress",
      "--out",
      join(dir, "missing", "o.json"),
      "--report",
      join(dir, "r2.html"),
    ]);
    expect(badOut.code).toBe(2);
    expect((await readdir(dir)).filter((f) => f.includes("r2"))).toEqual([]);
  });
});

describe("-o table on a terminal", () => {
  it("strips terminal control sequences from names the cloud returns", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cli-table-hostile-"));
    try {
      const dataset = generateDataset({ scale: "small", seed: 1, services: ["arg"] });
      const azure = dataset.azure as NonNullable<typeof dataset.azure>;
      const vm = azure.resources.find((r) => r.type === "microsoft.compute/virtualmachines");
      if (!vm) throw new Error("no VM in the dataset");
      vm.name = "\u001b]0;pwned\u0007\u001b[2J\u001b[31mred-vm\u001b[0m\u009b1m";
      const sub = azure.subscriptions.find((s) => s.subscriptionId === vm.subscriptionId);
      if (sub) sub.displayName = "evil\u001b[1A\rsub";
      const file = join(dir, "hostile.json");
      await writeFile(file, JSON.stringify(dataset));
      const args = ["azure-vm-ips", "--simulate", "--sim-dataset", file, "-o", "table", "--no-progress"];
      const r = await runOnTerminal(args, 200);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
      expect(r.stdout).toMatch(/\nevil sub +rg-\S+ +red-vm +running/);
      const csv = await runCli([
        "azure-vm-ips",
        "--simulate",
        "--sim-dataset",
        file,
        "-o",
        "csv",
        "--no-progress",
      ]);
      expect(csv.code, csv.stderr).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  const azure = generateDataset({ scale: "small", seed: 1, services: ["arg"] }).azure;

  it("fits 80 columns, sorted by subscription name, resource group and VM, closed by a count line", async () => {
    const r = await runOnTerminal(["azure-vm-ips", "--simulate", "-o", "table", "--no-progress"], 80);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    for (const line of lines.slice(0, -1)) expect(stringWidth(line)).toBeLessThanOrEqual(80);
    expect(lines[0]).toMatch(/^subscript/);
    expect(lines.some((l) => l.includes("…"))).toBe(true);
    expect(lines.at(-1)).toMatch(/^\d+ items, 0 errors, vms: \d+/);
    const count = Number(/^(\d+) items/.exec(lines.at(-1) ?? "")?.[1]);
    expect(lines.length - 2).toBe(count);
    expect(count).toBeGreaterThan(10);

    const wide = await runOnTerminal(
      ["azure-vm-ips", "--simulate", "-o", "table", "--no-progress", "--wide"],
      80,
    );
    const wideLines = wide.stdout.trimEnd().split("\n");
    expect(wideLines.some((l) => l.includes("…"))).toBe(false);
    expect(Math.max(...wideLines.map((l) => stringWidth(l)))).toBeGreaterThan(80);
    // Sorted by the natural key: subscription name, then resource group, then VM name.
    const names = new Map((azure?.subscriptions ?? []).map((s) => [s.subscriptionId, s.displayName]));
    const firstColumn = wideLines.slice(1, -1).map((l) => l.split(/\s{2,}/)[0] ?? "");
    const sorted = [...firstColumn].sort((a, b) =>
      a.localeCompare(b, "en", { numeric: true, sensitivity: "base" }),
    );
    expect(firstColumn).toEqual(sorted);
    expect(new Set(firstColumn).size).toBeLessThanOrEqual(names.size);
  });
});
