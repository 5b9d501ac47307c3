import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type Simulator, type ZoomDataset, generateDataset, startSimulator } from "@cloudadmin/cloud-sim";
import {
  type LicenseRecord,
  type ZoomPlan,
  applyLicenseRecovery,
  createZoomClient,
  createZoomTokenProvider,
  planLicenseRecovery,
} from "@cloudadmin/zoom-licenses";
import { benchResult, measureRequestRate, timed } from "../measure.js";
import type { BenchContext, BenchResult } from "../scenario.js";

const LATENCY_MS = 100;
const PAGE_SIZE = 300;
/** The simulator's Light limits per plan (the PATCH's category; its bucket holds one second's worth). */
const LIGHT_PER_SECOND: Record<ZoomPlan, number> = { free: 4, pro: 30, business: 80 };
/** The original script's fixed pause after every call. */
const ORIGINAL_PAUSE_MS = 50;
/** Baseline PATCHes actually run (the whole 600 would take about 90 s); the rest is extrapolated. */
const BASELINE_CHANGES = 100;

/** A Zoom client signed in with the simulator's Server-to-Server OAuth app. */
function clientFor(
  env: Record<string, string>,
  options: Omit<Parameters<typeof createZoomClient>[0], "tokenProvider" | "apiUrl">,
) {
  return createZoomClient({
    tokenProvider: createZoomTokenProvider({
      credentials: {
        accountId: env.ZOOM_ACCOUNT_ID as string,
        clientId: env.ZOOM_CLIENT_ID as string,
        clientSecret: env.ZOOM_CLIENT_SECRET as string,
      },
      oauthUrl: env.ZOOM_OAUTH_URL as string,
    }),
    apiUrl: env.ZOOM_API_URL as string,
    ...options,
  });
}

/**
 * Three calendar months before `now`, by Date's own month arithmetic: the ground truth does not
 * lean on the library's cutoff (generated datasets' asOf is the 1st of a month, where the two agree).
 */
function threeMonthsBefore(now: number): number {
  const d = new Date(now);
  d.setUTCMonth(d.getUTCMonth() - 3);
  return d.getTime();
}

/** Ground truth: active Licensed users whose last login is older than 3 months before the dataset's asOf. */
function groundTruth(zoom: ZoomDataset, now: number): Set<string> {
  const cutoff = threeMonthsBefore(now);
  return new Set(
    zoom.users
      .filter(
        (u) =>
          u.status === "active" &&
          u.type === 2 &&
          u.last_login_time &&
          Date.parse(u.last_login_time) < cutoff,
      )
      .map((u) => u.id),
  );
}

/**
 * The model's lower bound for any client that keeps the job's contract (the whole plan is listed
 * and checked before the first change): one token request, then the page chain (each page needs
 * the previous page's next_page_token), then the PATCHes as fast as the Light bucket allows
 * (`light` at once, then `light` per second); the run ends when the last answer is back.
 */
function modelBoundMs(zoom: ZoomDataset, targets: Set<string>, light: number): { ms: number; pages: number } {
  const active = zoom.users.filter((u) => u.status === "active");
  const pages = Math.ceil(active.length / PAGE_SIZE);
  const listingDone = LATENCY_MS + pages * LATENCY_MS;
  const afterBurst = Math.max(0, targets.size - light);
  const lastSend = listingDone + (afterBurst / light) * 1000;
  return { ms: targets.size > 0 ? lastSend + LATENCY_MS : listingDone, pages };
}

/**
 * The highest request rate a bare HTTP client (fetch with a bearer token, not the library under
 * test) reaches against the same simulator with trivial requests (GET one user), limits lifted.
 */
