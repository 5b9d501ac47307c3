import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { checkEndpoint, isLoopbackHost } from "@cloudadmin/auth";
import {
  AuthError,
  type CloudAdminError,
  RemoteError,
  ThrottledError,
  isAbortError,
  isCloudAdminError,
} from "@cloudadmin/errors";
import {
  DEFAULT_TIMEOUT_MS,
  type Timer,
  realTimer,
  retry,
  retryAfterFromHeaders,
  withTimeout,
} from "@cloudadmin/paging";
import {
  AuthenticationHandler,
  Client,
  type Context,
  type Middleware,
  RedirectHandler,
  ResponseType,
  TelemetryHandler,
} from "@microsoft/microsoft-graph-client";
import { rootCertificates } from "node:tls";
import { Agent, fetch as undiciFetch } from "undici";

/** Hosts the Graph client already trusts with a token. */
const GRAPH_HOSTS = new Set([
  "graph.microsoft.com",
  "graph.microsoft.us",
  "dod-graph.microsoft.us",
  "graph.microsoft.de",
  "microsoftgraph.chinacloudapi.cn",
  "canary.graph.microsoft.com",
]);

/** Answers worth another attempt: throttling and the transient gateway statuses Graph documents. */
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);
/** A token is taken again this long before it expires. */
const TOKEN_MARGIN_MS = 2 * 60_000;

export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;
export type GraphVersion = "v1.0" | "beta";

export interface GraphConnectionOptions {
  credential: TokenCredential;
  endpoint: string;
  scopes?: string[] | undefined;
  ca?: string | Buffer | undefined;
  fetch?: FetchLike | undefined;
  maxRetries?: number | undefined;
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
  timer?: Timer | undefined;
  random?: (() => number) | undefined;
  onRetry?: ((info: { status: number; attempt: number; delayMs: number }) => void) | undefined;
}

/** What one Graph GET is for: the user (scope) and step (phase) its errors name. */
export interface GraphRequest {
  phase: string;
  scope?: string | undefined;
  headers?: Record<string, string> | undefined;
  version?: GraphVersion | undefined;
}

/** A Graph answer read in full: status, headers, body bytes, and the error code when it failed. */
export interface GraphAnswer {
  status: number;
  headers: Headers;
  body: Buffer;
  code: string | null;
  message: string | null;
}

export interface GraphConnection {
  /**
   * GET `path` (relative to the version, or an absolute nextLink) and read the whole answer. Each
   * attempt runs under the per-request timeout (`ERR_TIMEOUT`); throttling, transient statuses,
   * timeouts and dropped connections are retried with paging's `retry`. Answers that retrying
   * cannot change (404, 403, ...) are returned for the caller to read.
   */
  get(path: string, request: GraphRequest): Promise<GraphAnswer>;
  /** `https://graph.microsoft.com/`: the root the client's relative paths start from. */
  baseUrl: string;
  close(): Promise<void>;
}

/** The last middleware: sends the request with the caller's fetch (or one that trusts `ca`). */
class FetchMiddleware implements Middleware {
  constructor(private readonly fetchImpl: FetchLike) {}
  async execute(context: Context): Promise<void> {
    // context.options carries the attempt's signal (run abort or timeout), set by `get`.
    context.response = await this.fetchImpl(context.request as string, context.options as RequestInit);
  }
}

/**
 * Adds the bearer token to requests for a loopback emulator's origin, and to no other. Used only for
 * loopback endpoints (plain http allowed there by the endpoint policy), where the SDK's
 * AuthenticationHandler would drop the token; every other endpoint keeps the SDK's own handler and
 * its refusal to send a token anywhere but https to a Graph or configured host.
 */
