/**
 * The Resource Graph simulator in a worker thread, for the ARG benchmarks. ARG is a remote service:
 * serialising 15 pages of 1,000 VMs at once must not starve the client's event loop, as it would
 * with both in one thread. The worker generates the same seeded dataset as the main thread (cheaper
 * than copying 330,000 rows across) and answers control messages.
 *
 * Beside it, in the same worker, runs the calibration simulator: the same service code, one VM, no
 * latency and no quota, so that the calibrated request rate is the one this worker arrangement
 * reaches (and not a simulator in the client's own thread).
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
const firstSub = azure.subscriptions[0];
const calibration = await startSimulator({
  dataset: {
    azure: {
      subscriptions: azure.subscriptions.slice(0, 1),
      resources: azure.resources.filter((r) => r.subscriptionId === firstSub?.subscriptionId).slice(0, 1),
      quota: { limit: 1_000_000_000, windowSeconds: 1 },
    },
  },
  services: ["arg"],
});
const sim = await startSimulator({
  dataset: { azure: { ...azure, quota: data.quota } },
  services: ["arg"],
  latency: { arg: data.latency },
});
serveSimulatorControls(
  {
    stats: () => sim.stats(),
    resetStats: () => sim.resetStats(),
    close: async () => {
      await Promise.all([sim.close(), calibration.close()]);
    },
  },
  { httpsUrl: sim.httpsUrl, ca: sim.ca, calibrationUrl: calibration.httpsUrl, calibrationCa: calibration.ca },
);
