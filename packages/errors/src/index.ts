/**
 * The error classes every cloudadmin package throws or reports, each with a stable string `code`.
 *
 * Messages say what failed and what to do. Secrets (bearer tokens, AWS secret keys, SAS signatures,
 * client secrets, passwords in connection strings) are redacted when a message is built, when an
 * error is printed with `util.inspect`/`console.log`, and when it is serialised with `JSON.stringify`.
 *
 * @example
 * ```ts
 * import { CloudAdminError, isCloudAdminError } from "@cloudadmin/errors";
 * try { await something(); } catch (e) {
 *   if (isCloudAdminError(e) && e.code === "ERR_THROTTLED") { ... }
 * }
 * ```
 */
import { inspect } from "node:util";

export { redactSecrets, registerSecret, clearRegisteredSecrets } from "./redact.js";
import { redactSecrets } from "./redact.js";

/** Stable error codes. Exit codes are derived from these by the CLI only. */
export type ErrorCode =
  | "ERR_USAGE"
  | "ERR_INVALID_INPUT"
  | "ERR_INVALID_DATASET"
  | "ERR_CONFIG"
  | "ERR_AUTH"
  | "ERR_AUTH_EXPIRED"
  | "ERR_ACCESS_DENIED"
  | "ERR_THROTTLED"
  | "ERR_QUOTA_EXHAUSTED"
  | "ERR_REMOTE"
  | "ERR_NOT_FOUND"
  | "ERR_TIMEOUT"
  | "ERR_ABORTED"
  | "ERR_PARTIAL"
  | "ERR_INVALID_KEY"
  | "ERR_LIMIT_EXCEEDED"
  | "ERR_INTERNAL";

export interface CloudAdminErrorOptions {
  cause?: unknown;
  /** What the error applies to: an account, subscription, user, file... (shown in `errors[]`). */
  scope?: string;
  /** The step that failed (`assume-role`, `describe-instances`, ...). */
  phase?: string;
  /** HTTP status or provider error code, when the error came from a service. */
  status?: number;
  remoteCode?: string;
  /** Whether repeating the same request could succeed. */
  retryable?: boolean;
}

