import {
  AbortedError,
  AuthError,
  CloudAdminError,
  ConfigError,
  RemoteError,
  ThrottledError,
  isAbortError,
  isCloudAdminError,
} from "@cloudadmin/errors";

/** Error codes the SDK's standard retry treats as throttling (smithy util-retry). */
const THROTTLING = new Set([
  "RequestLimitExceeded",
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestThrottled",
  "RequestThrottledException",
  "SlowDown",
  "LimitExceededException",
  "ProvisionedThroughputExceededException",
  "BandwidthLimitExceeded",
  "EC2ThrottledException",
  "PriorRequestNotComplete",
  "TransactionInProgressException",
]);

const DENIED = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "UnauthorizedOperation",
  "ForbiddenException",
]);
const AUTH = new Set([
  "AuthFailure",
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "SignatureDoesNotMatch",
  "MissingAuthenticationToken",
  "RegionDisabledException",
  "IncompleteSignature",
]);
/** The SDK's own "no credentials / no token could be found or refreshed" errors. */
const NO_CREDENTIALS = new Set(["CredentialsProviderError", "TokenProviderError"]);
const EXPIRED = new Set(["ExpiredToken", "ExpiredTokenException", "RequestExpired", "UnauthorizedException"]);

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

export function awsErrorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const e = error as SdkError;
  return e.name && e.name !== "Error" ? e.name : e.code;
}

export function isThrottlingError(error: unknown): boolean {
  const code = awsErrorCode(error);
  return (
    (code !== undefined && THROTTLING.has(code)) || (error as SdkError)?.$metadata?.httpStatusCode === 429
  );
}

/**
 * The SDK's error as a CloudAdminError with the AWS code kept as `remoteCode` (what `errors[]`
 * shows). `what` names the call and its target, for a message that says what failed.
 */
export function toAwsError(error: unknown, what: string, hint?: string): CloudAdminError {
  if (isCloudAdminError(error)) return error;
  if (isAbortError(error)) return new AbortedError(`${what}: aborted`, { cause: error });
  const code = awsErrorCode(error) ?? "Error";
  const status = (error as SdkError)?.$metadata?.httpStatusCode;
  const detail = (error as SdkError)?.message ?? String(error);
  const message = `${what}: ${detail}${hint ? ` (${hint})` : ""}`;
  const base = { cause: error, remoteCode: code, ...(status === undefined ? {} : { status }) };
  if (NO_CREDENTIALS.has(code)) return new AuthError(message, base);
  // A host name that does not exist (not a transient DNS failure, EAI_AGAIN) is a region or endpoint
  // that is wrong: configuration, not a remote failure, and retrying cannot fix it.
  if (code === "ENOTFOUND") {
    return new ConfigError(`${message}; check the region and the endpoint settings`, base);
  }
  if (isThrottlingError(error)) return new ThrottledError(`${message}; retries ran out`, base);
  if (DENIED.has(code)) return new AuthError(message, { ...base, code: "ERR_ACCESS_DENIED" });
  if (EXPIRED.has(code)) return new AuthError(message, { ...base, code: "ERR_AUTH_EXPIRED" });
  if (AUTH.has(code)) return new AuthError(message, base);
  if (code === "TimeoutError" || code === "RequestTimeout" || /ETIMEDOUT|timed out/i.test(detail)) {
    return new RemoteError(message, { ...base, code: "ERR_TIMEOUT", retryable: true });
  }
  return new RemoteError(message, { ...base, retryable: status === undefined || status >= 500 });
}

/** The same error with the scope and phase that failed set (what `onError` receives). */
export function scoped(error: CloudAdminError, scope: string, phase: string): CloudAdminError {
  if (error.scope === scope && error.phase === phase) return error;
  return new CloudAdminError(error.code, error.message, {
    cause: error.cause ?? error,
    scope,
    phase,
    ...(error.status === undefined ? {} : { status: error.status }),
    ...(error.remoteCode === undefined ? {} : { remoteCode: error.remoteCode }),
    retryable: error.retryable,
  });
}
