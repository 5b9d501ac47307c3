import { describe, expect, it } from "vitest";
import { decideLicense, inactivityCutoff } from "./plan.js";
import { createZoomTokenProvider } from "./token-provider.js";

const NOW = Date.parse("2026-05-31T12:00:00Z");
const base = {
  id: "u1",
  email: "A@Example.com",
  type: 2,
  status: "active",
  created_at: "2024-01-01T00:00:00Z",
};

describe("decideLicense", () => {
  it("measures months on the calendar, clamped to the month's end", () => {
    expect(new Date(inactivityCutoff({ now: NOW, months: 3 })).toISOString()).toBe(
      "2026-02-28T12:00:00.000Z",
    );
    expect(new Date(inactivityCutoff({ now: NOW, days: 10 })).toISOString()).toBe("2026-05-21T12:00:00.000Z");
  });

  it("keeps pending, inactive, Basic, Unassigned and None users whatever their last login", () => {
    const old = { last_login_time: "2020-01-01T00:00:00Z" };
    expect(decideLicense({ ...base, ...old, status: "pending" }, { now: NOW })).toMatchObject({
      action: "keep",
      reason: "status pending: only active users are changed",
    });
    expect(decideLicense({ ...base, ...old, status: "inactive" }, { now: NOW }).action).toBe("keep");
    expect(decideLicense({ ...base, ...old, type: 1 }, { now: NOW }).reason).toBe("already Basic");
    expect(decideLicense({ ...base, ...old, type: 4 }, { now: NOW }).reason).toBe("Unassigned, not Licensed");
    expect(decideLicense({ ...base, ...old, type: 99 }, { now: NOW }).reason).toBe("None, not Licensed");
    expect(decideLicense({ ...base, ...old }, { now: NOW })).toMatchObject({
      action: "downgrade",
      reason: "inactive: last login 2020-01-01",
      inactiveDays: 2342,
      lastLoginTime: "2020-01-01T00:00:00Z",
    });
  });

  it("excludes by email (any case) or id, and decides the cutoff boundary by strictly older", () => {
    const old = { ...base, last_login_time: "2020-01-01T00:00:00Z" };
    expect(decideLicense(old, { now: NOW, exclude: ["a@example.COM"] }).reason).toBe("excluded");
    expect(decideLicense(old, { now: NOW, exclude: ["U1"] }).reason).toBe("excluded");
    const atCutoff = { ...base, last_login_time: "2026-02-28T12:00:00Z" };
    expect(decideLicense(atCutoff, { now: NOW }).action).toBe("keep");
    expect(decideLicense({ ...atCutoff, last_login_time: "2026-02-28T11:59:59Z" }, { now: NOW }).action).toBe(
      "downgrade",
    );
  });
});

describe("createZoomTokenProvider", () => {
  function fakeOAuth(status = 200) {
    const calls: Array<{ url: string; auth: string | null }> = [];
    let n = 0;
    const fetchFn = (async (input: string | URL | Request, init?: RequestInit) => {
      calls.push({ url: String(input), auth: new Headers(init?.headers).get("authorization") });
      n++;
      const body =
        status === 200
          ? {
              access_token: `token-number-${n}`,
              token_type: "bearer",
              expires_in: 3599,
              scope: "user:read:admin",
            }
          : { reason: "Invalid client_id or client_secret", error: "invalid_client" };
      return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
    }) as typeof fetch;
    return { calls, fetchFn };
  }

  it("caches the token, shares one request between callers and refreshes 5 minutes before expiry", async () => {
    let now = 1_000_000;
    const { calls, fetchFn } = fakeOAuth();
    const provider = createZoomTokenProvider({
      credentials: { accountId: "acc", clientId: "cid", clientSecret: "s3cret-value" },
      oauthUrl: "https://oauth.test/oauth/token",
      fetch: fetchFn,
      now: () => now,
    });
    const [a, b] = await Promise.all([provider.getToken(), provider.getToken()]);
    expect([a, b]).toEqual(["token-number-1", "token-number-1"]);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.url).toBe(
      "https://oauth.test/oauth/token?grant_type=account_credentials&account_id=acc",
    );
    expect(calls[0]?.auth).toBe(`Basic ${Buffer.from("cid:s3cret-value").toString("base64")}`);
    now += 3599_000 - 5 * 60_000 - 1;
    expect(await provider.getToken()).toBe("token-number-1");
    now += 2;
    expect(await provider.getToken()).toBe("token-number-2");
    provider.invalidate();
    expect(await provider.getToken()).toBe("token-number-3");
    expect(calls).toHaveLength(3);
  });

  it("reports refused credentials as ERR_AUTH without the secret", async () => {
    const { fetchFn } = fakeOAuth(401);
    const provider = createZoomTokenProvider({
      credentials: { accountId: "acc", clientId: "cid", clientSecret: "another-s3cret" },
      fetch: fetchFn,
    });
    const error = (await provider.getToken().then(
      () => new Error("no error"),
      (e: unknown) => e,
    )) as Error & { code: string };
    expect(error).toMatchObject({ code: "ERR_AUTH", status: 401, remoteCode: "invalid_client" });
    expect(error.message).toMatch(/invalid_client: Invalid client_id or client_secret/);
    expect(error.message).not.toContain("another-s3cret");
  });
});

