import { type Timer, backoffDelay, realTimer } from "@cloudadmin/paging";

/** What ARG said about the caller's quota on one answer. */
export interface QuotaReading {
  /** `x-ms-user-quota-remaining` */
  remaining: number;
  /** `x-ms-user-quota-resets-after`, in ms (hh:mm:ss, whole seconds). */
  resetsAfterMs: number;
}

/** A permission to send one request, tied to the quota window it was granted in. */
export interface Ticket {
  readonly epoch: number;
  readonly sentAt: number;
}

/** `hh:mm:ss` (ARG's `x-ms-user-quota-resets-after`) in milliseconds, or undefined. */
export function parseResetsAfter(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const m = /^\s*(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)\s*$/.exec(value);
  if (!m) return undefined;
  return Math.round((Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1000);
}

/**
 * Paces Resource Graph queries by the per-principal quota ARG reports on every answer.
 *
 * ARG's quota is a fixed window ("15 queries per 5 s"), not a refilling bucket, so a continuous
 * token bucket either wastes most of each window or overruns it. This pacer keeps the window
 * model instead: it may send what the last answers said remains; when that is spent it waits
 * until the window's end and then assumes a fresh window of the largest quota seen.
 *
 * The window's end is bounded from above by every answer of the window: the server counted the
 * request at or before the answer arrived, and `resets-after` is whole seconds rounded up, so the
 * window ends no later than `receivedAt + resetsAfter`. The smallest such bound is used (plus a
 * small margin), so pacing never runs into a 429 while wasting only about one round trip per window.
 * Nothing is sent before the first answer says what quota is left (another process may share it).
 */
export class QuotaPacer {
  private epoch = 0;
  /** Requests we may still send in this epoch. */
  private available = 1;
  /** Largest quota seen (remaining + 1 at a window's first request). */
  private limit = 1;
  private windowEnd: number | undefined;
  /** Latest time a request surely still lands in the current window. */
  private sendUntil: number | undefined;
  private inFlight = new Set<Ticket>();
  /** Longest resets-after seen: the window's length, about. */
  private windowMs = 1000;
  /** Whether any answer has told us the quota yet. */
  private calibrated = false;
  private waiters: Array<() => void> = [];
  /** Milliseconds spent waiting for quota, for progress. */
  waitedMs = 0;
  /** Last `remaining` the service reported. */
  lastRemaining: number | undefined;

  constructor(
    private readonly timer: Timer = realTimer,
    private readonly marginMs = 40,
  ) {}

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private changed(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal?.reason);
      this.waiters.push(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      });
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Waits until the quota allows one more request and returns its ticket. */
  async acquire(signal?: AbortSignal): Promise<Ticket> {
    for (;;) {
      signal?.throwIfAborted();
      const now = this.timer.now();
      // A new window may begin only when the old one has ended and every request sent in it has
      // been answered: a request still on its way (a starved client, a slow connection) would
      // otherwise land in the new window and overrun it. A request that hangs holds it back at most
      // one window more.
      let pending = 0;
      for (const t of this.inFlight) if (t.epoch === this.epoch) pending++;
      if (
        this.windowEnd !== undefined &&
        now >= this.windowEnd &&
        (pending === 0 || now >= this.windowEnd + this.windowMs)
      ) {
        this.epoch++;
        this.available = this.limit;
        this.windowEnd = undefined;
        this.sendUntil = undefined;
      }
      // Late in a window the service may already have opened the next one; a request sent then
      // would open it at an unknown time, so wait for the next epoch instead.
      if (this.available > 0 && (this.sendUntil === undefined || now < this.sendUntil)) {
        this.available--;
        const ticket: Ticket = { epoch: this.epoch, sentAt: now };
        this.inFlight.add(ticket);
        return ticket;
      }
      const started = now;
      // Wake at the window's end (or when a request of the old window has hung for a window more),
      // or earlier when an answer changes what we know.
      const wakeAt =
        this.windowEnd === undefined
          ? undefined
          : now < this.windowEnd
            ? this.windowEnd
            : this.windowEnd + this.windowMs;
      if (wakeAt !== undefined && wakeAt > now) {
        await Promise.race([this.timer.sleep(wakeAt - now, signal), this.changed(signal)]);
      } else await this.changed(signal);
      this.waitedMs += this.timer.now() - started;
    }
  }

  /** Records an answer (any status) and what it said about the quota, when it said anything. */
  observe(ticket: Ticket, reading: QuotaReading | undefined): void {
    this.inFlight.delete(ticket);
    if (!reading) {
      // No quota headers (a proxy's error page, say): never stall for want of an answer.
      if (this.available === 0 && this.windowEnd === undefined && this.inFlight.size === 0)
        this.available = 1;
    } else if (ticket.epoch === this.epoch) {
      this.lastRemaining = reading.remaining;
      this.limit = Math.max(this.limit, reading.remaining + 1);
      this.windowMs = Math.max(this.windowMs, reading.resetsAfterMs);
      // The service counted the request between sentAt and now, and rounds resets-after up to
      // whole seconds: the window ends in (sentAt + resetsAfter - 1 s, now + resetsAfter].
      const end = this.timer.now() + reading.resetsAfterMs + this.marginMs;
      const earliest = ticket.sentAt + reading.resetsAfterMs - 1000;
      let others = 0;
      for (const t of this.inFlight) if (t.epoch === this.epoch) others++;
      const allowed = Math.max(0, reading.remaining - others);
      this.windowEnd = this.windowEnd === undefined ? end : Math.min(this.windowEnd, end);
      this.sendUntil = this.sendUntil === undefined ? earliest : Math.max(this.sendUntil, earliest);
      this.available = this.calibrated ? Math.min(this.available, allowed) : allowed;
      this.calibrated = true;
    }
    this.wake();
  }

  /**
   * A 429: nothing more in this window. Waits for the reported reset, the service's Retry-After,
   * or, with neither, the documented back-off of a few seconds.
   */
  throttled(
    ticket: Ticket,
    reading: QuotaReading | undefined,
    retryAfterMs: number | undefined,
    random: () => number = Math.random,
  ): void {
    this.inFlight.delete(ticket);
    const now = this.timer.now();
    // A spent quota waits for its reset; a 429 with quota left (a front end shedding load) waits
    // only what Retry-After says, or the documented 1-5 s back-off.
    const quotaWait = reading && reading.remaining <= 0 ? reading.resetsAfterMs : undefined;
    const waits = [quotaWait, retryAfterMs].filter((x): x is number => x !== undefined);
    // ARG's guidance for a 429 that says nothing: wait 1-5 s (paging's jitter, at least 1 s).
    const wait =
      waits.length > 0
        ? Math.max(...waits)
        : backoffDelay(0, { baseDelayMs: 5000, maxDelayMs: 5000, random, askedMs: 1000 });
    this.epoch++;
    this.available = 0;
    this.windowEnd = now + wait + this.marginMs;
    this.sendUntil = undefined;
    if (reading) this.lastRemaining = reading.remaining;
    this.wake();
  }
}
