import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export interface SimulatorSession {
  httpUrl: string;
  httpsUrl: string;
  /** PEM of the simulator's HTTPS certificate: pass as `ca` to clients in this process. */
  ca: string;
  /** A file holding `ca`, for child processes (NODE_EXTRA_CA_CERTS). */
  caFile: string;
  /** Variables that point the job's clients at the simulator (and sim credentials). */
  env: Record<string, string>;
  close(): Promise<void>;
}

export interface EmbeddedSimulatorOptions {
  scale: "small" | "large";
  datasetFile?: string | undefined;
  services: Array<"aws" | "arg" | "graph" | "zoom">;
  cwd: string;
  seed?: number;
  latencyMs?: number;
}

/** Starts cloud-sim in this process for `--simulate` (loaded lazily: only simulate runs pay for it). */
export async function startEmbeddedSimulator(options: EmbeddedSimulatorOptions): Promise<SimulatorSession> {
  const sim = await import("@cloudadmin/cloud-sim");
  const dataset = options.datasetFile
    ? await sim.loadDataset(resolve(options.cwd, options.datasetFile))
    : sim.generateDataset({ scale: options.scale, seed: options.seed ?? 1, services: options.services });
  const running = await sim.startSimulator({
    dataset,
    services: options.services,
    ...(options.latencyMs === undefined ? {} : { latency: options.latencyMs }),
  });
  const caFile = join(tmpdir(), `cloudadmin-sim-ca-${process.pid}-${Date.now()}.pem`);
  await writeFile(caFile, running.ca, { mode: 0o600 });
  return {
    httpUrl: running.httpUrl,
    httpsUrl: running.httpsUrl,
    ca: running.ca,
    caFile,
    env: { ...running.environment(), NODE_EXTRA_CA_CERTS: caFile, CLOUDADMIN_SIM_CA_FILE: caFile },
    close: async () => {
      await running.close();
      const { rm } = await import("node:fs/promises");
      await rm(caFile, { force: true });
    },
  };
}