describe("ZoomClient (fake fetch)", () => {
  type Answer = { status: number; body?: unknown; headers?: Record<string, string> };
  function fakeZoom(answers: { oauth: Answer[]; api: Answer[] }) {
    const calls: string[] = [];
    const fetchFn = (async (input: string | URL | Request) => {
      const url = String(input);
      const queue = url.includes("/oauth/token") ? answers.oauth : answers.api;
      calls.push(url.includes("/oauth/token") ? "oauth" : url.replace("https://api.test/v2", ""));
      const a = queue.length > 1 ? (queue.shift() as Answer) : (queue[0] as Answer);
      return new Response(a.body === undefined ? null : JSON.stringify(a.body), {
        status: a.status,
        headers: a.headers,
      });
    }) as typeof fetch;
    return { calls, fetchFn };
  }
  const token: Answer = { status: 200, body: { access_token: "tok-value-1", expires_in: 3599, scope: "x" } };
  const page: Answer = {
    status: 200,
    body: { next_page_token: "", users: [{ id: "u1", email: "a@b.c", type: 2 }] },
  };

  async function client(answers: { oauth: Answer[]; api: Answer[] }) {
    const { createZoomClient } = await import("./client.js");
    const { calls, fetchFn } = fakeZoom(answers);
    const slept: number[] = [];
    let now = Date.parse("2026-11-28T00:00:00Z");
    const c = createZoomClient({
      apiUrl: "https://api.test/v2",
      fetch: fetchFn,
      tokenProvider: createZoomTokenProvider({
        credentials: { accountId: "a", clientId: "c", clientSecret: "secret-123" },
        oauthUrl: "https://oauth.test/oauth/token",
        fetch: fetchFn,
      }),
      timer: {
        now: () => now,
        // Sleeping moves the clock: the pacing bucket refills as it would in real time.
        sleep: async (ms: number) => {
          slept.push(ms);
          now += ms;
        },
      },
      random: () => 0.5,
    });
    return { c, calls, slept };
  }

  it("retries a token endpoint that is briefly down", async () => {
    const { c, calls } = await client({
      oauth: [{ status: 503, body: { reason: "down" } }, token],
      api: [page],
    });
    const users = [];
    for await (const u of c.listUsers()) users.push(u);
    expect(users.map((u) => u.id)).toEqual(["u1"]);
    expect(calls).toEqual(["oauth", "oauth", "/users?status=active&page_size=300"]);
  });

  it("waits for a Retry-After given as an HTTP date, then succeeds", async () => {
    const { c, slept } = await client({
      oauth: [token],
      api: [
        {
          status: 429,
          body: { code: 429, message: "per-second" },
          headers: { "retry-after": "Sat, 28 Nov 2026 00:00:03 GMT", "x-ratelimit-type": "QPS" },
        },
        { status: 204 },
      ],
    });
    await c.updateUserType("u1", 1);
    expect(slept).toContain(3000);
    expect(c.stats()).toEqual({ requests: 2, throttled: 1, retries: 1 });
  });

  it("treats a 429 whose message says daily as the daily limit even without X-RateLimit-Type", async () => {
    const { c, calls } = await client({
      oauth: [token],
      api: [
        {
          status: 429,
          body: { code: 429, message: "You have exceeded the daily rate limit (6000) of Light API requests" },
          headers: {
            "x-ratelimit-category": "Light",
            "x-ratelimit-limit": "6000",
            "x-ratelimit-remaining": "0",
          },
        },
      ],
    });
    await expect(c.updateUserType("u1", 1)).rejects.toMatchObject({
      code: "ERR_QUOTA_EXHAUSTED",
      status: 429,
    });
    expect(calls.filter((x) => x !== "oauth")).toHaveLength(1);
  });
});
