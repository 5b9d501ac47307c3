import type { TokenCredential } from "@azure/core-auth";
import { AuthError, ConfigError, RemoteError, ThrottledError } from "@cloudadmin/errors";
import {
  Client,
  type Context,
  type Middleware,
  RedirectHandler,
  ResponseType,
  TelemetryHandler,
} from "@microsoft/microsoft-graph-client";
import { rootCertificates } from "node:tls";
import { Agent, fetch as undiciFetch } from "undici";
import { parseRetryAfter, sleep } from "@cloudadmin/paging";

/** Hosts the Graph client already trusts with a token. */
const GRAPH_HOSTS = new Set([
  "graph.microsoft.com",
  "graph.microsoft.us",
  "dod-graph.microsoft.us",
  "graph.microsoft.de",
  "microsoftgraph.chinacloudapi.cn",
  "canary.graph.microsoft.com",
]);

export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

export interface GraphConnectionOptions {
  credential: TokenCredential;
  endpoint: string;
  scopes?: string[];
  ca?: string | Buffer;
  fetch?: FetchLike;
  maxRetries: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  onRetry?: (info: { status: number; attempt: number; delayMs: number }) => void;
}

export interface GraphConnection {
  client: Client;
  /** `https://graph.microsoft.com/`: the root the client's relative paths start from. */
  baseUrl: string;
  close(): Promise<void>;
}

/**
 * Retries 429, 503 and 504 answers and connection failures: waits what `Retry-After` says (seconds or
 * an HTTP date), else exponential backoff with full jitter; the wait ends early when the run is aborted.
 * Replaces the SDK's RetryHandler, whose sleep cannot be aborted and which does not retry resets.
 */
class RetryMiddleware implements Middleware {
  private next: Middleware | undefined;
  constructor(
    private readonly maxRetries: number,
    private readonly signal: AbortSignal | undefined,
    private readonly onRetry: GraphConnectionOptions["onRetry"],
  ) {}
  setNext(next: Middleware): void {
    this.next = next;
  }
  async execute(context: Context): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let failure: unknown;
      try {
        await this.next?.execute(context);
      } catch (error) {
        if (this.signal?.aborted) throw error;
        failure = error;
      }
      const status = context.response?.status ?? 0;
      const retryable = failure !== undefined || status === 429 || status === 503 || status === 504;
      if (!retryable || attempt >= this.maxRetries) {
        if (failure !== undefined) throw failure;
        return;
      }
      const backoff = Math.random() * Math.min(30_000, 500 * 2 ** attempt);
      const told =
        failure === undefined
          ? parseRetryAfter(context.response?.headers.get("retry-after") ?? null)
          : undefined;
      const delayMs = told ?? backoff;
      this.onRetry?.({ status, attempt: attempt + 1, delayMs });
      // Drain the refused answer so its connection can be reused.
      await context.response?.arrayBuffer().catch(() => undefined);
      await sleep(delayMs, this.signal);
    }
  }
}

/** The last middleware: sends the request with the caller's fetch (or one that trusts `ca`). */
class FetchMiddleware implements Middleware {
  constructor(
    private readonly fetchImpl: FetchLike,
    private readonly timeoutMs: number | undefined,
    private readonly signal: AbortSignal | undefined,
  ) {}
  async execute(context: Context): Promise<void> {
    // One controller per request, linked to the run's signal only while the request is out: fetch
    // keeps its listener on the signal it is given until the request is garbage-collected, which on
    // the run's long-lived signal piles up thousands of listeners.
    const controller = new AbortController();
    const onAbort = () => controller.abort(this.signal?.reason);
    if (this.signal?.aborted) onAbort();
    else this.signal?.addEventListener("abort", onAbort, { once: true });
    const timer = this.timeoutMs
      ? setTimeout(
          () => controller.abort(new DOMException("the request timed out", "TimeoutError")),
          this.timeoutMs,
        )
      : undefined;
    try {
      context.response = await this.fetchImpl(context.request as string, {
        ...context.options,
        signal: controller.signal,
      });
    } finally {
      this.signal?.removeEventListener("abort", onAbort);
      if (timer) clearTimeout(timer);
    }
  }
}

/** Loopback hosts, where plain http is allowed for emulators (SPEC section 3). */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Adds the bearer token to requests for the configured Graph origin, and to no other. Replaces the
 * SDK's AuthenticationHandler, which drops the token on plain http even for a loopback emulator.
 */
class BearerMiddleware implements Middleware {
  private next: Middleware | undefined;
  constructor(
    private readonly origin: string,
    private readonly getToken: () => Promise<string>,
  ) {}
  setNext(next: Middleware): void {
    this.next = next;
  }
  async execute(context: Context): Promise<void> {
    if (new URL(context.request as string).origin === this.origin) {
      const token = await this.getToken();
      context.options ??= {};
      const options = context.options;
      if (options.headers instanceof Headers) options.headers.set("Authorization", `Bearer ${token}`);
      else
        options.headers = {
          ...(options.headers as Record<string, string> | undefined),
          Authorization: `Bearer ${token}`,
        };
    }
    await this.next?.execute(context);
  }
}

