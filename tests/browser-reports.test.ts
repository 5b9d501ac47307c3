/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync, crc32 } from "node:zlib";
import { promisify } from "node:util";
import { findChromium, generateDataset, needsTool } from "@cloudadmin/cloud-sim";
import { createReportCollector, renderReport } from "@cloudadmin/report";
import { type Browser, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The HTML reports opened in a real headless Chromium (the Debian package, driven by playwright-core):
 * no console error, no network request, search, sort and filters work, the leak chart draws, the photo
 * sheet shows the images, and hostile strings stay text. Screenshots go to tests/artifacts/ (ignored
 * by git). Outside CI a machine without Chromium skips these tests and says why; in CI it fails.
 */
const executablePath = findChromium();
// Missing outside CI: skipped with a printed reason; missing in CI: run, so beforeAll fails.
const runBrowserTests = executablePath !== undefined || needsTool("chromium");
const ARTIFACTS = new URL("./artifacts/screenshots/", import.meta.url).pathname;

/** Strings a cloud might hand us that must never become markup or script. */
const HOSTILE_VM = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">`;
const HOSTILE_KEY = `"><svg onload="window.__pwned=3">`;

let browser: Browser;
let dir: string;

interface Opened {
  page: Page;
  consoleErrors: string[];
  requests: string[];
}

async function open(name: string, html: string): Promise<Opened> {
  const file = join(dir, `${name}.html`);
  await writeFile(file, html);
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const consoleErrors: string[] = [];
  const requests: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => consoleErrors.push(e.message));
  page.on("request", (r) => {
    const url = r.url();
    // The page itself and the photos beside it are files; anything else is a network request.
    if (!url.startsWith(`file://${dir}/`) && !url.startsWith("data:")) requests.push(url);
  });
  await page.goto(`file://${file}`);
  await page.waitForSelector("body[data-ready]", { timeout: 20_000 });
  return { page, consoleErrors, requests };
}

async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

