import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createReportCollector, renderReport } from "./index.js";

/** The data block of a rendered page, parsed back. */
function dataOf(html: string): Record<string, unknown> {
  const match = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  if (!match?.[1]) throw new Error("no data block");
  return JSON.parse(match[1]) as Record<string, unknown>;
}

const HOSTILE = '</script><script>alert(1)</script><!-- <img src=x onerror="alert(2)">\u2028';

describe("renderReport", () => {
  it("is one self-contained page: no external URL, scripts allowed by hash only, no network in the CSP", async () => {
    const html = await renderReport({
      command: "leak-memory",
      generatedAt: "2026-12-01T00:00:00.000Z",
      items: [],
    });
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
    const csp = /Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'sha256-[^']+' 'sha256-[^']+';/); // uPlot and the page script
    expect(csp).not.toContain("unsafe-inline' 'sha");
    expect(html).toContain("uPlot");
  });

  it("keeps hostile cloud strings inside the JSON block, never as markup", async () => {
    const html = await renderReport({
      command: "azure-vm-ips",
      generatedAt: "2026-12-01T00:00:00.000Z",
      items: [
        { subscriptionName: HOSTILE, vmName: HOSTILE, vmId: "/x", privateIps: ["10.0.0.1"], publicIps: [] },
      ],
      errors: [{ scope: HOSTILE, phase: "p", code: "c", message: HOSTILE }],
      summary: { note: HOSTILE },
      title: "t",
    } as never);
    // Only the page's own scripts open or close a script element.
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html.match(/<\/script>/g)).toHaveLength(2);
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<!-- <");
    expect(html).not.toContain("\u2028");
    const data = dataOf(html);
    expect((data.rows as string[][])[0]?.[0]).toBe(HOSTILE);
    expect((data.errors as Array<{ message: string }>)[0]?.message).toBe(HOSTILE);
  });
});

describe("inventory", () => {
  it("totals per scope and region, rows in natural order, for azure and aws records and ips find records", async () => {
    const report = createReportCollector("azure-vm-ips");
    report.add({
      subscriptionName: "prod",
      resourceGroup: "b",
      location: "eu",
      vmName: "vm2",
      vmId: "/2",
      powerState: "running",
      privateIps: ["10.0.0.2"],
      publicIps: ["20.0.0.2"],
    });
    report.add({
      subscriptionName: "dev",
      resourceGroup: "a",
      location: "us",
      vmName: "vm1",
      vmId: "/1",
      powerState: null,
      privateIps: ["10.0.0.1", "fd00::1"],
      publicIps: [],
    });
    report.add({
      subscriptionName: "prod",
      resourceGroup: "a",
      location: "eu",
      vmName: "vm10",
      vmId: "/10",
      powerState: "deallocated",
      privateIps: [],
      publicIps: [],
    });
    const data = dataOf(await report.render({ generatedAt: "2026-12-01T00:00:00.000Z" }));
    expect(data.columns).toEqual([
      "scope",
      "group",
      "region",
      "name",
      "state",
      "private IPs",
      "public IPs",
      "id",
    ]);
    expect((data.rows as string[][]).map((r) => r[3])).toEqual(["vm1", "vm10", "vm2"]);
    expect(data.totals).toEqual({
      scopes: [
        { scope: "dev", items: 1, publicIps: 0, privateIps: 2 },
        { scope: "prod", items: 2, publicIps: 1, privateIps: 1 },
      ],
      regions: [
        { region: "eu", items: 2, publicIps: 1, privateIps: 1 },
        { region: "us", items: 1, publicIps: 0, privateIps: 2 },
      ],
    });
    const ec2 = createReportCollector("ec2-ips");
    ec2.add({
      accountId: "1",
      accountName: "a",
      region: "r",
      instanceId: "i-1",
      state: "running",
      name: null,
      privateIps: ["10.1.1.1"],
      publicIps: [],
      ipv6Ips: ["2600::1"],
    });
    const e = dataOf(await ec2.render({ generatedAt: "x" }));
    expect(e.columns).toEqual(["scope", "region", "name", "state", "private IPs", "public IPs", "id"]);
    expect((e.rows as string[][])[0]).toEqual(["a", "r", "i-1", "running", "10.1.1.1, 2600::1", "", "i-1"]);
    const find = createReportCollector("ips");
    find.add({
      ip: "20.0.0.1",
      visibility: "public",
      cloud: "azure",
      accountId: "s",
      accountName: "sub",
      region: "eu",
      resourceId: "/vm",
      resourceName: "vm",
      state: "running",
    });
    const f = dataOf(await find.render({ generatedAt: "x" }));
    expect(f.columns).toContain("cloud");
    expect((f.rows as string[][])[0]).toEqual(["sub", "eu", "vm", "running", "", "20.0.0.1", "/vm", "azure"]);
    const diff = createReportCollector("ips");
    const holder = (name: string, state: string) => ({
      ip: "10.0.0.9",
      visibility: "private",
      cloud: "aws",
      accountId: "1",
      accountName: "a",
      region: "r",
      resourceId: name,
      resourceName: name,
      state,
    });
    diff.add({
      change: "moved",
      ip: "10.0.0.9",
      before: holder("i-old", "running"),
      after: holder("i-new", "running"),
    });
    diff.add({ change: "removed", ip: "10.0.0.9", before: holder("i-gone", "terminated"), after: null });
    const d = dataOf(await diff.render({ generatedAt: "x" }));
    expect(d.columns).toEqual([
      "scope",
      "region",
      "name",
      "state",
      "private IPs",
      "public IPs",
      "id",
      "cloud",
      "change",
      "before",
    ]);
    expect(d.rows).toEqual([
      ["a", "r", "i-gone", "terminated", "10.0.0.9", "", "i-gone", "aws", "removed", ""],
      ["a", "r", "i-new", "running", "10.0.0.9", "", "i-new", "aws", "moved", "i-old, running"],
    ]);
  });
});