/** A Graph client over the caller's credential and endpoint (https, or http on loopback for emulators). */
export function connectGraph(options: GraphConnectionOptions): GraphConnection {
  let base: URL;
  try {
    base = new URL(options.endpoint);
  } catch (cause) {
    throw new ConfigError(
      `the Graph endpoint ${options.endpoint} is not a URL; pass e.g. https://graph.microsoft.com`,
      { cause },
    );
  }
  if (base.protocol !== "https:" && !(base.protocol === "http:" && isLoopback(base.hostname))) {
    throw new ConfigError(
      `the Graph endpoint must be https, or http on a loopback address for an emulator (not ${base.origin}); trust a private CA with NODE_EXTRA_CA_CERTS or the ca option`,
    );
  }
  const scopes = options.scopes ?? [
    `${GRAPH_HOSTS.has(base.hostname) ? base.origin : "https://graph.microsoft.com"}/.default`,
  ];
  let agent: Agent | undefined;
  let fetchImpl: FetchLike;
  if (options.fetch) fetchImpl = options.fetch;
  else if (options.ca) {
    // Node 20's global fetch has no per-call CA; undici's own fetch with an Agent that trusts `ca` does.
    // `ca` replaces the default roots in TLS: keep them, so a real Graph host still verifies.
    agent = new Agent({ connect: { ca: [...rootCertificates, options.ca.toString()] } });
    const dispatcher = agent;
    fetchImpl = (url, init) =>
      undiciFetch(url, { ...(init as object), dispatcher } as Parameters<
        typeof undiciFetch
      >[1]) as unknown as Promise<Response>;
  } else fetchImpl = (url, init) => fetch(url, init);

  const credential = options.credential;
  const authProvider = {
    getAccessToken: async (): Promise<string> => {
      let token: { token: string } | null;
      try {
        token = await credential.getToken(scopes, options.signal ? { abortSignal: options.signal } : {});
      } catch (cause) {
        throw new AuthError(`could not get a Microsoft Graph token: ${(cause as Error).message}`, {
          cause,
          phase: "auth",
        });
      }
      if (!token) throw new AuthError("the credential returned no Microsoft Graph token", { phase: "auth" });
      return token.token;
    },
  };
  const auth = new BearerMiddleware(base.origin, authProvider.getAccessToken);
  const retry = new RetryMiddleware(options.maxRetries, options.signal, options.onRetry);
  const redirect = new RedirectHandler();
  const telemetry = new TelemetryHandler();
  const send = new FetchMiddleware(fetchImpl, options.timeoutMs, options.signal);
  auth.setNext(retry);
  retry.setNext(redirect);
  redirect.setNext(telemetry);
  telemetry.setNext(send);
  const baseUrl = `${base.origin}${base.pathname.replace(/\/+$/, "")}/`;
  const client = Client.initWithMiddleware({
    middleware: auth,
    baseUrl,
    defaultVersion: "v1.0",
    ...(GRAPH_HOSTS.has(base.hostname) ? {} : { customHosts: new Set([base.hostname]) }),
  });
  return {
    client,
    baseUrl,
    close: async () => {
      await agent?.close();
    },
  };
}

/** A Graph answer read in full: status, headers, body bytes, and the error code when it failed. */
export interface GraphAnswer {
  status: number;
  headers: Headers;
  body: Buffer;
  code: string | null;
  message: string | null;
}

/** GET `path` (relative to the version, or an absolute nextLink) and read the whole answer. */
export async function getRaw(
  client: Client,
  path: string,
  headers: Record<string, string> = {},
  version: "v1.0" | "beta" = "v1.0",
): Promise<GraphAnswer> {
  let req = client.api(path).version(version).responseType(ResponseType.RAW);
  for (const [k, v] of Object.entries(headers)) req = req.header(k, v);
  const res = (await req.get()) as Response;
  const body = Buffer.from(await res.arrayBuffer());
  let code: string | null = null;
  let message: string | null = null;
  if (res.status >= 400) {
    try {
      const parsed = JSON.parse(body.toString("utf8")) as { error?: { code?: string; message?: string } };
      code = parsed.error?.code ?? null;
      message = parsed.error?.message ?? null;
    } catch {
      // not JSON: keep the status only
    }
  }
  return { status: res.status, headers: res.headers, body, code, message };
}

/** The error a failed Graph answer stands for. */
export function answerError(answer: GraphAnswer, what: string, scope?: string): Error {
  const detail = `${answer.status}${answer.code ? ` ${answer.code}` : ""}${answer.message ? `: ${answer.message}` : ""}`;
  const base = {
    status: answer.status,
    ...(answer.code ? { remoteCode: answer.code } : {}),
    ...(scope ? { scope } : {}),
    phase: what,
  };
  if (answer.status === 401)
    return new AuthError(`Microsoft Graph refused the token while ${what} (${detail})`, {
      ...base,
      code: "ERR_AUTH",
    });
  if (answer.status === 403) {
    return new AuthError(
      `Microsoft Graph denied access while ${what} (${detail}); the app needs User.Read.All`,
      {
        ...base,
        code: "ERR_ACCESS_DENIED",
      },
    );
  }
  if (answer.status === 429) {
    const retryAfterMs = parseRetryAfter(answer.headers.get("retry-after"));
    return new ThrottledError(`Microsoft Graph kept throttling while ${what} (${detail})`, {
      ...base,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  return new RemoteError(`Microsoft Graph failed while ${what} (${detail})`, {
    ...base,
    retryable: answer.status >= 500,
  });
}
