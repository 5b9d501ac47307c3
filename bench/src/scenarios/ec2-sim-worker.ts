/**
 * The AWS simulator in a worker thread, for the `ec2-org` benchmark. AWS is a remote service: its
 * work (routing, token buckets, 50 ms answers, serialising pages of 1,000 instances) must not share
 * the client's event loop, as it would with both in one thread. The worker generates the same
 * seeded dataset as the main thread (cheaper than copying 30,000 instances across) and answers
 * control messages.
 */
import { parentPort, workerData } from "node:worker_threads";
import { type AwsDataset, type Scale, generateDataset, startSimulator } from "@cloudadmin/cloud-sim";

export interface Ec2SimWorkerData {
  seed: number;
  scale: Scale;
  latencyMs: number;
  /** Calibration: EC2 buckets that never refuse. */
  unlimited: boolean;
}

export type Ec2SimRequest = { id: number; op: "stats" | "resetStats" | "assumeRoleCounts" | "close" };

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
parentPort?.postMessage({ ready: true, httpUrl: sim.httpUrl, env: sim.environment() });
parentPort?.on("message", async (msg: Ec2SimRequest) => {
  if (msg.op === "stats") parentPort?.postMessage({ id: msg.id, value: sim.stats() });
  else if (msg.op === "assumeRoleCounts")
    parentPort?.postMessage({ id: msg.id, value: controls.assumeRoleCounts() });
  else if (msg.op === "resetStats") {
    sim.resetStats();
    parentPort?.postMessage({ id: msg.id });
  } else if (msg.op === "close") {
    await sim.close();
    parentPort?.postMessage({ id: msg.id });
    parentPort?.close();
  }
});