async function expectClean(opened: Opened): Promise<void> {
  expect(opened.consoleErrors).toEqual([]);
  expect(opened.requests).toEqual([]);
  expect(await opened.page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
}

/** The cells of the rows drawn in the virtual table (only those in view exist). */
function visibleRows(page: Page, table = ".vt"): Promise<string[][]> {
  return page.$$eval(`${table} .vt-row:not([hidden])`, (rows) =>
    rows.map((r) => [...r.children].map((c) => c.textContent ?? "")),
  );
}

/** A real PNG (RGB, `size` x `size`, noisy so it does not compress below the inline limit). */
function png(size: number, seed: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body) >>> 0, body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const raw = Buffer.alloc(size * (size * 3 + 1));
  let x = seed;
  for (let i = 0; i < raw.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    raw[i] = i % (size * 3 + 1) === 0 ? 0 : (x >>> 16) & 0xff;
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

function inventoryItems(n: number) {
  const states = ["running", "deallocated", "stopped"];
  return Array.from({ length: n }, (_, i) => ({
    subscriptionId: `0000${i % 9}`,
    subscriptionName: i === 7 ? HOSTILE_VM : `sub-${i % 9}`,
    resourceGroup: `rg-${i % 4}`,
    location: ["westeurope", "eastus", "japaneast"][i % 3],
    vmId: `/subscriptions/0000${i % 9}/resourceGroups/rg-${i % 4}/providers/Microsoft.Compute/virtualMachines/vm-${String(i).padStart(5, "0")}`,
    vmName: i === 11 ? HOSTILE_VM : `vm-${String(i).padStart(5, "0")}`,
    powerState: states[i % 3],
    privateIps: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`],
    publicIps: i % 4 === 0 ? [`20.1.${(i >> 8) & 255}.${i & 255}`] : [],
  }));
}

describe.runIf(runBrowserTests)("HTML reports in headless Chromium", () => {
  beforeAll(async () => {
    if (!executablePath)
      throw new Error("CI is set but Chromium is missing: install the Debian package chromium");
    dir = await mkdtemp(join(tmpdir(), "browser-reports-"));
    browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu"] });
  });
  afterAll(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("inventory: search filters, sorting, state and public-IP filters, hostile names stay text", async () => {
    const items = inventoryItems(5000);
    const opened = await open(
      "inventory",
      await renderReport({
        command: "azure-vm-ips",
        generatedAt: "2026-12-04T20:00:00.000Z",
        items,
        summary: { vms: items.length },
        errors: [{ scope: "sub-x", phase: "resources-query", code: "ERR_THROTTLED", message: HOSTILE_VM }],
      }),
    );
    const { page } = opened;
    await screenshot(page, "inventory");
    expect(await page.textContent("#count")).toBe("5,000 of 5,000 rows");
    // Only the rows in view are in the DOM.
    const drawn = await visibleRows(page);
    expect(drawn.length).toBeGreaterThan(10);
    expect(drawn.length).toBeLessThan(100);

    await page.fill("#search", "vm-04242");
    expect(await page.textContent("#count")).toBe("1 of 5,000 rows");
    const [found] = await visibleRows(page);
    expect(found).toContain("vm-04242");

    // Hostile strings: found by search and shown exactly as text.
    await page.fill("#search", "<script>");
    const hostile = await visibleRows(page);
    expect(hostile.length).toBe(
      items.filter((i) => i.vmName === HOSTILE_VM || i.subscriptionName === HOSTILE_VM).length,
    );
    expect(hostile.some((r) => r.includes(HOSTILE_VM))).toBe(true);
    expect(await page.$$eval("img, svg:not(.uplot svg)", (n) => n.length)).toBe(0);
    expect(await page.$$eval("script", (n) => n.length)).toBe(2);
    expect(await page.textContent("table.static")).toBeTruthy();
    await page.fill("#search", "");

    await page.selectOption("#state-filter", "deallocated");
    const states = (await visibleRows(page)).map((r) => r[4]);
    expect(new Set(states)).toEqual(new Set(["deallocated"]));
    expect(await page.textContent("#count")).toBe(
      `${items.filter((i) => i.powerState === "deallocated").length.toLocaleString("en")} of 5,000 rows`,
    );
    await page.selectOption("#state-filter", "");
    await page.check("#public-only");
    const publics = await visibleRows(page);
    expect(publics.every((r) => (r[6] ?? "") !== "")).toBe(true);
    expect(await page.textContent("#count")).toBe("1,250 of 5,000 rows");
    await page.uncheck("#public-only");

    // Sort by name: ascending, then descending on a second click.
    await page.click('.vt-head button[data-column="3"]');
    const ascending = (await visibleRows(page)).map((r) => r[3] ?? "");
    expect(ascending.slice(0, 3)).toEqual([HOSTILE_VM, "vm-00000", "vm-00001"]);
    await page.click('.vt-head button[data-column="3"]');
    const descending = (await visibleRows(page)).map((r) => r[3] ?? "");
    expect(descending.slice(0, 2)).toEqual(["vm-04999", "vm-04998"]);

    // Scrolling draws the rows further down.
    await page.$eval(".vt-body", (b) => {
      b.scrollTop = 24 * 3000;
      b.dispatchEvent(new Event("scroll"));
    });
    await page.waitForFunction(() =>
      document.querySelector(".vt-row:not([hidden])")?.textContent?.includes("vm-02"),
    );
    await expectClean(opened);
    await page.close();
  });

  it("a report the CLI wrote from the simulator: every VM listed, a hostile VM name stays text", async () => {
    const dataset = generateDataset({ scale: "small", seed: 1, services: ["arg"] });
    const vm = dataset.azure?.resources.find((r) => r.type === "microsoft.compute/virtualmachines");
    if (!vm) throw new Error("no VM in the dataset");
    vm.name = HOSTILE_VM;
    const datasetFile = join(dir, "hostile-dataset.json");
    await writeFile(datasetFile, JSON.stringify(dataset));
    const reportFile = join(dir, "cli-azure.html");
    const cli = new URL("../apps/cli/bin/cloudadmin.js", import.meta.url).pathname;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        cli,
        "azure-vm-ips",
        "--simulate",
        "--sim-dataset",
        datasetFile,
        "-o",
        "json",
        "--no-progress",
        "--report",
        reportFile,
      ],
      { maxBuffer: 64 * 2 ** 20 },
    );
    const items = (JSON.parse(stdout) as { items: Array<{ vmName: string }> }).items;
    const opened = await open("cli-azure", await readFile(reportFile, "utf8"));
    const { page } = opened;
    expect(await page.textContent("#count")).toBe(`${items.length} of ${items.length} rows`);
    await page.fill("#search", "onerror");
    const rows = await visibleRows(page);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain(HOSTILE_VM);
    await expectClean(opened);
    await page.close();
  });

  it("leak: the chart draws its four series and the limit line, and marks the OOM kill", async () => {
    const MiB = 2 ** 20;
    const t0 = Date.UTC(2026, 11, 4, 20, 0, 0);
    const samples = Array.from({ length: 80 }, (_, i) => ({
      t: new Date(t0 + i * 250).toISOString(),
      phase: "touched",
      block: i + 1,
      allocatedBytes: (i + 1) * 8 * MiB,
      touchedBytes: (i + 1) * 4 * MiB,
      rssBytes: ((i + 1) * 4 + 45) * MiB,
      cgroup: {
        limitBytes: 512 * MiB,
        workingSetBytes: ((i + 1) * 4 + 60) * MiB,
        oomEvents: 0,
        oomKillEvents: i === 79 ? 1 : 0,
      },
    }));
    const opened = await open(
      "leak",
      await renderReport({ command: "leak-memory", generatedAt: "2026-12-04T20:00:30.000Z", items: samples }),
    );
    const { page } = opened;
    await screenshot(page, "leak");
    const chart = await page.evaluate(() => {
      const report = (
        window as unknown as {
          cloudadminReport: { chart: { series: Array<{ label: string }>; data: unknown[][] } };
        }
      ).cloudadminReport;
      return {
        labels: report.chart.series.map((s) => s.label),
        lengths: report.chart.data.map((d) => d.length),
      };
    });
    expect(chart.labels.slice(1)).toEqual(["allocated", "touched", "RSS", "working set", "cgroup limit"]);
    expect(chart.lengths).toEqual([80, 80, 80, 80, 80, 80]);
    // Pixels of each series' colour are on the canvas; the limit line sits at 512 MiB.
    const drawn = await page.evaluate(() => {
      const report = (
        window as unknown as {
          cloudadminReport: {
            chart: {
              ctx: CanvasRenderingContext2D;
              valToPos(v: number, s: string, c: boolean): number;
              bbox: { left: number; width: number };
            };
          };
        }
      ).cloudadminReport;
      const u = report.chart;
      const canvas = u.ctx.canvas;
      const pixels = u.ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      const colours: Record<string, [number, number, number]> = {
        allocated: [0x7b, 0x61, 0xff],
        touched: [0x00, 0xa3, 0xa3],
        rss: [0xe6, 0x8a, 0x00],
        workingSet: [0x1f, 0x6f, 0xeb],
        limit: [0xb0, 0x00, 0x20],
      };
      const counts: Record<string, number> = {};
      for (const [name, [r, g, b]] of Object.entries(colours)) {
        let n = 0;
        for (let i = 0; i < pixels.length; i += 4) {
          if (
            Math.abs((pixels[i] ?? 0) - r) < 24 &&
            Math.abs((pixels[i + 1] ?? 0) - g) < 24 &&
            Math.abs((pixels[i + 2] ?? 0) - b) < 24
          )
            n++;
        }
        counts[name] = n;
      }
      const y = Math.round(u.valToPos(512, "y", true));
      let onLimit = 0;
      for (let x = Math.round(u.bbox.left); x < u.bbox.left + u.bbox.width; x += 3) {
        const at = (y * canvas.width + x) * 4;
        const [r, g, b] = [pixels[at] ?? 0, pixels[at + 1] ?? 255, pixels[at + 2] ?? 255];
        if (r > 140 && g < 60 && b < 80) onLimit++;
      }
      return { counts, onLimit };
    });
    for (const [name, n] of Object.entries(drawn.counts)) expect(n, name).toBeGreaterThan(50);
    expect(drawn.onLimit).toBeGreaterThan(20);
    expect(await page.textContent("ul.events")).toContain("OOM kill");
    await expectClean(opened);
    await page.close();
  });

  it("photos: the sheet shows the saved images (inline and beside the report) and lists who was left out", async () => {
    const photos = join(dir, "photos");
    await mkdir(photos, { recursive: true });
    const saved = [
      { key: "1001", bytes: png(8, 1) },
      { key: "1002", bytes: png(128, 2) }, // > 16 KiB: linked, not inlined
      { key: HOSTILE_KEY.replace(/[/\\]/g, ""), bytes: png(8, 3) },
    ];
    const report = createReportCollector("user-photos", { reportDir: dir });
    for (const [i, p] of saved.entries()) {
      const file = join(photos, `${p.key}.png`);
      await writeFile(file, p.bytes);
      report.add({
        userId: `u${i}`,
        userPrincipalName: `user${i}@contoso.example`,
        key: p.key,
        status: i === 1 ? "unchanged" : "saved",
        bytes: p.bytes.length,
        contentType: "image/png",
        file,
      });
    }
    report.add({
      userId: "u9",
      userPrincipalName: "nophoto@contoso.example",
      key: "1009",
      status: "no-photo",
      bytes: 0,
      reason: "ImageNotFound",
    });
    report.add({
      userId: "u8",
      userPrincipalName: "dup@contoso.example",
      key: "../../etc/passwd",
      status: "invalid-key",
      bytes: 0,
      reason: HOSTILE_VM,
    });
    const opened = await open("photos", await report.render({ generatedAt: "2026-12-04T20:00:00.000Z" }));
    const { page } = opened;
    await page.waitForFunction(() => [...document.images].every((img) => img.complete));
    await screenshot(page, "photos");
    const images = await page.$$eval(".sheet img", (imgs) =>
      imgs.map((img) => ({
        alt: img.getAttribute("alt"),
        width: (img as HTMLImageElement).naturalWidth,
        src: img.getAttribute("src")?.slice(0, 22),
      })),
    );
    expect(images.map((i) => i.alt).sort()).toEqual(saved.map((p) => p.key).sort());
    expect(images.map((i) => i.width).sort((a, b) => a - b)).toEqual([8, 8, 128]);
    expect(images.filter((i) => i.src?.startsWith("data:image/png")).length).toBe(2);
    const left = await page.textContent("table.static");
    expect(left).toContain("ImageNotFound");
    expect(left).toContain(HOSTILE_VM);
    expect(await page.$$eval("svg, img:not(.sheet img)", (n) => n.length)).toBe(0);
    await expectClean(opened);
    await page.close();
  });

  it("zoom-licenses and doctor: the plan with its reasons, the provider cards, hostile names as text", async () => {
    const zoomItems = [
      {
        email: "a@contoso.example",
        displayName: HOSTILE_VM,
        type: 2,
        lastLoginTime: "2025-01-01T00:00:00Z",
        inactiveDays: 337,
        action: "downgrade",
        reason: "inactive: last login 2025-01-01",
        result: "applied",
      },
      {
        email: "b@contoso.example",
        displayName: "Bea",
        type: 2,
        lastLoginTime: "2026-11-30T00:00:00Z",
        inactiveDays: 4,
        action: "keep",
        reason: "active within the period",
        result: "planned",
      },
      {
        email: "c@contoso.example",
        displayName: "Cy",
        type: 2,
        lastLoginTime: null,
        inactiveDays: null,
        action: "downgrade",
        reason: "never logged in, created 2024-01-01",
        result: "failed",
      },
    ];
    const zoom = await open(
      "zoom",
      await renderReport({
        command: "zoom-licenses",
        generatedAt: "2026-12-04T20:00:00.000Z",
        items: zoomItems,
      }),
    );
    await screenshot(zoom.page, "zoom");
    const text = await zoom.page.textContent("main");
    expect(text).toContain("Plan: 2 to downgrade to Basic, 1 kept");
    expect(text).toContain("active within the period");
    expect(text).toContain("Results");
    await zoom.page.fill("#down-search", "contoso");
    expect(await zoom.page.textContent("#down-count")).toBe("2 of 2 rows");
    expect((await visibleRows(zoom.page)).some((r) => r.includes(HOSTILE_VM))).toBe(true);
    await expectClean(zoom);
    await zoom.page.close();

    const doctor = await open(
      "doctor",
      await renderReport({
        command: "doctor",
        generatedAt: "2026-12-04T20:00:00.000Z",
        items: [
          {
            provider: "azure-arm",
            status: "ok",
            credentials: "CLOUDADMIN_ARM_TOKEN",
            endpoint: "http://127.0.0.1:1/",
            identity: "sim",
            message: "",
          },
          {
            provider: "graph",
            status: "failed",
            credentials: "DefaultAzureCredential",
            endpoint: "https://graph.microsoft.com",
            identity: null,
            message: HOSTILE_VM,
          },
          {
            provider: "zoom",
            status: "not-configured",
            credentials: null,
            endpoint: null,
            identity: null,
            message: "ZOOM_ACCOUNT_ID is not set",
          },
        ],
      }),
    );
    await screenshot(doctor.page, "doctor");
    expect(await doctor.page.$$eval(".card", (cards) => cards.map((c) => c.className))).toEqual([
      "card status-ok",
      "card status-failed",
      "card status-not-configured",
    ]);
    expect(await doctor.page.textContent(".card.status-failed")).toContain(HOSTILE_VM);
    await expectClean(doctor);
    await doctor.page.close();
  });
});