async function calibrate(zoom: ZoomDataset): Promise<number> {
  const sim = await startSimulator({
    dataset: { zoom: { ...zoom, rateLimits: { light: { perSecond: 1e6 }, medium: { perSecond: 1e6 } } } },
    services: ["zoom"],
  });
  try {
    const env = sim.environment();
    const basic = Buffer.from(`${env.ZOOM_CLIENT_ID}:${env.ZOOM_CLIENT_SECRET}`).toString("base64");
    const tokenRes = await fetch(
      `${env.ZOOM_OAUTH_URL}?grant_type=account_credentials&account_id=${env.ZOOM_ACCOUNT_ID}`,
      { method: "POST", headers: { authorization: `Basic ${basic}` } },
    );
    const token = ((await tokenRes.json()) as { access_token: string }).access_token;
    const id = zoom.users.find((u) => u.status === "active")?.id as string;
    const url = `${env.ZOOM_API_URL}/users/${id}`;
    return await measureRequestRate(async () => {
      const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      if (res.status !== 200) throw new Error(`calibration GET answered ${res.status}`);
      await res.text();
    });
  } finally {
    await sim.close();
  }
}

/**
 * What RecoverZoomLicenses.ps1 did, over the same HTTP stack: list the pages one by one with a
 * 50 ms pause after each, then PATCH the selected users one by one with a 50 ms pause after each
 * (`{"type":"1"}`, as the script sent it). Runs the whole listing and the first BASELINE_CHANGES
 * PATCHes; the rest of the PATCH phase is extrapolated per change.
 */
async function baseline(zoom: ZoomDataset, now: number, signal: AbortSignal) {
  const sim = await startSimulator({ dataset: { zoom }, services: ["zoom"], latency: LATENCY_MS });
  try {
    const env = sim.environment();
    const started = performance.now();
    const basic = Buffer.from(`${env.ZOOM_CLIENT_ID}:${env.ZOOM_CLIENT_SECRET}`).toString("base64");
    const tokenRes = await fetch(
      `${env.ZOOM_OAUTH_URL}?grant_type=account_credentials&account_id=${env.ZOOM_ACCOUNT_ID}`,
      { method: "POST", headers: { authorization: `Basic ${basic}` }, signal },
    );
    const token = ((await tokenRes.json()) as { access_token: string }).access_token;
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const users: Array<{ id: string; type: number; last_login_time?: string }> = [];
    let next = "";
    do {
      const res = await fetch(
        `${env.ZOOM_API_URL}/users?status=active&page_size=${PAGE_SIZE}${next ? `&next_page_token=${next}` : ""}`,
        { headers, signal },
      );
      const body = (await res.json()) as { users: typeof users; next_page_token: string };
      users.push(...body.users);
      next = body.next_page_token;
      await sleep(ORIGINAL_PAUSE_MS, undefined, { signal });
    } while (next);
    const listMs = performance.now() - started;
    const cutoff = threeMonthsBefore(now);
    const selected = users.filter(
      (u) => u.type === 2 && u.last_login_time && Date.parse(u.last_login_time) < cutoff,
    );
    const patchStart = performance.now();
    for (const u of selected.slice(0, BASELINE_CHANGES)) {
      const res = await fetch(`${env.ZOOM_API_URL}/users/${u.id}`, {
        method: "PATCH",
        headers,
        body: JSON.stringify({ type: "1" }),
        signal,
      });
      if (res.status !== 204) throw new Error(`baseline PATCH answered ${res.status}`);
      await sleep(ORIGINAL_PAUSE_MS, undefined, { signal });
    }
    const patchMs = performance.now() - patchStart;
    const ran = Math.min(BASELINE_CHANGES, selected.length);
    return {
      ms: listMs + (patchMs / Math.max(1, ran)) * selected.length,
      measuredMs: listMs + patchMs,
      changesRun: ran,
      changesTotal: selected.length,
    };
  } finally {
    await sim.close();
  }
}

/** What a scenario varies: the account's plan and header form; the job always runs with its default plan. */
export interface ZoomScenarioOptions {
  scenario: string;
  plan: ZoomPlan;
  rateLimitHeaders?: ZoomDataset["rateLimitHeaders"];
}

/**
 * `zoom-recover` and its variants: the large dataset (9,000 users, 600 to downgrade) on the given
 * plan, planned and applied the way `cloudadmin zoom-licenses --apply --yes` does, with the
 * library's default pacing (no `plan` given to the client: Business).
 */
