import { Worker, parentPort } from "node:worker_threads";
import type { SimStats } from "@cloudadmin/cloud-sim";

/**
 * A simulator in a worker thread, for the benchmarks. The simulated services are remote: their work
 * (routing, limits, latency, serialising big pages) must not share the client's event loop, as it
 * would with both in one thread. The worker module starts the simulator and calls
 * `serveSimulatorControls`; the scenario calls `startSimulatorWorker` with that module.
 */

interface ControlRequest {
  id: number;
  op: string;
}

/** What a worker's simulator must offer to be controlled from the scenario's thread. */
interface ControlledSimulator {
  stats(): SimStats;
  resetStats(): void;
  close(): Promise<void>;
}

/**
 * Worker side: posts `ready` (addresses, credentials: what the client needs), then answers the
 * scenario's `stats`, `resetStats` and `close`, and the worker's own `extra` operations.
 */
export function serveSimulatorControls(
  sim: ControlledSimulator,
  ready: Record<string, unknown>,
  extra: Record<string, () => unknown> = {},
): void {
  parentPort?.postMessage(ready);
  parentPort?.on("message", async ({ id, op }: ControlRequest) => {
    if (op === "close") {
      await sim.close();
      parentPort?.postMessage({ id });
      parentPort?.close();
      return;
    }
    const value = op === "stats" ? sim.stats() : op === "resetStats" ? sim.resetStats() : extra[op]?.();
    parentPort?.postMessage({ id, value });
  });
}

/** The scenario's handle on a worker's simulator: its `ready` fields plus the controls. */
export type RemoteSimulator<Ready> = Ready & {
  /** One of the worker's `extra` operations. */
  call(op: string): Promise<unknown>;
  stats(): Promise<SimStats>;
  resetStats(): Promise<void>;
  close(): Promise<void>;
};

/** Scenario side: starts the worker module with `workerData` and waits for its ready message. */
export async function startSimulatorWorker<Ready extends Record<string, unknown>>(
  module: URL,
  workerData: unknown,
): Promise<RemoteSimulator<Ready>> {
  const worker = new Worker(module, { workerData });
  const ready = await new Promise<Ready>((resolve, reject) => {
    worker.once("error", reject);
    worker.once("message", resolve);
  });
  let next = 0;
  const pending = new Map<number, (value: unknown) => void>();
  worker.on("message", (msg: { id: number; value?: unknown }) => {
    pending.get(msg.id)?.(msg.value);
    pending.delete(msg.id);
  });
  const call = (op: string) =>
    new Promise<unknown>((resolve) => {
      const id = next++;
      pending.set(id, resolve);
      worker.postMessage({ id, op } satisfies ControlRequest);
    });
  return {
    ...ready,
    call,
    stats: async () => (await call("stats")) as SimStats,
    resetStats: async () => {
      await call("resetStats");
    },
    close: async () => {
      await call("close");
      await worker.terminate();
    },
  };
}
