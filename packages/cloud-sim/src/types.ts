import type { IncomingHttpHeaders } from "node:http";
import type { Clock } from "./clock.js";
import type { Rng } from "./rng.js";
import type { BucketSpec, SimFixedWindow, SimTokenBucket } from "./token-bucket.js";

export type ServiceName = "aws" | "arg" | "graph" | "zoom";
export const SERVICE_NAMES: readonly ServiceName[] = ["aws", "arg", "graph", "zoom"];

/** A request as a service handler sees it: body already read. */
export interface SimRequest {
  readonly method: string;
  readonly url: URL;
  /** Lower-cased header names, as Node gives them. */
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** True when it arrived on the HTTPS listener. */
  readonly secure: boolean;
  /** `http://127.0.0.1:port` or `https://127.0.0.1:port`: the listener it arrived on (for absolute links). */
  readonly origin: string;
  /** Milliseconds on the simulator's clock when the request arrived. */
  readonly receivedAt: number;
}

export interface SimResponse {
  status: number;
  headers?: Record<string, string | number | string[]>;
  /** A string or Buffer is sent as is; anything else is sent as JSON. */
  body?: unknown;
  /** Units of work for the latency model's per-unit cost (ARG rows, for instance). */
  latencyUnits?: number;
  /** True when this answer is a throttling refusal (counted as such). */
  throttled?: boolean;
  /** Destroy the connection instead of answering (a reset the service itself decided on). */
  reset?: boolean;
}

/** What `classify` says about a request: which operation it is and on whose behalf. */
export interface RequestInfo {
  operation: string;
  /** The caller's identity (account, principal, app...) for logs and per-principal limits. */
  principal?: string;
  /** Operations that faults must never hit (token endpoints used by fault tests, say). */
  faultExempt?: boolean;
}

export interface ServiceContext {
  readonly clock: Clock;
  readonly rng: Rng;
  /** The live fault settings (services read `emptyPageRate`). */
  readonly faults: Readonly<FaultSettings>;
  /** A token bucket kept for the life of the simulator under `key`. */
  bucket(key: string, spec: BucketSpec): SimTokenBucket;
  /** A fixed-window quota kept under `key`. */
  window(key: string, limit: number, windowMs: number): SimFixedWindow;
  /** Counts an event on the simulator's stats (`photoBytes`, `tokensMinted`...). */
  count(event: string, n?: number): void;
}

/** A simulated service. One server hosts all of them; `classify` routes. */
export interface SimService {
  /** One of the four cloud services, or a custom name for a service a test adds. */
  readonly name: ServiceName | (string & {});
  /** Returns the operation when this request is for this service, else null. */
  classify(req: SimRequest): RequestInfo | null;
  handle(req: SimRequest, info: RequestInfo, ctx: ServiceContext): Promise<SimResponse> | SimResponse;
  /** The service's own shape for an injected fault: a 5xx error or a throttling refusal. */
  faultResponse(kind: "error" | "throttle", req: SimRequest, info: RequestInfo): SimResponse;
  /** Called when a request ends (the service may release a concurrency slot). */
  onFinished?(req: SimRequest, info: RequestInfo): void;
  /** Called when the server stops. */
  close?(): void;
  /** Environment variables that point clients at this service on the given listeners. */
  environment?(origins: { http: string; https: string }): Record<string, string>;
}

export interface LatencyModel {
  /** Milliseconds added to every answer. */
  baseMs: number;
  /** Milliseconds per unit of work (`SimResponse.latencyUnits`). */
  perUnitMs?: number;
}

export interface FaultSettings {
  /** Share of requests answered with the service's 5xx error. */
  errorRate: number;
  /** Share of requests whose connection is reset without an answer. */
  resetRate: number;
  /** Share of requests delayed by `slowMs` more. */
  slowRate: number;
  slowMs: number;
  /** Share of requests answered with the service's throttling response. */
  throttleRate: number;
  /** Share of list pages a service returns empty but with a continuation token (where the real one does). */
  emptyPageRate: number;
  /** Time windows (ms since start) during which every request is throttled. */
  throttleBursts: Array<{ startMs: number; durationMs: number }>;
  /** Restrict faults to these services (default: all). */
  services?: ServiceName[];
  /** Restrict faults to these operations (default: all that are not fault-exempt). */
  operations?: string[];
}

export const NO_FAULTS: FaultSettings = {
  errorRate: 0,
  resetRate: 0,
  slowRate: 0,
  slowMs: 0,
  throttleRate: 0,
  emptyPageRate: 0,
  throttleBursts: [],
};
