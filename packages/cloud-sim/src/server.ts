import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { type Clock, systemClock } from "./clock.js";
import type { Dataset } from "./dataset.js";
import { createRng } from "./rng.js";
import { SERVICE_DEFINITIONS } from "./services/registry.js";
import { type SimCertificate, generateSimCertificate } from "./tls.js";
import { type BucketSpec, SimFixedWindow, SimTokenBucket } from "./token-bucket.js";
import {
  type FaultSettings,
  type LatencyModel,
  NO_FAULTS,
  type RequestInfo,
  SERVICE_NAMES,
  type ServiceContext,
  type ServiceName,
  type SimRequest,
  type SimResponse,
  type SimService,
} from "./types.js";

export interface SimulatorOptions {
  dataset?: Dataset;
  /** Services to run (default: all four). */
  services?: readonly ServiceName[];
  /** Loopback address to listen on (default 127.0.0.1). */
  host?: string;
  /** HTTP port (default: a free one). */
  port?: number;
  /** HTTPS port (default: a free one). */
  httpsPort?: number;
  /** One latency for everything (ms), one model, or one model per service. */
  latency?: number | LatencyModel | Partial<Record<ServiceName, LatencyModel>>;
  faults?: Partial<FaultSettings>;
  /** Seed for fault injection and anything else random in the services (default 1). */
  seed?: number;
  clock?: Clock;
  /** Certificate for the HTTPS listener (default: generated at start). */
  tls?: SimCertificate;
  /** More services beside the built-in ones (tests, extensions); tried first. */
  customServices?: SimService[];
  /** Request log entries kept (default 200,000; oldest dropped first). */
  logLimit?: number;
}

export type FaultKind = "error" | "reset" | "slow" | "throttle" | "burst";

export interface LoggedRequest {
  /** ms since the simulator started. */
  t: number;
  service: string | null;
  operation: string;
  principal?: string;
  method: string;
  /** Path and query. */
  path: string;
  /** 0 when the connection was reset. */
  status: number;
  /** ms from arrival to the end of the answer. */
  ms: number;
  /** The latency the model asked for this answer (base + per unit + a slow fault's delay), in ms. */
  modelledMs?: number;
  fault?: FaultKind;
  secure: boolean;
}

export interface SimStats {
  total: number;
  byService: Record<string, number>;
  /** Keyed `service:Operation`. */
  byOperation: Record<string, number>;
  byStatus: Record<string, number>;
  /** Answers that were throttling refusals (modelled limits and injected ones). */
  throttled: number;
  faults: Record<FaultKind, number>;
  /** Counters services keep (`photoBytes`, ...). */
  events: Record<string, number>;
  /** Most requests in flight at once, and per service. */
  maxInFlight: number;
}

export interface Simulator {
  /** `http://127.0.0.1:port` */
  readonly httpUrl: string;
  /** `https://127.0.0.1:port` */
  readonly httpsUrl: string;
  /** PEM certificate of the HTTPS listener, to trust it (`ca` options or NODE_EXTRA_CA_CERTS). */
  readonly ca: string;
  readonly dataset: Dataset;
  stats(): SimStats;
  resetStats(): void;
  readonly requestLog: readonly LoggedRequest[];
  setFaults(faults: Partial<FaultSettings>): void;
  /** The running service object, for tests that reach in (expire a token, say). */
  service(name: ServiceName | (string & {})): SimService;
  /** Environment variables that point cloudadmin (and the providers' own tools) at this simulator. */
  environment(): Record<string, string>;
  close(): Promise<void>;
}

function emptyStats(): SimStats {
  return {
    total: 0,
    byService: {},
    byOperation: {},
    byStatus: {},
    throttled: 0,
    faults: { error: 0, reset: 0, slow: 0, throttle: 0, burst: 0 },
    events: {},
    maxInFlight: 0,
  };
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

function latencyFor(option: SimulatorOptions["latency"], service: ServiceName): LatencyModel {
  if (option === undefined) return { baseMs: 0 };
  if (typeof option === "number") return { baseMs: option };
  if ("baseMs" in option && typeof option.baseMs === "number") return option as LatencyModel;
  return (option as Partial<Record<ServiceName, LatencyModel>>)[service] ?? { baseMs: 0 };
}

/** The status line's headers and the body bytes of an answer (objects become JSON). */
function serialize(answer: SimResponse): {
  headers: Record<string, string | number | string[]>;
  body: string | Buffer | undefined;
} {
  const headers: Record<string, string | number | string[]> = { ...answer.headers };
  if (answer.body === undefined || answer.body === null) return { headers, body: undefined };
  if (typeof answer.body === "string" || Buffer.isBuffer(answer.body)) return { headers, body: answer.body };
  if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
    headers["content-type"] = "application/json; charset=utf-8";
  }
  return { headers, body: JSON.stringify(answer.body) };
}

