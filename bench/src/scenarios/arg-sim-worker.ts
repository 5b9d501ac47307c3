/**
 * The Resource Graph simulator in a worker thread, for the ARG benchmarks. ARG is a remote service:
 * serialising 15 pages of 1,000 VMs at once must not starve the client's event loop, as it would
 * with both in one thread. The worker generates the same seeded dataset as the main thread (cheaper
 * than copying 330,000 rows across) and answers control messages.
 */
import { parentPort, workerData } from "node:worker_threads";
import { createRng, startSimulator } from "@cloudadmin/cloud-sim";
import { type AzureGenerateOptions, generateAzureDataset } from "@cloudadmin/cloud-sim";

export interface ArgSimWorkerData {
  seed: number;
  options: AzureGenerateOptions;
  quota: { limit: number; windowSeconds: number };
  latency: { baseMs: number; perUnitMs: number };
}

export type ArgSimRequest = { id: number; op: "stats" | "resetStats" | "close" };

const data = workerData as ArgSimWorkerData;
const azure = generateAzureDataset(createRng(data.seed).fork("arg"), data.options);
const sim = await startSimulator({
  dataset: { azure: { ...azure, quota: data.quota } },
  services: ["arg"],
  latency: { arg: data.latency },
});
parentPort?.postMessage({ ready: true, httpsUrl: sim.httpsUrl, ca: sim.ca });
parentPort?.on("message", async (msg: ArgSimRequest) => {
  if (msg.op === "stats") parentPort?.postMessage({ id: msg.id, stats: sim.stats() });
  else if (msg.op === "resetStats") {
    sim.resetStats();
    parentPort?.postMessage({ id: msg.id });
  } else if (msg.op === "close") {
    await sim.close();
    parentPort?.postMessage({ id: msg.id });
    parentPort?.close();
  }
});
