import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Simulator, generateDataset, startSimulator } from "@cloudadmin/cloud-sim";
import type { ZoomDataset } from "@cloudadmin/cloud-sim";
import type { CloudAdminError } from "@cloudadmin/errors";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type LicenseRecord,
  type ZoomClient,
  applyLicenseRecovery,
  createZoomClient,
  createZoomTokenProvider,
  planLicenseRecovery,
  probeZoomRateLimits,
  readJournal,
  restoreLicenses,
} from "../src/index.js";

/** The parts of the simulator's Zoom service these tests reach into. */
interface ZoomControl {
  setRateLimitHeaders(forms: {
    perSecond?: "QPS" | "Per-second-limit" | "daily-quota-in-limit" | "missing";
    daily?: "typed" | "untyped";
  }): void;
  users(): ReadonlyArray<{ id: string; email: string; type: number; status: string }>;
  deleteUser(idOrEmail: string): boolean;
  expirePageTokens(): void;
  setRetryAfterForms(forms: Array<"seconds" | "date" | "missing"> | null): void;
  setRateLimits(category: "Light" | "Medium", limits: { perSecond?: number; perDay?: number }): void;
}

const sims: Simulator[] = [];
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "zoom-licenses-"));
});
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

function smallZoom(): ZoomDataset {
  return generateDataset({ scale: "small", seed: 11, services: ["zoom"] }).zoom as ZoomDataset;
}

function movableClock() {
  let offset = 0;
  return {
    clock: { now: () => performance.now() + offset, date: () => new Date(Date.now() + offset) },
    advance: (ms: number) => {
      offset += ms;
    },
  };
}

async function setup(options: { zoom?: ZoomDataset; clock?: ReturnType<typeof movableClock>["clock"] } = {}) {
  const zoom = options.zoom ?? smallZoom();
  const sim = await startSimulator({
    dataset: { zoom },
    services: ["zoom"],
    ...(options.clock ? { clock: options.clock } : {}),
  });
  sims.push(sim);
  const env = sim.environment();
  const tokenProvider = createZoomTokenProvider({
    credentials: {
      accountId: env.ZOOM_ACCOUNT_ID as string,
      clientId: env.ZOOM_CLIENT_ID as string,
      clientSecret: env.ZOOM_CLIENT_SECRET as string,
    },
    oauthUrl: env.ZOOM_OAUTH_URL as string,
  });
  const events: string[] = [];
  const throttles: Array<{ type: string; decidedBy: string }> = [];
  const client = createZoomClient({
    tokenProvider,
    apiUrl: env.ZOOM_API_URL as string,
    onEvent: (e) => {
      events.push(e.kind);
      if (e.kind === "throttled") throttles.push({ type: e.type, decidedBy: e.decidedBy });
    },
  });
  const now = Date.parse(zoom.asOf as string);
  const control = sim.service("zoom") as unknown as ZoomControl;
  return { sim, env, zoom, client, tokenProvider, now, control, events, throttles };
}

/** Three calendar months before `now`, by Date's own month arithmetic (not the library's). */
function threeMonthsBefore(now: number): number {
  const d = new Date(now);
  d.setUTCMonth(d.getUTCMonth() - 3);
  return d.getTime();
}

