import type { CloudAdminError } from "@cloudadmin/errors";
import type { Timer } from "./sleep.js";

/**
 * The options every job library takes, under the same names and with the same meaning
 * (`listVmIps`, `listEc2Ips`, `syncUserPhotos`, `planLicenseRecovery`/`applyLicenseChanges`, ...).
 * A job's own options interface extends this one.
 */
export interface JobOptions {
  /** Aborts the run: pending requests are cancelled and the iterable ends with `ERR_ABORTED`. */
  signal?: AbortSignal;
  /** Per-request timeout in ms (default `DEFAULT_TIMEOUT_MS`, 30 s); expiry is `ERR_TIMEOUT`, retried like a 5xx. */
  timeoutMs?: number;
  /** Upper bound on requests in flight (each job has its own default). */
  concurrency?: number;
  /** Retries for throttling and transient errors (default 5). */
  maxRetries?: number;
  /** Clock and waiting (default the real ones): inject a fake timer in tests. */
  timer?: Timer;
  /** Uniform [0, 1) source for backoff jitter (default `Math.random`). */
  random?: () => number;
  /**
   * A scope (account, region, subscription batch, user, ...) failed; the run goes on. The error is a
   * `CloudAdminError` whose `scope` and `phase` say what failed and where; `toErrorRecord(error)`
   * turns it into an `errors[]` entry. Without this callback failures are still counted in the summary.
   */
  onError?: (error: CloudAdminError) => void;
}