class LoopbackBearerMiddleware implements Middleware {
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

function fetchFor(options: GraphConnectionOptions): { fetchImpl: FetchLike; agent: Agent | undefined } {
  if (options.fetch) return { fetchImpl: options.fetch, agent: undefined };
  if (!options.ca) return { fetchImpl: (url, init) => fetch(url, init), agent: undefined };
  // Node 20's global fetch has no per-call CA; undici's own fetch with an Agent that trusts `ca` does.
  // `ca` replaces the default roots in TLS: keep them, so a real Graph host still verifies.
  const agent = new Agent({ connect: { ca: [...rootCertificates, options.ca.toString()] } });
  const fetchImpl: FetchLike = (url, init) =>
    undiciFetch(url, { ...(init as object), dispatcher: agent } as Parameters<
      typeof undiciFetch
    >[1]) as unknown as Promise<Response>;
  return { fetchImpl, agent };
}

/**
 * The credential's token, cached until shortly before it expires; failures are AuthError. `take`
 * runs before each request, outside the SDK, so a credential failure stays an AuthError; the
 * middleware then adds `current`, the token `take` just returned.
 */
function tokenSource(credential: TokenCredential, scopes: string[], signal: AbortSignal | undefined) {
  let cached: AccessToken | null = null;
  return {
    current: async (): Promise<string> => cached?.token ?? "",
    take: async (): Promise<string> => {
      if (cached && cached.expiresOnTimestamp - TOKEN_MARGIN_MS > Date.now()) return cached.token;
      let token: AccessToken | null;
      try {
        token = await credential.getToken(scopes, signal ? { abortSignal: signal } : {});
      } catch (cause) {
        if (isCloudAdminError(cause)) throw cause;
        throw new AuthError(`could not get a Microsoft Graph token: ${(cause as Error).message}`, {
          cause,
          phase: "auth",
        });
      }
      if (!token) throw new AuthError("the credential returned no Microsoft Graph token", { phase: "auth" });
      cached = token;
      return token.token;
    },
  };
}

/**
 * A Graph client over the caller's credential and endpoint. The endpoint passes auth's endpoint
 * policy (https, or plain http on loopback) before any token is requested.
 */
export function connectGraph(options: GraphConnectionOptions): GraphConnection {
  const base = checkEndpoint(options.endpoint, "the Graph endpoint");
  const loopback = isLoopbackHost(base.hostname);
  const scopes = options.scopes ?? [
    `${GRAPH_HOSTS.has(base.hostname) ? base.origin : "https://graph.microsoft.com"}/.default`,
  ];
  const { fetchImpl, agent } = fetchFor(options);
  const token = tokenSource(options.credential, scopes, options.signal);
  const auth: Middleware = loopback
    ? new LoopbackBearerMiddleware(base.origin, token.current)
    : new AuthenticationHandler({ getAccessToken: token.current });
  const redirect = new RedirectHandler();
  const telemetry = new TelemetryHandler();
  auth.setNext?.(redirect);
  redirect.setNext(telemetry);
  telemetry.setNext(new FetchMiddleware(fetchImpl));
  const baseUrl = `${base.origin}${base.pathname.replace(/\/+$/, "")}/`;
  const client = Client.initWithMiddleware({
    middleware: auth,
    baseUrl,
    defaultVersion: "v1.0",
    ...(GRAPH_HOSTS.has(base.hostname) ? {} : { customHosts: new Set([base.hostname]) }),
  });

  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timer = options.timer ?? realTimer;
  const { signal } = options;

  /** One attempt, under `attempt` (aborted by the run or the deadline). */
  const once = async (path: string, request: GraphRequest, attempt: AbortSignal): Promise<GraphAnswer> => {
    // The token is taken outside the SDK, so a credential failure stays an AuthError.
    await token.take();
    let req = client
      .api(path)
      .version(request.version ?? "v1.0")
      .responseType(ResponseType.RAW)
      .option("signal", attempt);
    for (const [k, v] of Object.entries(request.headers ?? {})) req = req.header(k, v);
    let res: Response;
    let body: Buffer;
    try {
      res = (await req.get()) as Response;
      body = Buffer.from(await res.arrayBuffer());
    } catch (error) {
      if (attempt.aborted || isAbortError(error) || isCloudAdminError(error)) throw error;
      // The SDK turns a failed fetch (reset, refused, TLS) into a GraphError without a status.
      throw new RemoteError(
        `could not reach Microsoft Graph while ${request.phase}: ${(error as Error).message}`,
        { cause: error, retryable: true, phase: request.phase, scope: request.scope },
      );
    }
    return { status: res.status, headers: res.headers, body, ...errorOf(res.status, body) };
  };

  const get = (path: string, request: GraphRequest): Promise<GraphAnswer> =>
    retry(
      async () => {
        let answer: GraphAnswer;
        try {
          answer = await withTimeout((attempt) => once(path, request, attempt), {
            timeoutMs,
            timer,
            ...(signal ? { signal } : {}),
            what: `Microsoft Graph (${request.phase}${request.scope ? ` for ${request.scope}` : ""})`,
          });
        } catch (error) {
          throw withScope(error, request);
        }
        if (RETRYABLE_STATUSES.has(answer.status) && !isMailboxCode(answer.code)) {
          throw answerError(answer, request.phase, request.scope);
        }
        return answer;
      },
      {
        maxRetries: options.maxRetries ?? 5,
        timer,
        ...(signal ? { signal } : {}),
        ...(options.random ? { random: options.random } : {}),
        retryAfterMs: (error) =>
          error instanceof AnswerError || error instanceof ThrottledError ? error.retryAfterMs : undefined,
        onRetry: ({ attempt, delayMs, error }) =>
          options.onRetry?.({ status: (error as CloudAdminError).status ?? 0, attempt, delayMs }),
      },
    );

  return {
    get,
    baseUrl,
    close: async () => {
      await agent?.close();
    },
  };
}

/** A timeout or connection failure, named after the user and step it happened in. */
function withScope(error: unknown, request: GraphRequest): unknown {
  if (!isCloudAdminError(error) || error.code !== "ERR_TIMEOUT" || error.scope !== undefined) return error;
  return new RemoteError(error.message, {
    code: "ERR_TIMEOUT",
    retryable: true,
    cause: error,
    phase: request.phase,
    scope: request.scope,
  });
}

function errorOf(status: number, body: Buffer): { code: string | null; message: string | null } {
  if (status < 400) return { code: null, message: null };
  try {
    const parsed = JSON.parse(body.toString("utf8")) as { error?: { code?: string; message?: string } };
    return { code: parsed.error?.code ?? null, message: parsed.error?.message ?? null };
  } catch {
    return { code: null, message: null }; // not JSON: the status says it all
  }
}

/** Codes Graph gives for mailboxes outside Exchange Online (decided by code: their status is undocumented). */
const MAILBOX_CODES = new Set(["MailboxNotHostedInExchangeOnline", "MailboxNotEnabledForRESTAPI"]);

export function isMailboxCode(code: string | null): boolean {
  return code !== null && MAILBOX_CODES.has(code);
}

/** A retryable answer's error, carrying the delay the answer asked for. */
class AnswerError extends RemoteError {
  constructor(
    message: string,
    options: ConstructorParameters<typeof RemoteError>[1],
    readonly retryAfterMs: number | undefined,
  ) {
    super(message, options);
  }
}

/** The error a failed Graph answer stands for, with the step (`what`) and user (`scope`) it concerns. */
export function answerError(answer: GraphAnswer, what: string, scope?: string): CloudAdminError {
  const detail = `${answer.status}${answer.code ? ` ${answer.code}` : ""}${answer.message ? `: ${answer.message}` : ""}`;
  const base = {
    status: answer.status,
    ...(answer.code ? { remoteCode: answer.code } : {}),
    ...(scope ? { scope } : {}),
    phase: what,
  };
  const retryAfterMs = retryAfterFromHeaders(answer.headers);
  if (answer.status === 401)
    return new AuthError(`Microsoft Graph refused the token while ${what} (${detail})`, {
      ...base,
      code: "ERR_AUTH",
    });
  if (answer.status === 403) {
    return new AuthError(
      `Microsoft Graph denied access while ${what} (${detail}); the app needs User.Read.All`,
      { ...base, code: "ERR_ACCESS_DENIED" },
    );
  }
  if (answer.status === 429) {
    return new ThrottledError(`Microsoft Graph kept throttling while ${what} (${detail})`, {
      ...base,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  if (RETRYABLE_STATUSES.has(answer.status) && !isMailboxCode(answer.code)) {
    return new AnswerError(
      `Microsoft Graph failed while ${what} (${detail})`,
      { ...base, retryable: true },
      retryAfterMs,
    );
  }
  return new RemoteError(`Microsoft Graph failed while ${what} (${detail})`, {
    ...base,
    retryable: false,
  });
}