describe("photos", () => {
  it("inlines small photos, links large ones relative to the report, and lists the users left out", async () => {
    const dir = await mkdtemp(join(tmpdir(), "report-photos-"));
    await writeFile(join(dir, "small.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    const report = createReportCollector("user-photos", {
      reportDir: join(dir, "reports"),
      inlinePhotoBytes: 10,
    });
    report.add({
      userPrincipalName: "a@x",
      key: "small",
      status: "saved",
      bytes: 4,
      contentType: "image/png",
      file: join(dir, "small.png"),
    });
    report.add({
      userPrincipalName: "b@x",
      key: "big #1",
      status: "unchanged",
      bytes: 5000,
      contentType: "image/jpeg",
      file: join(dir, "big #1.jpg"),
    });
    report.add({
      userPrincipalName: "c@x",
      key: "../x",
      status: "invalid-key",
      bytes: 0,
      reason: "leaves the folder",
    });
    const data = dataOf(await report.render({ generatedAt: "x" }));
    expect(data.photos).toEqual([
      { key: "big #1", user: "b@x", status: "unchanged", bytes: 5000, src: "../big%20%231.jpg" },
      { key: "small", user: "a@x", status: "saved", bytes: 4, src: "data:image/png;base64,iVBORw==" },
    ]);
    expect(data.left).toEqual([
      { key: "../x", user: "c@x", status: "invalid-key", reason: "leaves the folder" },
    ]);
  });
});

describe("zoom-licenses", () => {
  it("tells a plan, an apply and a restore apart", async () => {
    const mode = async (items: object[]) => {
      const r = createReportCollector("zoom-licenses");
      for (const i of items) r.add(i);
      return dataOf(await r.render({ generatedAt: "x" })).mode;
    };
    expect(await mode([{ email: "a", action: "downgrade", result: "planned" }])).toBe("plan");
    expect(await mode([{ email: "a", action: "downgrade", result: "applied" }])).toBe("apply");
    expect(await mode([{ email: "a", action: "restore", result: "applied" }])).toBe("restore");
  });
});

describe("leak-memory", () => {
  const MiB = 2 ** 20;
  const sample = (s: number, phase: string, mib: number, kills = 0) => ({
    t: new Date(Date.UTC(2026, 11, 1, 0, 0, s)).toISOString(),
    phase,
    block: s,
    allocatedBytes: mib * MiB,
    touchedBytes: mib * MiB,
    rssBytes: mib * MiB,
    cgroup: { limitBytes: 100 * MiB, workingSetBytes: mib * MiB, oomEvents: kills, oomKillEvents: kills },
  });

  it("charts the samples in time order and marks the OOM kill", async () => {
    const samples = [sample(2, "touched", 99, 1), sample(0, "touched", 10), sample(1, "touched", 95)];
    const html = await renderReport({ command: "leak-memory", generatedAt: "x", items: samples });
    const data = dataOf(html);
    expect(data.t).toEqual([0, 1, 2]);
    expect(data.workingSet).toEqual([10, 95, 99]);
    expect(data.limit).toBe(100);
    expect(data.events).toEqual([
      { t: 2, label: "cgroup limit hit (oom event)" },
      { t: 2, label: "OOM kill in the cgroup" },
      { t: 2, label: "samples end near the limit: OOM-killed" },
    ]);
  });

  it("marks nothing when the run held and released", async () => {
    const html = await renderReport({
      command: "leak-memory",
      generatedAt: "x",
      items: [sample(0, "touched", 10), sample(1, "holding", 95), sample(2, "released", 5)],
    });
    expect(dataOf(html).events).toEqual([]);
  });
});