export async function runZoomScenario(ctx: BenchContext, options: ZoomScenarioOptions): Promise<BenchResult> {
  const generated = generateDataset({ scale: "large", seed: 1, services: ["zoom"] }).zoom as ZoomDataset;
  const zoom: ZoomDataset = {
    ...generated,
    plan: options.plan,
    ...(options.rateLimitHeaders ? { rateLimitHeaders: options.rateLimitHeaders } : {}),
  };
  const now = Date.parse(zoom.asOf as string);
  const truth = groundTruth(zoom, now);
  const bound = modelBoundMs(zoom, truth, LIGHT_PER_SECOND[options.plan]);
  ctx.log(`${zoom.users.length} users, ${bound.pages} pages of ${PAGE_SIZE}, ${truth.size} to downgrade`);

  const requestRate = await calibrate(zoom);
  ctx.log(`calibrated: ${Math.round(requestRate)} requests/s on trivial requests`);

  const dir = await mkdtemp(join(tmpdir(), "bench-zoom-"));
  let sim: Simulator | undefined;
  try {
    sim = await startSimulator({ dataset: { zoom }, services: ["zoom"], latency: LATENCY_MS });
    const env = sim.environment();
    const client = clientFor(env, {});
    // What `cloudadmin zoom-licenses --apply --yes` does: the plan streams into the changes.
    const { ms, value: results } = await timed(async () => {
      const out: LicenseRecord[] = [];
      const plan = planLicenseRecovery(client.listUsers({ signal: ctx.signal }), { now, months: 3 });
      for await (const r of applyLicenseRecovery(plan, {
        client,
        journal: join(dir, "journal.jsonl"),
        period: { now, months: 3 },
        signal: ctx.signal,
      })) {
        if (r.action === "downgrade") out.push(r);
      }
      return out;
    });
    const applied = results.filter((r) => r.result === "applied").map((r) => r.userId);
    const failed = results.filter((r) => r.result === "failed").length;
    const patched = new Map<string, number>();
    for (const r of sim.requestLog) {
      // Changes that went through: a PATCH refused with 429 changed nothing.
      if (r.method === "PATCH" && r.status === 204) patched.set(r.path, (patched.get(r.path) ?? 0) + 1);
    }
    const control = sim.service("zoom") as unknown as { users(): Array<{ id: string; type: number }> };
    const basicNow = control.users().filter((u) => truth.has(u.id) && u.type === 1).length;
    const typeBefore = new Map(zoom.users.map((u) => [u.id, u.type]));
    const changedOthers = control
      .users()
      .filter((u) => !truth.has(u.id) && typeBefore.get(u.id) !== u.type).length;
    const correct =
      failed === 0 &&
      applied.length === truth.size &&
      applied.every((id) => truth.has(id)) &&
      basicNow === truth.size &&
      changedOthers === 0 &&
      patched.size === truth.size &&
      [...patched.values()].every((n) => n === 1);
    const stats = sim.stats();
    ctx.log(
      `run: ${Math.round(ms)} ms, ${applied.length} applied, ${failed} failed, ${stats.throttled} throttled`,
    );

    const base = await baseline(zoom, now, ctx.signal);
    ctx.log(
      `baseline: ${Math.round(base.measuredMs)} ms for the listing and ${base.changesRun} of ${base.changesTotal} changes; ${Math.round(base.ms)} ms extrapolated`,
    );
    return benchResult({
      scenario: options.scenario,
      wallMs: ms,
      boundModelMs: bound.ms,
      requests: stats.total,
      requestRate,
      baselineMs: base.ms,
      throttled: stats.throttled,
      retries: client.stats().retries,
      correct,
      extra: {
        users: zoom.users.length,
        pages: bound.pages,
        changes: applied.length,
        failedChanges: failed,
        throttledShare: Math.round((stats.throttled / Math.max(1, stats.total)) * 10_000) / 10_000,
        baselineSubset: `listing + ${base.changesRun} of ${base.changesTotal} changes run (${Math.round(base.measuredMs)} ms), the other changes extrapolated per change`,
      },
    });
  } finally {
    await sim?.close();
    await rm(dir, { recursive: true, force: true });
  }
}
