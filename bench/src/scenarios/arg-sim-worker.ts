/**
 * The Resource Graph simulator in a worker thread, for the ARG benchmarks. ARG is a remote service:
 * serialising 15 pages of 1,000 VMs at once must not starve the client's event loop, as it would
 * with both in one thread. The worker generates the same seeded dataset as the main thread (cheaper
 * than copying 330,000 rows across) and answers control messages.
 */
import { workerData } from "node:worker_threads";
import {
  type AzureGenerateOptions,
  createRng,
  generateAzureDataset,
  startSimulator,
} from "@cloudadmin/cloud-sim";
import { serveSimulatorControls } from "../sim-worker.js";

export interface ArgSimWorkerData {
  seed: number;
  options: AzureGenerateOptions;
  quota: { limit: number; windowSeconds: number };
  latency: { baseMs: number; perUnitMs: number };
}

const data = workerData as ArgSimWorkerData;
const azure = generateAzureDataset(createRng(data.seed).fork("arg"), data.options);
const sim = await startSimulator({
  dataset: { azure: { ...azure, quota: data.quota } },
  services: ["arg"],
  latency: { arg: data.latency },
});
serveSimulatorControls(sim, { httpsUrl: sim.httpsUrl, ca: sim.ca });
