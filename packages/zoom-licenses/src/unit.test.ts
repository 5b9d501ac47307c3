import { AbortedError } from "@cloudadmin/errors";
import type { Timer } from "@cloudadmin/paging";
import { describe, expect, it } from "vitest";
import { AimdPacer } from "./pacer.js";
import { decideLicense, inactivityCutoff } from "./plan.js";
import { classifyThrottle } from "./throttle.js";
import { createZoomTokenProvider } from "./token-provider.js";

/**
 * A clock that moves only when the code under test waits: a wait shorter than 10 s passes at once
 * (and is recorded); a longer one is a request deadline, which these tests never reach.
 */
function steppingTimer(start = 0) {
  let now = start;
  const slept: number[] = [];
  const timer: Timer = {
    now: () => now,
    sleep: (ms, signal) => {
      if (ms >= 10_000) {
        return new Promise((_, reject) =>
          signal?.addEventListener("abort", () => reject(new AbortedError()), { once: true }),
        );
      }
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
  return { timer, slept, advance: (ms: number) => (now += ms) };
}

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
    expect(new Date(inactivityCutoff({ now: NOW, months: 1200 })).toISOString()).toBe(
      "1926-05-31T12:00:00.000Z",
    );
  });

  it("refuses periods out of range (the cutoff would overflow) and months with days, naming its options", () => {
    for (const bad of [
      { months: 0 },
      { months: 1201 },
      { months: 3_300_000 },
      { months: 2.5 },
      { days: 0 },
      { days: 36_501 },
    ]) {
      expect(() => inactivityCutoff({ now: NOW, ...bad }), JSON.stringify(bad)).toThrow(
        expect.objectContaining({
          code: "ERR_INVALID_INPUT",
          message: expect.stringMatching(/^(months|days) must be a whole number from 1 to/),
        }),
      );
    }
    expect(() => inactivityCutoff({ now: NOW, months: 3, days: 10 })).toThrow(
      /give months or days, not both/,
    );
    expect(inactivityCutoff({ now: NOW, days: 36_500 })).toBe(NOW - 36_500 * 86_400_000);
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
    const { timer, advance } = steppingTimer(1_000_000);
    const { calls, fetchFn } = fakeOAuth();
    const provider = createZoomTokenProvider({
      credentials: { accountId: "acc", clientId: "cid", clientSecret: "s3cret-value" },
      oauthUrl: "https://oauth.test/oauth/token",
      fetch: fetchFn,
      timer,
    });
    const [a, b] = await Promise.all([provider.getToken(), provider.getToken()]);
    expect([a, b]).toEqual(["token-number-1", "token-number-1"]);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.url).toBe(
      "https://oauth.test/oauth/token?grant_type=account_credentials&account_id=acc",
    );
    expect(calls[0]?.auth).toBe(`Basic ${Buffer.from("cid:s3cret-value").toString("base64")}`);
    advance(3599_000 - 5 * 60_000 - 1);
    expect(await provider.getToken()).toBe("token-number-1");
    advance(2);
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

  it("shows Zoom's code and message whatever the error body's shape, never [object Object]", async () => {
    const fetchFn = (async () =>
      new Response(JSON.stringify({ error: { code: 4711, message: "Invalid client_id or client_secret" } }), {
        status: 401,
      })) as typeof fetch;
    const provider = createZoomTokenProvider({
      credentials: { accountId: "acc", clientId: "cid", clientSecret: "third-s3cret" },
      fetch: fetchFn,
    });
    const error = (await provider.getToken().catch((e: unknown) => e)) as Error;
    expect(error.message).toBe(
      "Zoom refused the Server-to-Server OAuth request (401 4711: Invalid client_id or client_secret); check the account id, client id and client secret",
    );
  });

  it("refuses a plain-http token URL on a host that is not loopback before sending anything", () => {
    const { calls, fetchFn } = fakeOAuth();
    expect(() =>
      createZoomTokenProvider({
        credentials: { accountId: "acc", clientId: "cid", clientSecret: "fourth-s3cret" },
        oauthUrl: "http://zoom.example.test/oauth/token",
        fetch: fetchFn,
      }),
    ).toThrow(
      expect.objectContaining({
        code: "ERR_CONFIG",
        message: expect.stringMatching(
          /^the Zoom OAuth URL \(oauthUrl\) http:\/\/zoom\.example\.test uses plain http/,
        ),
      }),
    );
    expect(calls).toEqual([]);
  });
});

