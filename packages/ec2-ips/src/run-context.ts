import { type CloudAdminError, isAbortError } from "@cloudadmin/errors";
import { DEFAULT_TIMEOUT_MS, Slots, type Timer, realTimer, retry, withTimeout } from "@cloudadmin/paging";
import { ClientFactory } from "./clients.js";
import { awsErrorCode, scoped, toAwsError } from "./errors.js";
import type { Ec2IpsCounts, Ec2IpsPhase, Ec2IpsProgressEvent, ListEc2IpsOptions } from "./types.js";

/** An account in scope: its id and the name Organizations or Identity Center gave it. */
export interface Account {
  accountId: string;
  accountName: string | null;
}

function emptyCounts(): Ec2IpsCounts {
  return {
    accountsListed: 0,
    accountsTotal: 0,
    accountsOtherShards: 0,
    accountsSkipped: 0,
    accountsDone: 0,
    accountsFailed: 0,
    regionsTotal: 0,
    regionsDone: 0,
    regionsFailed: 0,
    regionsNotEnabled: 0,
    instances: 0,
    requests: 0,
    retries: 0,
    throttled: 0,
    errors: 0,
    listingComplete: false,
  };
}

/**
 * What the steps of a run share: the options, the counters, the SDK clients, the request bound and
 * the one way a request is sent (`call`) and a scope's failure reported (`fail`).
 */
export class RunContext {
  readonly counts = emptyCounts();
  readonly clients: ClientFactory;
  readonly homeRegion: string;
  readonly timer: Timer;
  private readonly slots: Slots;

  constructor(
    readonly options: ListEc2IpsOptions,
    readonly signal: AbortSignal,
  ) {
    const concurrency = Math.max(1, Math.floor(options.concurrency ?? 64));
    this.slots = new Slots(concurrency, { signal });
    this.homeRegion = options.region ?? "us-east-1";
    this.timer = options.timer ?? realTimer;
    this.clients = new ClientFactory({
      endpoints: options.endpoints ?? {},
      ...(options.ca ? { ca: options.ca } : {}),
      concurrency,
      counters: {
        onAttempt: () => {
          this.counts.requests++;
        },
        onFailedAttempt: (throttled) => {
          if (throttled) this.counts.throttled++;
        },
      },
    });
  }

  close(): void {
    this.clients.destroy();
  }

  emit(event: Ec2IpsProgressEvent): void {
    this.options.onProgress?.(event);
  }

  snapshot(): Ec2IpsCounts {
    return { ...this.counts };
  }

  /**
   * Sends one request: each attempt under the run's request bound and `withTimeout`, retried by
   * paging's `retry` (throttling, 5xx, dropped connections, timeouts; never AccessDenied,
   * AuthFailure or UnauthorizedOperation). The slot is given back while a retry waits. Urgent
   * requests (the next page of a listing under way, credentials an account waits on) go before new
   * work, so the few account-regions that need several pages are not left for the very end.
   * A failure is thrown as a CloudAdminError that says `what` failed (and `hint`, what to do).
   */
  call<T>(
    what: string,
    urgent: boolean,
    send: (signal: AbortSignal) => Promise<T>,
    hint?: string | ((code: string | undefined) => string | undefined),
  ): Promise<T> {
    const { options, signal, timer } = this;
    return retry(
      () =>
        this.slots.run(
          () =>
            withTimeout(send, {
              timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
              signal,
              timer,
              what,
            }).catch((error: unknown) => {
              throw toAwsError(error, what, typeof hint === "function" ? hint(awsErrorCode(error)) : hint);
            }),
          { urgent },
        ),
      {
        maxRetries: options.maxRetries ?? 5,
        signal,
        timer,
        ...(options.random ? { random: options.random } : {}),
        onRetry: () => {
          this.counts.retries++;
        },
      },
    );
  }

  /** Reports a failed scope through `onError` (with its scope and phase) and goes on. */
  fail(error: unknown, scope: string, phase: Ec2IpsPhase): void {
    if (isAbortError(error) && this.signal.aborted) throw error;
    const e: CloudAdminError = scoped(toAwsError(error, phase), scope, phase);
    this.counts.errors++;
    this.options.onError?.(e);
    this.emit({ type: "error", error: e, counts: this.snapshot() });
  }
}