/** Base class: a stable code, a redacted message and the original error as `cause`. */
export class CloudAdminError extends Error {
  readonly code: ErrorCode;
  readonly scope: string | undefined;
  readonly phase: string | undefined;
  readonly status: number | undefined;
  readonly remoteCode: string | undefined;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: CloudAdminErrorOptions = {}) {
    super(redactSecrets(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.scope = options.scope;
    this.phase = options.phase;
    this.status = options.status;
    this.remoteCode = options.remoteCode;
    this.retryable = options.retryable ?? false;
  }

  /** A plain, redacted object for `errors[]` in the output envelope and for logs. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.scope === undefined ? {} : { scope: this.scope }),
      ...(this.phase === undefined ? {} : { phase: this.phase }),
      ...(this.status === undefined ? {} : { status: this.status }),
      ...(this.remoteCode === undefined ? {} : { remoteCode: this.remoteCode }),
    };
  }

  [inspect.custom](depth: number, options: { stylize?: unknown }): string {
    const causeText =
      this.cause === undefined
        ? ""
        : `\n  [cause]: ${redactSecrets(inspect(this.cause, { depth: depth - 1 }))}`;
    void options;
    return redactSecrets(`${this.stack ?? `${this.name}: ${this.message}`}`) + causeText;
  }
}

/** Bad flags or arguments: nothing was done (exit 2). */
export class UsageError extends CloudAdminError {
  constructor(message: string, options?: CloudAdminErrorOptions) {
    super("ERR_USAGE", message, options);
  }
}

/** Bad input file or value (dataset, journal, exclusion list...): nothing was done (exit 2). */
export class InvalidInputError extends CloudAdminError {
  constructor(
    message: string,
    options?: CloudAdminErrorOptions & {
      code?: "ERR_INVALID_INPUT" | "ERR_INVALID_DATASET" | "ERR_INVALID_KEY" | "ERR_LIMIT_EXCEEDED";
    },
  ) {
    super(options?.code ?? "ERR_INVALID_INPUT", message, options);
  }
}

/** Missing or wrong configuration (endpoint, insecure URL...): nothing was done (exit 3). */
export class ConfigError extends CloudAdminError {
  constructor(message: string, options?: CloudAdminErrorOptions) {
    super("ERR_CONFIG", message, options);
  }
}

/** Authentication failed, expired or was refused (exit 3 when nothing could be done). */
export class AuthError extends CloudAdminError {
  constructor(
    message: string,
    options?: CloudAdminErrorOptions & { code?: "ERR_AUTH" | "ERR_AUTH_EXPIRED" | "ERR_ACCESS_DENIED" },
  ) {
    super(options?.code ?? "ERR_AUTH", message, options);
  }
}

/** The service throttled us and retries ran out (or a hard quota such as a daily limit was hit). */
export class ThrottledError extends CloudAdminError {
  /** Milliseconds the service asked us to wait, when it said. */
  readonly retryAfterMs: number | undefined;
  constructor(
    message: string,
    options?: CloudAdminErrorOptions & {
      retryAfterMs?: number;
      code?: "ERR_THROTTLED" | "ERR_QUOTA_EXHAUSTED";
    },
  ) {
    super(options?.code ?? "ERR_THROTTLED", message, {
      retryable: options?.code !== "ERR_QUOTA_EXHAUSTED",
      ...options,
    });
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** A service answered with an error, or could not be reached. */
export class RemoteError extends CloudAdminError {
  constructor(
    message: string,
    options?: CloudAdminErrorOptions & { code?: "ERR_REMOTE" | "ERR_NOT_FOUND" | "ERR_TIMEOUT" },
  ) {
    super(options?.code ?? "ERR_REMOTE", message, options);
  }
}

/** The run was aborted (SIGINT, AbortSignal). */
export class AbortedError extends CloudAdminError {
  constructor(message = "the operation was aborted", options?: CloudAdminErrorOptions) {
    super("ERR_ABORTED", message, options);
  }
}

/** Some scopes failed; results for the others were produced (exit 5). */
export class PartialFailureError extends CloudAdminError {
  readonly failures: readonly CloudAdminError[];
  constructor(message: string, failures: readonly CloudAdminError[], options?: CloudAdminErrorOptions) {
    super("ERR_PARTIAL", message, options);
    this.failures = failures;
  }
}

export function isCloudAdminError(value: unknown): value is CloudAdminError {
  return value instanceof CloudAdminError;
}

/** Wraps anything thrown into a CloudAdminError, keeping it as `cause`. */
export function toCloudAdminError(value: unknown, fallback: ErrorCode = "ERR_INTERNAL"): CloudAdminError {
  if (value instanceof CloudAdminError) return value;
  if (isAbortError(value)) return new AbortedError(undefined, { cause: value });
  const message = value instanceof Error ? value.message : String(value);
  return new CloudAdminError(fallback, message, { cause: value });
}

/** True for DOMException AbortError, Node's ABORT_ERR and our AbortedError. */
export function isAbortError(value: unknown): boolean {
  if (value instanceof AbortedError) return true;
  if (typeof value !== "object" || value === null) return false;
  const v = value as { name?: unknown; code?: unknown };
  return v.name === "AbortError" || v.code === "ABORT_ERR";
}

/** An entry of the output envelope's `errors[]` (SPEC section 4). */
export interface ErrorRecord {
  scope: string;
  phase: string;
  code: string;
  message: string;
}

/** Builds an `errors[]` entry from any error, with the message redacted. */
export function toErrorRecord(error: unknown, scope?: string, phase?: string): ErrorRecord {
  const e = toCloudAdminError(error, "ERR_REMOTE");
  return {
    scope: scope ?? e.scope ?? "",
    phase: phase ?? e.phase ?? "",
    code: e.remoteCode ?? e.code,
    message: redactSecrets(e.message),
  };
}
