import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Simulator, generateDataset, startSimulator } from "@cloudadmin/cloud-sim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers.js";

let sim: Simulator;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  sim = await startSimulator({ dataset: generateDataset({ scale: "small", seed: 2 }) });
  dir = await mkdtemp(join(tmpdir(), "doctor-"));
  const caFile = join(dir, "ca.pem");
  await writeFile(caFile, sim.ca);
  env = { ...sim.environment(), NODE_EXTRA_CA_CERTS: caFile, HOME: dir };
});
afterAll(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

type Row = { provider: string; status: string; credentials: string; endpoint: string; message: string };

describe("cloudadmin doctor", () => {
  it("checks every provider against the simulator and says where credentials come from", async () => {
    const r = await runCli(["doctor", "-o", "json"], { env });
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout).items as Row[];
    expect(rows.map((x) => [x.provider, x.status])).toEqual([
      ["aws", "ok"],
      ["azure", "ok"],
      ["graph", "ok"],
      ["zoom", "ok"],
    ]);
    expect(rows[0]?.credentials).toBe("AWS_ACCESS_KEY_ID (environment)");
    expect(rows[1]?.credentials).toBe("CLOUDADMIN_ARM_TOKEN (bearer token)");
    expect(rows[1]?.endpoint).toBe(sim.httpsUrl);
    // Every provider made one real call.
    const ops = sim.stats().byOperation;
    expect(Object.keys(ops).some((k) => k.startsWith("aws:"))).toBe(true);
    expect(Object.keys(ops).some((k) => k.startsWith("arg:"))).toBe(true);
    expect(Object.keys(ops).some((k) => k.startsWith("graph:"))).toBe(true);
    expect(Object.keys(ops).some((k) => k.startsWith("zoom:"))).toBe(true);
  });

  it("a refused secret fails that provider with exit 3 and never prints the secret", async () => {
    const secret = "wrong-secret-value-7c1d9e";
    const r = await runCli(["doctor", "--providers", "zoom,azure", "-o", "json"], {
      env: { ...env, ZOOM_CLIENT_SECRET: secret },
    });
    expect(r.code).toBe(3);
    const rows = JSON.parse(r.stdout).items as Row[];
    expect(rows.find((x) => x.provider === "zoom")?.status).toBe("failed");
    expect(rows.find((x) => x.provider === "azure")?.status).toBe("ok");
    expect(r.stdout + r.stderr).not.toContain(secret);
    expect(r.stdout + r.stderr).not.toContain(env.CLOUDADMIN_ARM_TOKEN);
  });

  it("an unreachable endpoint fails with exit 4", async () => {
    const r = await runCli(["doctor", "--providers", "aws", "-o", "json", "--timeout", "5"], {
      env: { ...env, AWS_ENDPOINT_URL: "http://127.0.0.1:9" },
    });
    expect(r.code).toBe(4);
    const [row] = JSON.parse(r.stdout).items as Row[];
    expect(row).toMatchObject({ provider: "aws", status: "failed", endpoint: "http://127.0.0.1:9" });
  });

  it("an unconfigured Zoom is reported, not failed; --simulate needs no credentials", async () => {
    const r = await runCli(["doctor", "--providers", "zoom", "-o", "json"], { env: { HOME: dir } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).items[0].status).toBe("not-configured");
    const s = await runCli(["doctor", "--simulate", "-o", "json"], { env: { HOME: dir } });
    expect(s.code, s.stderr).toBe(0);
    expect(JSON.parse(s.stdout).summary).toEqual({ ok: 4, failed: 0, notConfigured: 0 });
  });

  it("an unknown provider is a usage error", async () => {
    const r = await runCli(["doctor", "--providers", "gcp"]);
    expect(r.code).toBe(2);
  });
});
