import { AbortedError, RemoteError } from "@cloudadmin/errors";
import { type Timer, realTimer } from "./sleep.js";

/** The per-request timeout every job library uses when its caller gives none: 30 s. */
export const DEFAULT_TIMEOUT_MS = 30_000;

export interface WithTimeoutOptions {
  /** Milliseconds before the attempt is abandoned (default {@link DEFAULT_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** The run's signal: its abort ends the attempt as an abort, not as a timeout. */
  signal?: AbortSignal;
  timer?: Timer;
  /** What is waited for, for the message (`"DescribeInstances in 222222222222/eu-west-1"`). */
  what?: string;
}

/**
 * Runs one attempt of a request under a deadline. `fn` gets a signal that aborts when the run is
 * aborted or the deadline passes; on the deadline the attempt rejects with `ERR_TIMEOUT`
 * (retryable), whatever `fn` does with the signal, so a hung socket never stalls a run.
 *
 * @example
 * ```ts
 * const page = await retry(() => withTimeout((signal) => client.send(command, { abortSignal: signal }),
 *   { timeoutMs, signal, what: "DescribeInstances" }));
 * ```
 */
export async function withTimeout<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  options: WithTimeoutOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timer = options.timer ?? realTimer;
  options.signal?.throwIfAborted();
  const attempt = new AbortController();
  const stopClock = new AbortController();
  const onAbort = () => attempt.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let timedOut = false;
  const deadline = new Promise<never>((_, reject) => {
    timer.sleep(timeoutMs, stopClock.signal).then(
      () => {
        timedOut = true;
        const error = new RemoteError(
          `${options.what ?? "the request"} got no answer within ${formatSeconds(timeoutMs)}`,
          { code: "ERR_TIMEOUT", retryable: true },
        );
        attempt.abort(error);
        reject(error);
      },
      () => {},
    );
  });
  try {
    return await Promise.race([fn(attempt.signal), deadline]);
  } catch (error) {
    if (timedOut) throw attempt.signal.reason;
    if (options.signal?.aborted) throw new AbortedError(undefined, { cause: error });
    throw error;
  } finally {
    stopClock.abort();
    options.signal?.removeEventListener("abort", onAbort);
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(3).replace(/0+$/, "")} s`;
}
