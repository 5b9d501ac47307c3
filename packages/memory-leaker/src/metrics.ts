import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { InvalidInputError } from "@cloudadmin/errors";
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { LeakRun, LeakSample } from "./types.js";

/** Options of {@link createLeakMetrics}. */
export interface LeakMetricsOptions {
  /** Registry to add to (default: a new one). */
  registry?: Registry;
  /** Prefix of the leak's own metrics (default `leaker_`). */
  prefix?: string;
  /** Also register prom-client's default process and Node.js metrics (default true). */
  defaultMetrics?: boolean;
}

/**
 * Registers Prometheus gauges for a leak run. Every value is read at scrape time (one fresh sample
 * per scrape: the cgroup files, `/proc/self/oom_score`, `process.memoryUsage()`), never cached
 * from the last block.
 *
 * @example
 * ```ts
 * const registry = createLeakMetrics(run);
 * const server = await startMetricsServer({ registry, port: 9464 });
 * for await (const sample of run) console.log(sample.cgroup.workingSetBytes);
 * await server.close();
 * ```
 */
export function createLeakMetrics(
  run: Pick<LeakRun, "sample" | "environment">,
  options: LeakMetricsOptions = {},
): Registry {
  const registry = options.registry ?? new Registry();
  const prefix = options.prefix ?? "leaker_";
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  // One sample per scrape, shared by the gauges: prom-client collects metrics in registration
  // order, so the first gauge ("blocks") takes a fresh sample and the others reuse it.
  let cached: LeakSample | null = null;
  const current = (fresh = false): LeakSample => {
    if (fresh || cached === null) cached = run.sample("snapshot");
    return cached;
  };
  const gauge = (name: string, help: string, read: (s: LeakSample) => number | null, fresh = false): void => {
    new Gauge({
      name: prefix + name,
      help,
      registers: [registry],
      collect() {
        const value = read(current(fresh));
        if (value === null) this.reset();
        else this.set(value);
      },
    });
  };

  gauge("blocks", "Blocks allocated so far", (s) => s.block, true);
  gauge("allocated_bytes", "Bytes allocated (outside the V8 heap)", (s) => s.allocatedBytes);
  gauge("touched_bytes", "Bytes whose pages were written, so resident", (s) => s.touchedBytes);
  gauge("rss_bytes", "Resident set size of the process", (s) => s.rssBytes);
  gauge("external_bytes", "V8 external memory (where the blocks live)", (s) => s.externalBytes);
  gauge("oom_score", "/proc/self/oom_score", (s) => s.oomScore);
  gauge("oom_score_adj", "/proc/self/oom_score_adj", (s) => s.oomScoreAdj);
  gauge(
    "cgroup_usage_bytes",
    "cgroup memory usage (v1 usage_in_bytes, v2 memory.current)",
    (s) => s.cgroup.usageBytes,
  );
  gauge(
    "cgroup_limit_bytes",
    "Effective cgroup memory limit: the smallest among the cgroup and its ancestors",
    (s) => s.cgroup.limitBytes,
  );
  gauge(
    "inactive_file_bytes",
    "cgroup inactive_file (v1 total_inactive_file)",
    (s) => s.cgroup.inactiveFileBytes,
  );
  gauge(
    "working_set_bytes",
    "cgroup working set = usage - inactive_file (what kubectl top and the kubelet use)",
    (s) => s.cgroup.workingSetBytes,
  );
  gauge("limit_headroom_bytes", "Effective limit minus the working set", (s) =>
    s.cgroup.limitBytes === null || s.cgroup.workingSetBytes === null
      ? null
      : s.cgroup.limitBytes - s.cgroup.workingSetBytes,
  );

  const events = new Gauge({
    name: `${prefix}cgroup_oom_events`,
    help: "cgroup OOM counters: type=oom (v2 memory.events oom), type=oom_kill (processes killed)",
    labelNames: ["type"],
    registers: [registry],
    collect() {
      const s = current();
      this.reset();
      if (s.cgroup.oomEvents !== null) this.set({ type: "oom" }, s.cgroup.oomEvents);
      if (s.cgroup.oomKillEvents !== null) this.set({ type: "oom_kill" }, s.cgroup.oomKillEvents);
    },
  });
  void events;

  const info = new Gauge({
    name: `${prefix}info`,
    help: "What was detected at start (value is always 1)",
    labelNames: ["cgroup_version", "page_size", "container_runtime", "kubernetes", "qos_class", "thp"],
    registers: [registry],
  });
  const env = run.environment;
  info.set(
    {
      cgroup_version: String(env.cgroup?.version ?? "none"),
      page_size: String(env.pageSize),
      container_runtime: env.runtime.containerRuntime ?? "none",
      kubernetes: String(env.runtime.kubernetes !== null),
      qos_class: env.runtime.kubernetes?.qosClass ?? "unknown",
      thp: env.transparentHugePages ?? "unknown",
    },
    1,
  );
  return registry;
}

/** A running `/metrics` endpoint. */
export interface MetricsServer {
  /** `http://host:port/metrics`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Options of {@link startMetricsServer}. */
export interface StartMetricsServerOptions {
  registry: Registry;
  /** TCP port (0 = any free port). */
  port: number;
  /** Address to listen on (default `0.0.0.0`, so Prometheus can scrape a pod). */
  host?: string;
}

/**
 * Serves `GET /metrics` (Prometheus text format) over `node:http`; anything else is 404. A port
 * outside 0..65535 is `ERR_INVALID_INPUT`; a port that cannot be bound rejects with Node's error
 * (`EADDRINUSE`, `EACCES`).
 */
export async function startMetricsServer(options: StartMetricsServerOptions): Promise<MetricsServer> {
  const { registry, port } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidInputError(`port must be a whole number from 0 to 65535 (got ${String(port)})`, {
      scope: "leak-memory",
      phase: "metrics",
    });
  }
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "GET" || path !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found: try GET /metrics\n");
      return;
    }
    registry.metrics().then(
      (body) => response.writeHead(200, { "content-type": registry.contentType }).end(body),
      (error: unknown) => response.writeHead(500, { "content-type": "text/plain" }).end(`${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, options.host ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/metrics`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