/** Ground truth: active Licensed users whose last login is before the 3-month cutoff. */
function expectedDowngrades(zoom: ZoomDataset, now: number, exclude: string[] = []): string[] {
  const cutoff = threeMonthsBefore(now);
  return zoom.users
    .filter(
      (u) =>
        u.status === "active" &&
        u.type === 2 &&
        u.last_login_time !== undefined &&
        Date.parse(u.last_login_time) < cutoff &&
        !exclude.includes(u.email),
    )
    .map((u) => u.id)
    .sort();
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function plan(
  client: ZoomClient,
  now: number,
  extra: Parameters<typeof planLicenseRecovery>[1] extends infer O ? Partial<O> : never = {},
) {
  return planLicenseRecovery(client.listUsers({ pageSize: 100 }), { now, months: 3, ...extra });
}

function patchCounts(sim: Simulator): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of sim.requestLog) {
    if (r.method !== "PATCH") continue;
    const id = r.path.split("/").pop() as string;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe("planLicenseRecovery against the simulator", () => {
  it("plans over several pages: stale Licensed users downgrade, everyone else kept with a reason", async () => {
    const { sim, zoom, client, now } = await setup();
    const stale = zoom.users.filter((u) => expectedDowngrades(zoom, now).includes(u.id));
    const exclude = [stale[0]!.email.toUpperCase(), stale[1]!.email];
    const decisions = await collect(plan(client, now, { exclude }));
    expect(sim.stats().byOperation["zoom:ListUsers"]).toBe(3);
    expect(decisions).toHaveLength(zoom.users.filter((u) => u.status === "active").length);
    const down = decisions.filter((d) => d.action === "downgrade");
    expect(down.map((d) => d.userId).sort()).toEqual(
      expectedDowngrades(zoom, now, [stale[0]!.email, stale[1]!.email]),
    );
    expect(
      down.every(
        (d) => d.result === "planned" && d.type === 2 && /^inactive: last login \d{4}-/.test(d.reason),
      ),
    ).toBe(true);
    expect(down.every((d) => (d.inactiveDays ?? 0) >= 90)).toBe(true);
    const byId = new Map(decisions.map((d) => [d.userId, d]));
    expect(byId.get(stale[0]!.id)).toMatchObject({ action: "keep", reason: "excluded" });
    const never = zoom.users.filter((u) => u.status === "active" && u.type === 2 && !u.last_login_time);
    expect(never.length).toBeGreaterThan(0);
    for (const u of never) {
      expect(byId.get(u.id)).toMatchObject({ action: "keep", lastLoginTime: null });
      expect(byId.get(u.id)?.reason).toMatch(/^never logged in/);
    }
    const staleBasic = zoom.users.find(
      (u) =>
        u.status === "active" &&
        u.type === 1 &&
        u.last_login_time &&
        Date.parse(u.last_login_time) < now - 200 * 86_400_000,
    )!;
    expect(byId.get(staleBasic.id)).toMatchObject({ action: "keep", reason: "already Basic" });
    // Only active users are listed; inactive and pending ones never reach the plan.
    const inactive = zoom.users.filter((u) => u.status !== "active").map((u) => u.id);
    expect(decisions.some((d) => inactive.includes(d.userId))).toBe(false);
  });

  it("includes never-logged-in users only with the flag and only when created before the period", async () => {
    const { zoom, client, now } = await setup();
    const cutoff = threeMonthsBefore(now);
    const decisions = await collect(plan(client, now, { includeNeverLoggedIn: true }));
    const never = zoom.users.filter((u) => u.status === "active" && u.type === 2 && !u.last_login_time);
    const old = never.filter((u) => Date.parse(u.created_at) < cutoff).map((u) => u.id);
    const young = never.filter((u) => Date.parse(u.created_at) >= cutoff).map((u) => u.id);
    expect(old.length).toBeGreaterThan(0);
    expect(young.length).toBeGreaterThan(0);
    const down = new Set(decisions.filter((d) => d.action === "downgrade").map((d) => d.userId));
    expect(old.every((id) => down.has(id))).toBe(true);
    expect(young.some((id) => down.has(id))).toBe(false);
    expect(down.size).toBe(expectedDowngrades(zoom, now).length + old.length);
  });

  it("a plan that changes nothing", async () => {
    const { client, now, sim } = await setup();
    const decisions = await collect(plan(client, now, { months: 60 }));
    expect(decisions.length).toBeGreaterThan(0);
    expect(decisions.filter((d) => d.action === "downgrade")).toEqual([]);
    const journal = join(dir, "none.jsonl");
    const applied = await collect(
      applyLicenseRecovery(decisions, { client, journal, period: { now, months: 3 } }),
    );
    expect(applied.every((r) => r.action === "keep" && r.result === "skipped")).toBe(true);
    expect(sim.stats().byOperation["zoom:UpdateUser"]).toBeUndefined();
    await expect(stat(journal)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("restarts the listing when next_page_token expires, yielding each user once", async () => {
    const { zoom, client, control, events } = await setup();
    const users = await collect(
      client.listUsers({ pageSize: 100, onPage: (page) => page === 2 && control.expirePageTokens() }),
    );
    const ids = users.map((u) => u.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(
      zoom.users
        .filter((u) => u.status === "active")
        .map((u) => u.id)
        .sort(),
    );
    expect(events.filter((e) => e === "page-token-expired")).toHaveLength(1);
  });
});

describe("applyLicenseRecovery and restoreLicenses against the simulator", () => {
  it("applies, journals before and after, and a rerun changes nobody twice", async () => {
    const { sim, zoom, client, now, control, tokenProvider } = await setup();
    const journal = join(dir, "run.jsonl");
    const decisions = await collect(plan(client, now));
    const first = await collect(
      applyLicenseRecovery(decisions, { client, journal, period: { now, months: 3 } }),
    );
    const expected = expectedDowngrades(zoom, now);
    expect(
      first
        .filter((r) => r.result === "applied")
        .map((r) => r.userId)
        .sort(),
    ).toEqual(expected);
    expect(first.filter((r) => r.result === "failed")).toEqual([]);
    for (const id of expected) expect(control.users().find((u) => u.id === id)?.type).toBe(1);
    const lines = await readJournal(journal);
    expect(lines).toHaveLength(expected.length * 2);
    for (const id of expected) {
      expect(lines.filter((l) => l.userId === id).map((l) => l.phase)).toEqual(["intent", "applied"]);
    }
    // Rerun with the same (now stale) decisions: the journal says done, nothing is sent.
    const again = await collect(
      applyLicenseRecovery(decisions, { client, journal, period: { now, months: 3 } }),
    );
    expect(again.filter((r) => r.action === "downgrade").every((r) => r.result === "skipped")).toBe(true);
    // Rerun from a fresh listing: those users are Basic now, so the plan is empty.
    const fresh = await collect(
      applyLicenseRecovery(plan(client, now), { client, journal, period: { now, months: 3 } }),
    );
    expect(fresh.filter((r) => r.action === "downgrade")).toEqual([]);
    const counts = patchCounts(sim);
    expect([...counts.keys()].sort()).toEqual(expected);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const text = await readFile(journal, "utf8");
    expect(text).not.toContain(zoom.clientSecret as string);
    expect(text).not.toContain(await tokenProvider.getToken());
    expect((await stat(journal)).mode & 0o077).toBe(0);
  });

  it("resumes a run interrupted between two changes without changing anyone twice", async () => {
    const { sim, zoom, client, now } = await setup();
    const journal = join(dir, "run.jsonl");
    const controller = new AbortController();
    const interrupted = applyLicenseRecovery(plan(client, now), {
      client,
      journal,
      period: { now, months: 3 },
      concurrency: 2,
      signal: controller.signal,
      onProgress: (p) => p.applied >= 5 && controller.abort(),
    });
    const seen: LicenseRecord[] = [];
    await expect(
      (async () => {
        for await (const r of interrupted) seen.push(r);
      })(),
    ).rejects.toMatchObject({ code: "ERR_ABORTED" });
    const appliedFirst = seen.filter((r) => r.result === "applied").length;
    expect(appliedFirst).toBeGreaterThanOrEqual(5);
    const expected = expectedDowngrades(zoom, now);
    expect(appliedFirst).toBeLessThan(expected.length);
    // Every intent written has its outcome: the run stopped between changes.
    const lines = await readJournal(journal);
    expect(lines.filter((l) => l.phase === "intent")).toHaveLength(
      lines.filter((l) => l.phase === "applied").length,
    );
    const resumed = await collect(
      applyLicenseRecovery(plan(client, now), { client, journal, period: { now, months: 3 } }),
    );
    expect(resumed.filter((r) => r.result === "applied")).toHaveLength(expected.length - appliedFirst);
    const counts = patchCounts(sim);
    expect([...counts.keys()].sort()).toEqual(expected);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  });

  it("applies nothing when the plan exceeds --max-changes", async () => {
    const { sim, client, now } = await setup();
    const journal = join(dir, "run.jsonl");
    await expect(
      collect(
        applyLicenseRecovery(plan(client, now), {
          client,
          journal,
          period: { now, months: 3 },
          maxChanges: 3,
        }),
      ),
    ).rejects.toMatchObject({
      code: "ERR_LIMIT_EXCEEDED",
      message: expect.stringMatching(/more than maxChanges 3; nothing was changed/),
    });
    expect(sim.stats().byOperation["zoom:UpdateUser"]).toBeUndefined();
    await expect(stat(journal)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("a failed PATCH in the middle: the others are applied, the failure is journaled and reported", async () => {
    const { zoom, client, now, control } = await setup();
    const journal = join(dir, "run.jsonl");
    const decisions = await collect(plan(client, now));
    const expected = expectedDowngrades(zoom, now);
    const gone = expected[Math.floor(expected.length / 2)] as string;
    expect(control.deleteUser(gone)).toBe(true);
    const errors: CloudAdminError[] = [];
    const results = await collect(
      applyLicenseRecovery(decisions, {
        client,
        journal,
        period: { now, months: 3 },
        onError: (e) => errors.push(e),
      }),
    );
    expect(results.filter((r) => r.result === "applied")).toHaveLength(expected.length - 1);
    const failed = results.filter((r) => r.result === "failed");
    expect(failed.map((r) => r.userId)).toEqual([gone]);
    expect(failed[0]?.reason).toMatch(/answered 404 \(1001: User does not exist/);
    expect(errors).toHaveLength(1);
    const email = zoom.users.find((u) => u.id === gone)?.email;
    expect(errors[0]).toMatchObject({
      code: "ERR_NOT_FOUND",
      remoteCode: "1001",
      scope: email,
      phase: "downgrade",
    });
    const lines = (await readJournal(journal)).filter((l) => l.userId === gone);
    expect(lines.map((l) => [l.phase, l.code])).toEqual([
      ["intent", undefined],
      ["failed", "1001"],
    ]);
  });

  it("retries 429s with Retry-After in seconds, as a date and missing, and lowers the pace from them", async () => {
    const { sim, client, now, control } = await setup();
    control.setRateLimits("Light", { perSecond: 4 });
    control.setRetryAfterForms(["seconds", "date", "missing"]);
    const journal = join(dir, "run.jsonl");
    const decisions = (await collect(plan(client, now))).filter((d) => d.action === "downgrade").slice(0, 14);
    const results = await collect(
      applyLicenseRecovery(decisions, { client, journal, period: { now, months: 3 } }),
    );
    expect(results.every((r) => r.result === "applied")).toBe(true);
    const throttled = sim.requestLog.filter((r) => r.status === 429);
    expect(throttled.length).toBeGreaterThanOrEqual(3);
    expect(client.stats().throttled).toBe(throttled.length);
    expect(client.stats().retries).toBe(throttled.length);
    // Started at the Business pace (80/s at 95%), brought down by the 429s alone.
    expect(client.rate("Light")).toBeLessThan(80 * 0.95 * 0.5 ** 2);
    const changed = control.users().filter((u) => decisions.some((d) => d.userId === u.id));
    expect(changed.every((u) => u.type === 1)).toBe(true);
    expect(patchCounts(sim).size).toBe(decisions.length);
  });

  it.each([
    ["QPS", "type"],
    ["Per-second-limit", "type"],
    ["daily-quota-in-limit", "message"],
    ["missing", "message"],
  ] as const)(
    "paces from the 429s when they come in the %s header form (told apart by the %s)",
    async (form, decidedBy) => {
      const { sim, client, now, control, throttles } = await setup();
      control.setRateLimitHeaders({ perSecond: form });
      control.setRateLimits("Light", { perSecond: 12 });
      control.setRetryAfterForms(["missing"]);
      const journal = join(dir, "run.jsonl");
      const decisions = (await collect(plan(client, now)))
        .filter((d) => d.action === "downgrade")
        .slice(0, 16);
      const results = await collect(
        applyLicenseRecovery(decisions, { client, journal, period: { now, months: 3 } }),
      );
      expect(results.map((r) => r.result)).toEqual(decisions.map(() => "applied"));
      expect(throttles.length).toBeGreaterThan(0);
      expect(throttles.every((t) => t.type === "per-second" && t.decidedBy === decidedBy)).toBe(true);
      expect(sim.requestLog.filter((r) => r.status === 429)).toHaveLength(throttles.length);
      // The 6,000 in X-RateLimit-Limit never raised the pace, and the 429s brought it down.
      expect(client.rate("Light")).toBeLessThanOrEqual(80 * 0.95 * 0.5);
      expect(patchCounts(sim).size).toBe(decisions.length);
    },
  );

  it.each([
    ["typed", "type"],
    ["untyped", "message"],
  ] as const)(
    "stops cleanly on a %s daily limit: changes so far kept, the rest skipped, journal intact",
    async (daily, decidedBy) => {
      const zoom = smallZoom();
      zoom.rateLimits = { light: { perDay: 5 } };
      zoom.rateLimitHeaders = { daily };
      const { client, now, throttles } = await setup({ zoom });
      const journal = join(dir, "run.jsonl");
      const errors: CloudAdminError[] = [];
      const results = await collect(
        applyLicenseRecovery(plan(client, now), {
          client,
          journal,
          period: { now, months: 3 },
          concurrency: 1,
          onError: (e) => errors.push(e),
        }),
      );
      const down = results.filter((r) => r.action === "downgrade");
      expect(down.filter((r) => r.result === "applied")).toHaveLength(5);
      expect(down.filter((r) => r.result === "skipped")).toHaveLength(
        expectedDowngrades(zoom, now).length - 5,
      );
      expect(down.filter((r) => r.result === "failed")).toEqual([]);
      expect(errors.map((e) => e.code)).toEqual(["ERR_QUOTA_EXHAUSTED"]);
      expect(throttles).toEqual([{ type: "daily", decidedBy }]);
      const lines = await readJournal(journal);
      expect(lines.filter((l) => l.phase === "applied")).toHaveLength(5);
      expect(lines.filter((l) => l.phase === "not-applied")).toHaveLength(1);
      expect(lines.filter((l) => l.phase === "intent")).toHaveLength(6);
    },
  );

  it("gets a new token when the old one expires mid-run", async () => {
    const { clock, advance } = movableClock();
    const { sim, zoom, client, now, events } = await setup({ clock });
    const journal = join(dir, "run.jsonl");
    let moved = false;
    const results = await collect(
      applyLicenseRecovery(plan(client, now), {
        client,
        journal,
        period: { now, months: 3 },
        concurrency: 2,
        onProgress: (p) => {
          if (!moved && p.applied >= 3) {
            moved = true;
            advance(61 * 60_000);
          }
        },
      }),
    );
    expect(results.filter((r) => r.result === "applied")).toHaveLength(expectedDowngrades(zoom, now).length);
    expect(sim.stats().events.zoomTokensIssued).toBe(2);
    expect(sim.requestLog.filter((r) => r.status === 401).length).toBeGreaterThanOrEqual(1);
    expect(events.filter((e) => e === "token-refresh")).toHaveLength(1);
  });

  it("restores every journaled user to Licensed, once", async () => {
    const { sim, zoom, client, now, control } = await setup();
    const journal = join(dir, "run.jsonl");
    await collect(applyLicenseRecovery(plan(client, now), { client, journal, period: { now, months: 3 } }));
    const expected = expectedDowngrades(zoom, now);
    const restored = await collect(restoreLicenses({ client, journal }));
    expect(
      restored
        .filter((r) => r.result === "applied")
        .map((r) => r.userId)
        .sort(),
    ).toEqual(expected);
    expect(restored.every((r) => r.action === "restore" && r.type === 2)).toBe(true);
    for (const id of expected) expect(control.users().find((u) => u.id === id)?.type).toBe(2);
    const before = sim.stats().byOperation["zoom:UpdateUser"];
    expect(await collect(restoreLicenses({ client, journal }))).toEqual([]);
    expect(sim.stats().byOperation["zoom:UpdateUser"]).toBe(before);
    expect(before).toBe(expected.length * 2);
  });
});

describe("probeZoomRateLimits against the simulator", () => {
  it.each([
    ["QPS", ["holds", "holds", "holds"], "X-RateLimit-Category: Medium"],
    ["Per-second-limit", ["holds", "holds", "holds"], "X-RateLimit-Category: Medium"],
    [
      "daily-quota-in-limit",
      ["holds", "holds", "holds"],
      "X-RateLimit-Limit: 2000, X-RateLimit-Remaining: 1999: a daily quota, not a per-second rate",
    ],
    [
      "missing",
      ["differs", "holds", "holds"],
      "no X-RateLimit-Category header: the job uses the documented labels",
    ],
  ] as const)(
    "reports what one harmless response shows in the %s header form",
    async (form, statuses, detail) => {
      const { sim, client, control } = await setup();
      control.setRateLimitHeaders({ perSecond: form });
      const results = await probeZoomRateLimits({ client });
      expect(results.map((r) => r.status)).toEqual(statuses);
      expect(results.every((r) => r.provider === "zoom")).toBe(true);
      expect(results.map((r) => r.detail)).toContain(detail);
      expect(sim.stats().byOperation["zoom:ListUsers"]).toBe(1);
    },
  );

  it("a per-second limit in X-RateLimit-Limit differs; a failed request is unknown, and no secret is shown", async () => {
    const zoom = smallZoom();
    zoom.plan = "free";
    zoom.rateLimits = { medium: { perSecond: 2, perDay: 2 } };
    const { client } = await setup({ zoom });
    const results = await probeZoomRateLimits({ client, plan: "business" });
    expect(results[1]).toMatchObject({ status: "differs" });
    expect(results[1]?.detail).toMatch(
      /^X-RateLimit-Limit: 2, X-RateLimit-Remaining: 1: looks like a per-second limit/,
    );

    const { env } = await setup();
    const wrong = createZoomClient({
      apiUrl: env.ZOOM_API_URL as string,
      tokenProvider: createZoomTokenProvider({
        credentials: {
          accountId: env.ZOOM_ACCOUNT_ID as string,
          clientId: env.ZOOM_CLIENT_ID as string,
          clientSecret: "not-the-s3cret",
        },
        oauthUrl: env.ZOOM_OAUTH_URL as string,
      }),
    });
    const failed = await probeZoomRateLimits({ client: wrong });
    expect(failed.map((r) => r.status)).toEqual(["unknown", "unknown", "unknown"]);
    expect(failed[0]?.detail).toMatch(
      /^GET \/users failed: Zoom refused the Server-to-Server OAuth request \(401 invalid_client/,
    );
    expect(JSON.stringify(failed)).not.toContain("not-the-s3cret");
  });
});

describe("endpoint policy", () => {
  it("refuses plain http to a name that is not loopback, even one resolving to a loopback listener: the listener receives nothing", async () => {
    const { sim, env } = await setup();
    const port = new URL(env.ZOOM_API_URL as string).port;
    // A test-only resolver: zoom.example.test is the simulator on 127.0.0.1.
    const resolving = ((input: string | URL | Request, init?: RequestInit) =>
      fetch(String(input).replace("zoom.example.test", "127.0.0.1"), init)) as typeof fetch;
    const credentials = {
      accountId: env.ZOOM_ACCOUNT_ID as string,
      clientId: env.ZOOM_CLIENT_ID as string,
      clientSecret: env.ZOOM_CLIENT_SECRET as string,
    };
    expect(() =>
      createZoomTokenProvider({
        credentials,
        oauthUrl: `http://zoom.example.test:${port}/oauth/token`,
        fetch: resolving,
      }),
    ).toThrow(expect.objectContaining({ code: "ERR_CONFIG" }));
    const tokenProvider = createZoomTokenProvider({ credentials, oauthUrl: env.ZOOM_OAUTH_URL as string });
    expect(() =>
      createZoomClient({ tokenProvider, apiUrl: `http://zoom.example.test:${port}/v2`, fetch: resolving }),
    ).toThrow(expect.objectContaining({ code: "ERR_CONFIG" }));
    expect(sim.stats().total).toBe(0);
    // The same resolver with the loopback address itself works: the refusal was the policy's.
    const ok = createZoomClient({ tokenProvider, apiUrl: `http://127.0.0.1:${port}/v2`, fetch: resolving });
    expect(
      (await ok.getUser(smallZoom().users.find((u) => u.status === "active")?.id as string)).id,
    ).toBeTruthy();
  });
});
