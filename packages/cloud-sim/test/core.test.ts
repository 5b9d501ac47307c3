import { request as httpsRequest } from "node:https";
import { afterEach, describe, expect, it } from "vitest";
import {
  type ServiceContext,
  type SimService,
  type Simulator,
  createRng,
  findDatasetProblems,
  generateDataset,
  startSimulator,
  validateDataset,
} from "../src/index.js";

/** A minimal service so the core can be tested on its own: GET /echo/<op>, limited by a bucket. */
function echoService(): SimService {
  return {
    name: "echo",
    classify: (req) =>
      req.url.pathname.startsWith("/echo/")
        ? { operation: req.url.pathname.slice(6), principal: "tester" }
        : null,
    handle: (req, info, ctx: ServiceContext) => {
      if (info.operation === "limited") {
        const take = ctx.bucket("echo:limited", { burst: 3, perSecond: 1 }).take();
        if (!take.ok) return { status: 429, throttled: true, body: { error: "slow down" } };
      }
      const units = Number(req.url.searchParams.get("units") ?? 0);
      return { status: 200, body: { op: info.operation, secure: req.secure }, latencyUnits: units };
    },
    faultResponse: (kind) =>
      kind === "throttle"
        ? { status: 429, body: { error: "injected throttle" } }
        : { status: 503, body: { error: "injected" } },
  };
}

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(options: Parameters<typeof startSimulator>[0] = {}): Promise<Simulator> {
  sim = await startSimulator({ services: [], customServices: [echoService()], ...options });
  return sim;
}

describe("cloud-sim core", () => {
  it("routes to the service and counts every request exactly", async () => {
    const s = await start();
    for (let i = 0; i < 7; i++) expect((await fetch(`${s.httpUrl}/echo/a`)).status).toBe(200);
    for (let i = 0; i < 3; i++) await (await fetch(`${s.httpUrl}/echo/b`)).text();
    const unknown = await fetch(`${s.httpUrl}/nothing/here`);
    expect(unknown.status).toBe(404);
    const stats = s.stats();
    expect(stats.total).toBe(11);
    expect(stats.byOperation).toEqual({ "echo:a": 7, "echo:b": 3 });
    expect(stats.byStatus).toEqual({ "200": 10, "404": 1 });
    expect(s.requestLog).toHaveLength(11);
    expect(s.requestLog[0]).toMatchObject({
      service: "echo",
      operation: "a",
      principal: "tester",
      status: 200,
    });
    s.resetStats();
    expect(s.stats().total).toBe(0);
  });

  it("adds the modelled latency, base plus per unit", async () => {
    const s = await start({ latency: { baseMs: 60, perUnitMs: 0.5 } });
    await (await fetch(`${s.httpUrl}/echo/x`)).text();
    await (await fetch(`${s.httpUrl}/echo/x?units=200`)).text();
    // What the model decided for each answer (timings belong in the benchmarks, not in tests).
    expect(s.requestLog.map((r) => r.modelledMs)).toEqual([60, 160]);
  });

  it("models a token bucket: burst, then refusals", async () => {
    const s = await start();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`${s.httpUrl}/echo/limited`)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(s.stats().throttled).toBe(2);
  });

  it("injects 5xx errors in the service's shape", async () => {
    const s = await start({ faults: { errorRate: 1 } });
    const res = await fetch(`${s.httpUrl}/echo/x`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: "injected" });
    expect(s.stats().faults.error).toBe(1);
  });

  it("injects connection resets", async () => {
    const s = await start({ faults: { resetRate: 1 } });
    await expect(fetch(`${s.httpUrl}/echo/x`)).rejects.toThrow();
    expect(s.stats().faults.reset).toBe(1);
    expect(s.requestLog[0]?.status).toBe(0);
  });

  it("injects slow responses", async () => {
    const s = await start({ faults: { slowRate: 1, slowMs: 120 } });
    expect((await fetch(`${s.httpUrl}/echo/x`)).status).toBe(200);
    expect(s.requestLog[0]?.modelledMs).toBe(120);
    expect(s.stats().faults.slow).toBe(1);
  });

  it("injects throttling, at random and as a burst window", async () => {
    const s = await start({ faults: { throttleRate: 1 } });
    expect((await fetch(`${s.httpUrl}/echo/x`)).status).toBe(429);
    s.setFaults({ throttleRate: 0, throttleBursts: [{ startMs: 0, durationMs: 60_000 }] });
    expect((await fetch(`${s.httpUrl}/echo/x`)).status).toBe(429);
    s.setFaults({ throttleBursts: [] });
    expect((await fetch(`${s.httpUrl}/echo/x`)).status).toBe(200);
    expect(s.stats().throttled).toBe(2);
    expect(s.stats().faults.burst).toBe(1);
  });

  it("injects a seeded share of faults, the same for the same seed", async () => {
    const run = async () => {
      const s = await start({ seed: 42, faults: { errorRate: 0.3 } });
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) statuses.push((await fetch(`${s.httpUrl}/echo/x`)).status);
      await s.close();
      sim = undefined;
      return statuses;
    };
    const a = await run();
    const b = await run();
    expect(a).toEqual(b);
    const errors = a.filter((x) => x === 503).length;
    expect(errors).toBeGreaterThan(3);
    expect(errors).toBeLessThan(25);
  });

  it("serves HTTPS with the generated certificate, trusted through `ca`", async () => {
    const s = await start();
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(`${s.httpsUrl}/echo/tls`, { ca: s.ca }, (res) => {
        let text = "";
        res.on("data", (d) => {
          text += d;
        });
        res.on("end", () => resolve(text));
      });
      req.on("error", reject);
      req.end();
    });
    expect(JSON.parse(body)).toEqual({ op: "tls", secure: true });
    // Without trusting it, TLS verification fails.
    await expect(
      new Promise((resolve, reject) => {
        const req = httpsRequest(`${s.httpsUrl}/echo/tls`, {}, resolve);
        req.on("error", reject);
        req.end();
      }),
    ).rejects.toThrow(/self[- ]signed|certificate/i);
  });

  it("listens on loopback only", async () => {
    await expect(startSimulator({ host: "0.0.0.0", services: [] })).rejects.toThrow(/loopback/);
  });
});

describe("datasets", () => {
  it("names the JSON path of an unknown key", () => {
    expect(() => validateDataset({ aws: {}, azur: {} })).toThrow(/\$\.azur is not a known key/);
    expect(findDatasetProblems({ gcp: 1 })[0]).toEqual({ path: "$.gcp", message: "is not a known key" });
  });

  it("rejects a dataset that is not an object", () => {
    expect(() => validateDataset([1, 2])).toThrow(/dataset: \$ must be object/);
  });

  it("generates the same dataset for the same seed, and validates what it generates", () => {
    const a = generateDataset({ scale: "small", seed: 5 });
    const b = generateDataset({ scale: "small", seed: 5 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(validateDataset(a)).toBe(a);
  });

  it("has a seeded random generator", () => {
    const r1 = createRng(9);
    const r2 = createRng(9);
    const xs = Array.from({ length: 5 }, () => r1.int(0, 1000));
    expect(Array.from({ length: 5 }, () => r2.int(0, 1000))).toEqual(xs);
    expect(createRng(9).fork("a").next()).not.toBe(createRng(9).fork("b").next());
    expect(createRng(1).uuid()).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});