describe("classifyThrottle", () => {
  const at = Date.parse("2026-11-28T00:00:00Z");
  const perSecond = "You have reached the maximum per-second rate limit for this API. Try again later.";
  const daily =
    "You have exceeded the daily rate limit (6000) of Light API requests permitted for this account.";
  it.each([
    ["QPS type", { "x-ratelimit-type": "QPS", "x-ratelimit-limit": "30" }, perSecond, "per-second", "type"],
    ["Per-second-limit type", { "x-ratelimit-type": "Per-second-limit" }, perSecond, "per-second", "type"],
    [
      "Daily-limit type",
      { "x-ratelimit-type": "Daily-limit", "retry-after": "2026-11-29T00:00:00Z" },
      daily,
      "daily",
      "type",
    ],
    [
      "the daily quota in the limit, no type",
      { "x-ratelimit-limit": "6000", "x-ratelimit-remaining": "0" },
      perSecond,
      "per-second",
      "message",
    ],
    ["no headers, daily message", {}, daily, "daily", "message"],
    [
      "no headers, unknown message, a day's wait",
      { "retry-after": "2026-11-29T00:00:00Z" },
      "Too many requests",
      "daily",
      "retry-after",
    ],
    ["no headers, unknown message", {}, "Too many requests", "per-second", "default"],
  ] as const)("%s", (_name, headers, message, kind, decidedBy) => {
    expect(classifyThrottle(new Headers(headers), message, at)).toMatchObject({ kind, decidedBy });
  });
});

describe("AimdPacer", () => {
  it("halves once per round trip on 429s, rises by a step per second of success, never above the start", async () => {
    const { timer, advance } = steppingTimer();
    const pacer = new AimdPacer(10, timer);
    const early = await pacer.take();
    const alsoEarly = await pacer.take();
    advance(100);
    pacer.onThrottled(early, undefined);
    expect(pacer.currentRate()).toBe(5);
    // Sent before the decrease: its 429 says nothing new.
    pacer.onThrottled(alsoEarly, undefined);
    expect(pacer.currentRate()).toBe(5);
    const late = await pacer.take();
    advance(100);
    pacer.onThrottled(late, 1000);
    expect(pacer.currentRate()).toBe(2.5);
    pacer.onSuccess();
    expect(pacer.currentRate()).toBe(2.5);
    advance(1000);
    pacer.onSuccess();
    expect(pacer.currentRate()).toBe(3);
    for (let i = 0; i < 40; i++) {
      advance(1000);
      pacer.onSuccess();
    }
    expect(pacer.currentRate()).toBe(10);
  });

  it("holds every request of the category back for a Retry-After", async () => {
    const { timer, slept } = steppingTimer();
    const pacer = new AimdPacer(100, timer);
    const sent = await pacer.take();
    pacer.onThrottled(sent, 2000);
    const next = await pacer.take();
    expect(next - sent).toBeGreaterThanOrEqual(2000);
    expect(slept.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2000);
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
    const { timer, slept } = steppingTimer(Date.parse("2026-11-28T00:00:00Z"));
    const c = createZoomClient({
      apiUrl: "https://api.test/v2",
      fetch: fetchFn,
      tokenProvider: createZoomTokenProvider({
        credentials: { accountId: "a", clientId: "c", clientSecret: "secret-123" },
        oauthUrl: "https://oauth.test/oauth/token",
        fetch: fetchFn,
        timer,
      }),
      timer,
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

  it("a per-second 429 whose X-RateLimit-Limit holds the daily quota: retried, and the pace comes down", async () => {
    const { c, calls, slept } = await client({
      oauth: [token],
      api: [
        {
          status: 429,
          body: {
            code: 429,
            message: "You have reached the maximum per-second rate limit for this API. Try again later.",
          },
          headers: {
            "x-ratelimit-category": "Light",
            "x-ratelimit-limit": "6000",
            "x-ratelimit-remaining": "5990",
          },
        },
        { status: 204 },
      ],
    });
    await c.updateUserType("u1", 1);
    expect(calls.filter((x) => x !== "oauth")).toHaveLength(2);
    expect(c.stats()).toEqual({ requests: 2, throttled: 1, retries: 1 });
    // No Retry-After: paging's full-jitter backoff (random 0.5 of the 200 ms base).
    expect(slept).toContain(100);
    expect(c.rate("Light")).toBe(80 * 0.95 * 0.5);
  });

  it("a 401 after a new token: ERR_AUTH with Zoom's code and message", async () => {
    const { c, calls } = await client({
      oauth: [token],
      api: [{ status: 401, body: { code: 124, message: "Invalid access token." } }],
    });
    const error = (await c.updateUserType("u1", 1).catch((e: unknown) => e)) as Error & { code: string };
    expect(error.code).toBe("ERR_AUTH");
    expect(error.message).toBe(
      "Zoom refused the access token (124: Invalid access token.); check the app's scopes and credentials",
    );
    expect(calls).toEqual(["oauth", "/users/u1", "oauth", "/users/u1"]);
  });

  it("refuses a plain-http API URL on a host that is not loopback before any token is requested", async () => {
    const { createZoomClient } = await import("./client.js");
    const { calls, fetchFn } = fakeZoom({ oauth: [token], api: [page] });
    expect(() =>
      createZoomClient({
        apiUrl: "http://zoom.example.test/v2",
        fetch: fetchFn,
        tokenProvider: createZoomTokenProvider({
          credentials: { accountId: "a", clientId: "c", clientSecret: "secret-456" },
          oauthUrl: "https://oauth.test/oauth/token",
          fetch: fetchFn,
        }),
      }),
    ).toThrow(expect.objectContaining({ code: "ERR_CONFIG" }));
    expect(calls).toEqual([]);
  });
});
