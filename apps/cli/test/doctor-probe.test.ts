import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Dataset, type Simulator, generateDataset, startSimulator } from "@cloudadmin/cloud-sim";
import { describe, expect, it } from "vitest";
import { runCli } from "./helpers.js";

type Row = { provider: string; assumption: string; status: string; detail: string };

/** Runs `doctor --probe` against a simulator built from `patch(dataset)`, with `tune` applied to it. */
async function probe(
  patch: (d: Dataset) => Dataset = (d) => d,
  tune: (sim: Simulator) => void = () => {},
  providers = "aws,azure,graph,zoom",
) {
  const sim = await startSimulator({ dataset: patch(generateDataset({ scale: "small", seed: 2 })) });
  const dir = await mkdtemp(join(tmpdir(), "doctor-probe-"));
  try {
    tune(sim);
    const caFile = join(dir, "ca.pem");
    await writeFile(caFile, sim.ca);
    const env: Record<string, string | undefined> = {
      ...sim.environment(),
      NODE_EXTRA_CA_CERTS: caFile,
      HOME: dir,
    };
    const r = await runCli(["doctor", "--probe", "--providers", providers, "-o", "json"], { env });
    const rows = r.stdout ? (JSON.parse(r.stdout).items as Row[]) : [];
    return {
      ...r,
      rows,
      secrets: [env.CLOUDADMIN_ARM_TOKEN, env.CLOUDADMIN_GRAPH_TOKEN, env.ZOOM_CLIENT_SECRET],
    };
  } finally {
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const of = (rows: Row[], provider: string) => rows.filter((r) => r.provider === provider);

describe("cloudadmin doctor --probe", () => {
  it("reports every assumption as holding against the simulator's defaults, exit 0, no secret shown", async () => {
    const r = await probe();
    expect(r.code, r.stderr + JSON.stringify(r.rows, null, 1)).toBe(0);
    expect(r.rows.every((x) => x.status === "holds")).toBe(true);
    // Each configured provider: its basic check first, then its own probes.
    for (const provider of ["aws", "azure", "graph", "zoom"]) {
      expect(of(r.rows, provider)[0]?.assumption).toMatch(/credentials work/);
    }
    expect(of(r.rows, "azure").length).toBe(4);
    expect(of(r.rows, "graph").length).toBeGreaterThanOrEqual(2);
    expect(of(r.rows, "zoom").length).toBe(4);
    // No SSO profile here: the SSO refresh probe does not apply, so aws has its basic check only.
    expect(of(r.rows, "aws").length).toBe(1);
    for (const secret of r.secrets) expect(r.stdout + r.stderr).not.toContain(secret as string);
  });

  it.each([
    ["first-page", /pages it/i],
    ["truncated", /pages it/i],
  ] as const)(
    "ARG answering a nested summarize %s: the paging assumption differs, exit 5",
    async (mode, which) => {
      const r = await probe(
        (d) => ({ ...d, azure: { ...d.azure, service: { nestedSummarize: mode } } }) as Dataset,
        () => {},
        "azure",
      );
      expect(r.code, r.stderr).toBe(5);
      const paging = of(r.rows, "azure").find((x) => which.test(x.assumption));
      expect(paging?.status).toBe("differs");
    },
  );

  it("ARG without quota headers: the quota assumption differs, exit 5", async () => {
    const r = await probe(
      (d) => ({ ...d, azure: { ...d.azure, service: { quotaHeaders: false } } }) as Dataset,
      () => {},
      "azure",
    );
    expect(r.code, r.stderr).toBe(5);
    expect(of(r.rows, "azure").find((x) => /quota/i.test(x.assumption))?.status).toBe("differs");
  });

  it.each(["different", "absent"] as const)(
    "Graph's $value ETag %s from the mediaEtag: the version assumption does not hold, exit 5",
    async (valueEtag) => {
      const r = await probe(
        (d) => d,
        (sim) =>
          (sim.service("graph") as unknown as { setPhotoBehaviour(p: object): void }).setPhotoBehaviour({
            valueEtag,
          }),
        "graph",
      );
      expect(r.code, r.stderr).toBe(5);
      const etag = of(r.rows, "graph").find((x) => /mediaEtag/i.test(x.assumption));
      expect(etag?.status).not.toBe("holds");
    },
  );

  it.each(["QPS", "Per-second-limit", "daily-quota-in-limit", "missing"] as const)(
    "Zoom answering 429s in the %s form: the probe still reads one response's headers without a secret",
    async (perSecond) => {
      const r = await probe(
        (d) => ({ ...d, zoom: { ...d.zoom, rateLimitHeaders: { perSecond } } }) as Dataset,
        () => {},
        "zoom",
      );
      expect([0, 5]).toContain(r.code);
      expect(of(r.rows, "zoom").length).toBe(4);
      for (const secret of r.secrets) expect(r.stdout + r.stderr).not.toContain(secret as string);
    },
  );

  it("a provider whose credentials fail is not probed, and the exit code says why (3)", async () => {
    const sim = await startSimulator({ dataset: generateDataset({ scale: "small", seed: 2 }) });
    const dir = await mkdtemp(join(tmpdir(), "doctor-probe-"));
    try {
      const caFile = join(dir, "ca.pem");
      await writeFile(caFile, sim.ca);
      const env = {
        ...sim.environment(),
        NODE_EXTRA_CA_CERTS: caFile,
        HOME: dir,
        ZOOM_CLIENT_SECRET: "nope-123456",
      };
      const r = await runCli(["doctor", "--probe", "--providers", "zoom", "-o", "json"], { env });
      expect(r.code).toBe(3);
      const rows = JSON.parse(r.stdout).items as Row[];
      expect(rows).toHaveLength(1);
      expect(rows[0]?.status).toBe("differs");
      expect(r.stdout + r.stderr).not.toContain("nope-123456");
    } finally {
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
