import { afterEach, describe, expect, it } from "vitest";
import { findDatasetProblems, generateDataset, startSimulator, validateDataset } from "../src/index.js";
import type { Simulator } from "../src/index.js";
import type { ZoomDataset, ZoomPerSecondHeaderForm, ZoomSimService } from "../src/services/zoom/index.js";
import { ZOOM_GENERATED_AS_OF } from "../src/services/zoom/index.js";

const DAY = 86_400_000;

/** A clock tests can move forward (token and page-token expiry, UTC day changes). */
function movableClock() {
  let offset = 0;
  return {
    clock: { now: () => performance.now() + offset, date: () => new Date(Date.now() + offset) },
    advance: (ms: number) => {
      offset += ms;
    },
  };
}

const sims: Simulator[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

async function start(zoom: ZoomDataset, clock?: ReturnType<typeof movableClock>["clock"]) {
  const sim = await startSimulator({ dataset: { zoom }, services: ["zoom"], ...(clock ? { clock } : {}) });
  sims.push(sim);
  const env = sim.environment();
  return { sim, env, control: sim.service("zoom") as ZoomSimService };
}

function small(): ZoomDataset {
  return generateDataset({ scale: "small", seed: 7, services: ["zoom"] }).zoom as ZoomDataset;
}

async function token(env: Record<string, string>, how: "query" | "form" = "query", secret?: string) {
  const basic = Buffer.from(`${env.ZOOM_CLIENT_ID}:${secret ?? env.ZOOM_CLIENT_SECRET}`).toString("base64");
  const params = `grant_type=account_credentials&account_id=${env.ZOOM_ACCOUNT_ID}`;
  const res =
    how === "query"
      ? await fetch(`${env.ZOOM_OAUTH_URL}?${params}`, {
          method: "POST",
          headers: { authorization: `Basic ${basic}` },
        })
      : await fetch(env.ZOOM_OAUTH_URL as string, {
          method: "POST",
          headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
          body: params,
        });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function api(env: Record<string, string>, bearer: string, path: string, init: RequestInit = {}) {
  const res = await fetch(`${env.ZOOM_API_URL}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json", ...init.headers },
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : null,
  };
}

describe("zoom dataset", () => {
  it("generates the benchmark's large section: 9,000 users, 8,700 active, 600 stale Licensed", () => {
    const zoom = generateDataset({ scale: "large", seed: 1, services: ["zoom"] }).zoom as ZoomDataset;
    expect(zoom.users).toHaveLength(9000);
    const active = zoom.users.filter((u) => u.status === "active");
    expect(active).toHaveLength(8700);
    const asOf = Date.parse(ZOOM_GENERATED_AS_OF);
    const stale = active.filter(
      (u) =>
        u.type === 2 && u.last_login_time !== undefined && Date.parse(u.last_login_time) < asOf - 92 * DAY,
    );
    expect(stale).toHaveLength(600);
    const fresh = active.filter(
      (u) =>
        u.type === 2 && u.last_login_time !== undefined && Date.parse(u.last_login_time) > asOf - 81 * DAY,
    );
    expect(fresh).toHaveLength(5250);
    expect(zoom.users.filter((u) => u.status === "pending" && u.last_login_time !== undefined)).toHaveLength(
      0,
    );
    expect(findDatasetProblems({ zoom })).toEqual([]);
  });

  it("is the same for the same seed and differs for another", () => {
    const a = generateDataset({ scale: "small", seed: 3, services: ["zoom"] });
    const b = generateDataset({ scale: "small", seed: 3, services: ["zoom"] });
    const c = generateDataset({ scale: "small", seed: 4, services: ["zoom"] });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(c));
  });

  it("rejects unknown keys, bad types, duplicate ids and more Licensed users than seats", () => {
    const base = {
      users: [{ id: "a", email: "a@x.io", type: 2, status: "active", created_at: "2024-01-01T00:00:00Z" }],
    };
    expect(() => validateDataset({ zoom: { ...base, extra: 1 } })).toThrow(
      /\$\.zoom\.extra is not a known key/,
    );
    expect(() => validateDataset({ zoom: { users: [{ ...base.users[0], type: 3 }] } })).toThrow(
      /\$\.zoom\.users\[0\]\.type must be one of 1, 2, 4, 99/,
    );
    const dup = { users: [base.users[0], { ...base.users[0], email: "b@x.io" }] };
    expect(findDatasetProblems({ zoom: dup })).toEqual([
      { path: "$.zoom.users[1].id", message: "duplicates users[0].id" },
    ]);
    expect(findDatasetProblems({ zoom: { ...base, licenses: 0 } })[0]?.path).toBe("$.zoom.licenses");
  });
});

describe("zoom simulator", () => {
  it("issues S2S OAuth tokens for Basic credentials with the grant in the query or the form body", async () => {
    const { env } = await start(small());
    expect(env).toMatchObject({ ZOOM_ACCOUNT_ID: "sim-account", ZOOM_CLIENT_ID: "simZoomClientId" });
    expect(env.ZOOM_API_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v2$/);
    expect(env.ZOOM_OAUTH_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/oauth\/token$/);
    const q = await token(env, "query");
    expect(q.status).toBe(200);
    expect(q.body).toMatchObject({
      token_type: "bearer",
      expires_in: 3599,
      scope: "user:read:admin user:write:admin",
    });
    expect(String(q.body.access_token)).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    const f = await token(env, "form");
    expect(f.status).toBe(200);
    expect(f.body.access_token).not.toBe(q.body.access_token);
    const bad = await token(env, "query", "wrong-secret");
    expect(bad).toEqual({
      status: 401,
      body: { reason: "Invalid client_id or client_secret", error: "invalid_client" },
    });
  });

  it("lists active users in pages with next_page_token, Medium headers, pending users without id", async () => {
    const zoom = small();
    const { env } = await start(zoom);
    const t = String((await token(env)).body.access_token);
    const seen: string[] = [];
    let next = "";
    let pages = 0;
    do {
      const page = await api(
        env,
        t,
        `/users?status=active&page_size=100${next ? `&next_page_token=${next}` : ""}`,
      );
      expect(page.status).toBe(200);
      expect(page.headers.get("x-ratelimit-category")).toBe("Medium");
      const body = page.body as {
        users: Array<{ id: string }>;
        next_page_token: string;
        page_size: number;
        total_records: number;
      };
      expect(body.page_size).toBe(100);
      expect(body.total_records).toBe(zoom.users.filter((u) => u.status === "active").length);
      seen.push(...body.users.map((u) => u.id));
      next = body.next_page_token;
      pages++;
    } while (next !== "");
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual(
      zoom.users
        .filter((u) => u.status === "active")
        .map((u) => u.id)
        .sort(),
    );
    const pending = await api(env, t, "/users?status=pending&page_size=500");
    const pbody = pending.body as { users: Array<Record<string, unknown>>; page_size: number };
    expect(pbody.page_size).toBe(300);
    expect(pbody.users).toHaveLength(zoom.users.filter((u) => u.status === "pending").length);
    expect(pbody.users.every((u) => !("id" in u) && typeof u.email === "string")).toBe(true);
  });

  it("expires next_page_token after 15 minutes and tokens after an hour (401)", async () => {
    const { clock, advance } = movableClock();
    const { env } = await start(small(), clock);
    const t = String((await token(env)).body.access_token);
    const first = await api(env, t, "/users?page_size=100");
    const next = String((first.body as { next_page_token: string }).next_page_token);
    advance(16 * 60_000);
    const late = await api(env, t, `/users?page_size=100&next_page_token=${next}`);
    expect(late).toMatchObject({
      status: 400,
      body: { code: 300, message: "The next page token is invalid or expired." },
    });
    advance(45 * 60_000);
    const expired = await api(env, t, "/users?page_size=100");
    expect(expired).toMatchObject({ status: 401, body: { code: 124, message: "Access token is expired." } });
    const unknown = await api(env, "not-a-token", "/users");
    expect(unknown).toMatchObject({ status: 401, body: { code: 124, message: "Invalid access token." } });
  });

  it("PATCHes a user's type: 204, 404 for an unknown user, 400 for a type the account cannot assign", async () => {
    const zoom = small();
    const licensed = zoom.users.filter((u) => u.type === 2).length;
    zoom.licenses = licensed;
    const { env, control } = await start(zoom);
    const t = String((await token(env)).body.access_token);
    const target = zoom.users.find((u) => u.type === 2 && u.status === "active")!;
    const basic = zoom.users.find((u) => u.type === 1 && u.status === "active")!;
    const ok = await api(env, t, `/users/${target.id}`, {
      method: "PATCH",
      body: JSON.stringify({ type: 1 }),
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get("x-ratelimit-category")).toBe("Light");
    expect(control.users().find((u) => u.id === target.id)?.type).toBe(1);
    const got = await api(env, t, `/users/${encodeURIComponent(target.email)}`);
    expect(got.body).toMatchObject({ id: target.id, type: 1 });
    // One seat is free now: the first upgrade works, the second is refused.
    const up = await api(env, t, `/users/${basic.id}`, {
      method: "PATCH",
      body: JSON.stringify({ type: "2" }),
    });
    expect(up.status).toBe(204);
    const again = await api(env, t, `/users/${target.id}`, {
      method: "PATCH",
      body: JSON.stringify({ type: 2 }),
    });
    expect(again).toMatchObject({
      status: 400,
      body: { code: 200, message: `You can add max ${licensed} paid users.` },
    });
    const none = await api(env, t, `/users/${target.id}`, {
      method: "PATCH",
      body: JSON.stringify({ type: 99 }),
    });
    expect(none).toMatchObject({ status: 400, body: { code: 1108 } });
    const missing = await api(env, t, "/users/nobody", {
      method: "PATCH",
      body: JSON.stringify({ type: 1 }),
    });
    expect(missing).toMatchObject({
      status: 404,
      body: { code: 1001, message: "User does not exist: nobody." },
    });
  });

  it("answers 429 over the per-second limit with X-RateLimit-* and each Retry-After form", async () => {
    const zoom = small();
    const { env, control, sim } = await start(zoom);
    control.setRateLimits("Light", { perSecond: 2 });
    control.setRetryAfterForms(["seconds", "date", "missing"]);
    const t = String((await token(env)).body.access_token);
    const ids = zoom.users
      .filter((u) => u.status === "active")
      .slice(0, 5)
      .map((u) => u.id);
    const answers = await Promise.all(ids.map((id) => api(env, t, `/users/${id}`)));
    const refused = answers.filter((a) => a.status === 429);
    expect(refused).toHaveLength(3);
    for (const r of refused) {
      expect(r.headers.get("x-ratelimit-category")).toBe("Light");
      expect(r.headers.get("x-ratelimit-limit")).toBe("2");
      expect(r.headers.get("x-ratelimit-remaining")).toBe("0");
      expect(r.body).toEqual({
        code: 429,
        message: "You have reached the maximum per-second rate limit for this API. Try again later.",
      });
    }
    const forms = refused.map((r) => r.headers.get("retry-after"));
    expect(forms.filter((f) => f !== null && /^\d+$/.test(f))).toHaveLength(1);
    expect(forms.filter((f) => f !== null && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(f))).toHaveLength(
      1,
    );
    expect(forms.filter((f) => f === null)).toHaveLength(1);
    expect(refused.every((r) => r.headers.get("x-ratelimit-type") === "QPS")).toBe(true);
    expect(sim.stats().throttled).toBe(3);
  });

  it.each([
    [
      "QPS",
      { category: "Light", type: "QPS", limit: "2", remaining: "0" },
      { category: "Light", limit: null },
    ],
    [
      "Per-second-limit",
      { category: "Light", type: "Per-second-limit", limit: "2", remaining: "0" },
      { category: "Light", limit: null },
    ],
    // The Free plan's daily Light quota where the plan has none: what one real account reported.
    [
      "daily-quota-in-limit",
      { category: "Light", type: null, limit: "6000", remaining: expect.stringMatching(/^599[89]$/) },
      { category: "Light", limit: "6000" },
    ],
    [
      "missing",
      { category: null, type: null, limit: null, remaining: null },
      { category: null, limit: null },
    ],
  ])("per-second 429s and answers in the %s header form", async (form, refusal, answer) => {
    const zoom = small();
    zoom.rateLimitHeaders = { perSecond: form as ZoomPerSecondHeaderForm };
    const { env, control } = await start(zoom);
    control.setRateLimits("Light", { perSecond: 2 });
    control.setRetryAfterForms(["missing"]);
    const t = String((await token(env)).body.access_token);
    const id = zoom.users.find((u) => u.status === "active")?.id as string;
    const answers = await Promise.all([1, 2, 3].map(() => api(env, t, `/users/${id}`)));
    const ok = answers.find((a) => a.status === 200);
    const refused = answers.find((a) => a.status === 429);
    expect(refused?.body?.message).toBe(
      "You have reached the maximum per-second rate limit for this API. Try again later.",
    );
    const h = refused?.headers as Headers;
    expect({
      category: h.get("x-ratelimit-category"),
      type: h.get("x-ratelimit-type"),
      limit: h.get("x-ratelimit-limit"),
      remaining: h.get("x-ratelimit-remaining"),
    }).toEqual(refusal);
    expect(h.get("retry-after")).toBeNull();
    expect({
      category: ok?.headers.get("x-ratelimit-category"),
      limit: ok?.headers.get("x-ratelimit-limit"),
    }).toEqual(answer);
  });

  it("a daily-limit 429 with its type and date, or (untyped) with neither and only the message", async () => {
    for (const daily of ["typed", "untyped"] as const) {
      const zoom = small();
      zoom.rateLimits = { light: { perSecond: 100, perDay: 1 } };
      zoom.rateLimitHeaders = { daily };
      const { env } = await start(zoom);
      const t = String((await token(env)).body.access_token);
      const id = zoom.users.find((u) => u.status === "active")?.id as string;
      expect((await api(env, t, `/users/${id}`)).status).toBe(200);
      const r = await api(env, t, `/users/${id}`);
      expect(r.status).toBe(429);
      expect(String(r.body?.message)).toMatch(
        /^You have exceeded the daily rate limit \(1\) of Light API requests/,
      );
      expect(r.headers.get("x-ratelimit-limit")).toBe("1");
      expect(r.headers.get("x-ratelimit-type")).toBe(daily === "typed" ? "Daily-limit" : null);
      expect(r.headers.get("retry-after") !== null).toBe(daily === "typed");
    }
  });

  it("enforces a daily limit per category, reset at 00:00 UTC", async () => {
    const { clock, advance } = movableClock();
    const zoom = small();
    zoom.rateLimits = { light: { perSecond: 100, perDay: 3 } };
    const { env } = await start(zoom, clock);
    const t = String((await token(env)).body.access_token);
    const id = zoom.users.find((u) => u.status === "active")!.id;
    const statuses: number[] = [];
    const remaining: Array<string | null> = [];
    for (let i = 0; i < 4; i++) {
      const r = await api(env, t, `/users/${id}`);
      statuses.push(r.status);
      remaining.push(r.headers.get("x-ratelimit-remaining"));
      if (r.status === 429) expect(String(r.body?.message)).toMatch(/daily rate limit \(3\)/);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(remaining).toEqual(["2", "1", "0", "0"]);
    // Listing is Medium: not affected by the Light daily cap.
    expect((await api(env, t, "/users?page_size=1")).status).toBe(200);
    const now = new Date(Date.now());
    advance(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) - now.getTime() + 1000);
    const t2 = String((await token(env)).body.access_token);
    expect((await api(env, t2, `/users/${id}`)).status).toBe(200);
  });
});
