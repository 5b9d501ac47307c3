/**
 * The AWS simulator in a worker thread, for the `ec2-org` benchmark. AWS is a remote service: its
 * work (routing, token buckets, 50 ms answers, serialising pages of 1,000 instances) must not share
 * the client's event loop, as it would with both in one thread. The worker generates the same
 * seeded dataset as the main thread (cheaper than copying 30,000 instances across) and answers
 * control messages.
 */
import { workerData } from "node:worker_threads";
import { type AwsDataset, type Scale, generateDataset, startSimulator } from "@cloudadmin/cloud-sim";
import { serveSimulatorControls } from "../sim-worker.js";

export interface Ec2SimWorkerData {
  seed: number;
  scale: Scale;
  latencyMs: number;
  /** Calibration: EC2 buckets that never refuse. */
  unlimited: boolean;
}

interface AwsControls {
  limits: { ec2: { burst: number; perSecond: number }; ec2Unpaginated: { burst: number; perSecond: number } };
  assumeRoleCounts(): Record<string, number>;
}

const data = workerData as Ec2SimWorkerData;
const aws = generateDataset({ scale: data.scale, seed: data.seed, services: ["aws"] }).aws as AwsDataset;
const sim = await startSimulator({
  dataset: { aws },
  services: ["aws"],
  latency: { aws: { baseMs: data.latencyMs } },
});
const controls = sim.service("aws") as unknown as AwsControls;
if (data.unlimited) {
  const open = { burst: 1e12, perSecond: 1e12 };
  controls.limits = { ec2: open, ec2Unpaginated: open };
}
serveSimulatorControls(
  sim,
  { httpUrl: sim.httpUrl, env: sim.environment() },
  { assumeRoleCounts: () => controls.assumeRoleCounts() },
);