function inc(map: Record<string, number>, key: string, n = 1): void {
  map[key] = (map[key] ?? 0) + n;
}

/**
 * Starts the simulators on loopback: one HTTP and one HTTPS listener, both routing every request to
 * the service whose `classify` claims it, with the latency model, fault injection, request counting
 * and the request log applied the same way for every service.
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const host = options.host ?? "127.0.0.1";
  if (!LOOPBACK.has(host) && !host.startsWith("127.")) {
    throw new RangeError(`the simulator listens on loopback only, not ${host}`);
  }
  const clock = options.clock ?? systemClock;
  const rng = createRng(options.seed ?? 1);
  const faultRng = rng.fork("faults");
  const dataset = options.dataset ?? {};
  const names = options.services ?? SERVICE_NAMES;
  const services: SimService[] = [
    ...(options.customServices ?? []),
    ...names.map((name) => {
      const def = SERVICE_DEFINITIONS[name];
      return def.create(dataset[def.datasetKey], { clock, rng: rng.fork(name) });
    }),
  ];
  let faults: FaultSettings = { ...NO_FAULTS, ...options.faults };
  let stats = emptyStats();
  const log: LoggedRequest[] = [];
  const logLimit = options.logLimit ?? 200_000;
  const startedAt = clock.now();
  const buckets = new Map<string, SimTokenBucket>();
  const windows = new Map<string, SimFixedWindow>();
  let inFlight = 0;

  const ctx: ServiceContext = {
    clock,
    rng,
    get faults() {
      return faults;
    },
    bucket(key: string, spec: BucketSpec) {
      let b = buckets.get(key);
      if (!b) {
        b = new SimTokenBucket(spec, clock);
        buckets.set(key, b);
      }
      return b;
    },
    window(key: string, limit: number, windowMs: number) {
      let w = windows.get(key);
      if (!w) {
        w = new SimFixedWindow(limit, windowMs, clock);
        windows.set(key, w);
      }
      return w;
    },
    count(event: string, n = 1) {
      inc(stats.events, event, n);
    },
  };

  function pickFault(service: SimService, info: RequestInfo, elapsedMs: number): FaultKind | null {
    if (info.faultExempt) return null;
    if (faults.services && !faults.services.includes(service.name as ServiceName)) return null;
    if (faults.operations && !faults.operations.includes(info.operation)) return null;
    if (faults.throttleBursts.some((b) => elapsedMs >= b.startMs && elapsedMs < b.startMs + b.durationMs)) {
      return "burst";
    }
    const r = faultRng.next();
    let edge = faults.resetRate;
    if (r < edge) return "reset";
    edge += faults.errorRate;
    if (r < edge) return "error";
    edge += faults.throttleRate;
    if (r < edge) return "throttle";
    edge += faults.slowRate;
    if (r < edge) return "slow";
    return null;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, secure: boolean, origin: string) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const receivedAt = clock.now();
    const simReq: SimRequest = {
      method: req.method ?? "GET",
      url: new URL(req.url ?? "/", origin),
      headers: req.headers,
      body: Buffer.concat(chunks),
      secure,
      origin,
      receivedAt,
    };
    let service: SimService | undefined;
    let info: RequestInfo | null = null;
    for (const s of services) {
      info = s.classify(simReq);
      if (info) {
        service = s;
        break;
      }
    }
    stats.total++;
    inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
    const entry: LoggedRequest = {
      t: receivedAt - startedAt,
      service: service?.name ?? null,
      operation: info?.operation ?? "unknown",
      method: simReq.method,
      path: req.url ?? "/",
      status: 0,
      ms: 0,
      secure,
    };
    if (info?.principal) entry.principal = info.principal;
    if (log.length >= logLimit) log.shift();
    log.push(entry);
    try {
      let answer: SimResponse;
      let serialized: ReturnType<typeof serialize> | undefined;
      let extraMs = 0;
      if (!service || !info) {
        answer = {
          status: 404,
          body: {
            error: {
              code: "NoSuchService",
              message: `no simulated service answers ${simReq.method} ${simReq.url.pathname}`,
            },
          },
        };
      } else {
        inc(stats.byService, service.name);
        inc(stats.byOperation, `${service.name}:${info.operation}`);
        const fault = pickFault(service, info, receivedAt - startedAt);
        if (fault) {
          entry.fault = fault;
          stats.faults[fault]++;
        }
        if (fault === "reset") {
          entry.status = 0;
          res.socket?.destroy();
          return;
        }
        if (fault === "error") answer = service.faultResponse("error", simReq, info);
        else if (fault === "throttle" || fault === "burst") {
          answer = { ...service.faultResponse("throttle", simReq, info), throttled: true };
        } else {
          if (fault === "slow") extraMs = faults.slowMs;
          try {
            answer = await service.handle(simReq, info, ctx);
          } catch (error) {
            answer = {
              status: 500,
              body: { error: { code: "SimulatorError", message: (error as Error).message } },
            };
          }
        }
        if (answer.reset) {
          entry.status = 0;
          res.socket?.destroy();
          return;
        }
        // The answer is serialised inside the modelled latency, not after it: a real service has many
        // servers, and one simulator thread serialising many large pages one after another would
        // otherwise add its own CPU to every client's critical path.
        serialized = serialize(answer);
        const model = latencyFor(options.latency, service.name as ServiceName);
        const wantMs = model.baseMs + (model.perUnitMs ?? 0) * (answer.latencyUnits ?? 0) + extraMs;
        entry.modelledMs = wantMs;
        const waitMs = wantMs - (clock.now() - receivedAt);
        if (waitMs > 0) await sleep(waitMs);
      }
      if (answer.throttled) stats.throttled++;
      inc(stats.byStatus, String(answer.status));
      entry.status = answer.status;
      const { headers, body } = serialized ?? serialize(answer);
      res.writeHead(answer.status, headers);
      res.end(body);
    } finally {
      inFlight--;
      entry.ms = clock.now() - receivedAt;
      if (service && info) service.onFinished?.(simReq, info);
    }
  }

  const tls = options.tls ?? (await generateSimCertificate());
  const listener =
    (secure: boolean, getOrigin: () => string) => (req: IncomingMessage, res: ServerResponse) => {
      handle(req, res, secure, getOrigin()).catch((error: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: { code: "SimulatorError", message: String(error) } }));
        } else res.destroy();
      });
    };
  let httpOrigin = "";
  let httpsOrigin = "";
  const httpServer = createServer(
    { keepAliveTimeout: 65_000 },
    listener(false, () => httpOrigin),
  );
  const httpsServer = createHttpsServer(
    { key: tls.key, cert: tls.cert, keepAliveTimeout: 65_000 },
    listener(true, () => httpsOrigin),
  );
  const listen = (server: Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
    });
  const urlHost = host.includes(":") ? `[${host}]` : host;
  httpOrigin = `http://${urlHost}:${await listen(httpServer, options.port ?? 0)}`;
  httpsOrigin = `https://${urlHost}:${await listen(httpsServer, options.httpsPort ?? 0)}`;

  return {
    httpUrl: httpOrigin,
    httpsUrl: httpsOrigin,
    ca: tls.cert,
    dataset,
    stats: () => structuredClone(stats),
    resetStats: () => {
      stats = emptyStats();
      log.length = 0;
    },
    requestLog: log,
    setFaults: (partial) => {
      faults = { ...faults, ...partial };
    },
    service: (name: string) => {
      const s = services.find((x) => x.name === name);
      if (!s) throw new RangeError(`service ${name} is not running`);
      return s;
    },
    environment: () => {
      const env: Record<string, string> = {};
      for (const s of services)
        Object.assign(env, s.environment?.({ http: httpOrigin, https: httpsOrigin }) ?? {});
      return env;
    },
    close: async () => {
      for (const s of services) s.close?.();
      const closing = [httpServer, httpsServer].map(
        (server) => new Promise<void>((resolve) => server.close(() => resolve())),
      );
      httpServer.closeAllConnections();
      httpsServer.closeAllConnections();
      await Promise.all(closing);
    },
  };
}
