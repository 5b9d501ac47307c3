import { AbortedError } from "@cloudadmin/errors";

export interface ConcurrencyOptions {
  /** Most tasks in flight at once (>= 1). */
  concurrency: number;
  /** Aborting stops new work; in-flight tasks see the abort through their own signal and settle. */
  signal?: AbortSignal;
  /** Results buffered before producers wait for the consumer (flatMapConcurrent; default 1024). */
  highWaterMark?: number;
}

type Slot<R> = { kind: "item"; value: R } | { kind: "error"; error: unknown };

/**
 * Runs `fn` over every item of `source` with at most `concurrency` inner iterables active at once,
 * yielding their results as they arrive (interleaved, not in source order). The source is read
 * lazily, so it may be an endless or paged async iterable.
 *
 * Written by hand because no maintained library streams results of a bounded async pool over an
 * async source with AbortSignal support and consumer backpressure (p-map collects, p-limit has no
 * source iteration); it is the core of every job's fan-out.
 *
 * @example
 * ```ts
 * for await (const instance of flatMapConcurrent(regions, (r, signal) => listInstances(r, signal),
 *   { concurrency: 16 })) { ... }
 * ```
 */
export async function* flatMapConcurrent<T, R>(
  source: AsyncIterable<T> | Iterable<T>,
  fn: (item: T, signal: AbortSignal) => AsyncIterable<R>,
  options: ConcurrencyOptions,
): AsyncGenerator<R, void, undefined> {
  const limit = Math.max(1, Math.floor(options.concurrency));
  const highWater = options.highWaterMark ?? 1024;
  const internal = new AbortController();
  const onOuterAbort = () => internal.abort(options.signal?.reason);
  if (options.signal?.aborted) throw new AbortedError(undefined, { cause: options.signal.reason });
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });

  const iterator =
    Symbol.asyncIterator in source
      ? (source as AsyncIterable<T>)[Symbol.asyncIterator]()
      : (source as Iterable<T>)[Symbol.iterator]();
  const buffer: Slot<R>[] = [];
  let active = 0;
  let sourceDone = false;
  let pulling = false;
  let failure: { error: unknown } | undefined;
  let wakeConsumer: (() => void) | undefined;
  const spaceWaiters: Array<() => void> = [];

  const notify = () => {
    const w = wakeConsumer;
    wakeConsumer = undefined;
    w?.();
  };
  const waitForSpace = async () => {
    while (buffer.length >= highWater && !internal.signal.aborted) {
      await new Promise<void>((resolve) => spaceWaiters.push(resolve));
    }
  };
  const releaseSpace = () => {
    while (spaceWaiters.length > 0 && buffer.length < highWater) spaceWaiters.shift()?.();
  };

  const runTask = async (item: T) => {
    try {
      for await (const value of fn(item, internal.signal)) {
        buffer.push({ kind: "item", value });
        notify();
        await waitForSpace();
        if (internal.signal.aborted) break;
      }
    } catch (error) {
      if (!failure) failure = { error };
      internal.abort(error);
    } finally {
      active--;
      notify();
      void fill();
    }
  };

  // Starts tasks until the bound is reached or the source ends. Only one pull at a time.
  const fill = async (): Promise<void> => {
    if (pulling) return;
    pulling = true;
    try {
      while (!sourceDone && active < limit && !internal.signal.aborted) {
        const next = await iterator.next();
        if (next.done) {
          sourceDone = true;
          break;
        }
        active++;
        void runTask(next.value);
      }
    } catch (error) {
      sourceDone = true;
      if (!failure) failure = { error };
      internal.abort(error);
    } finally {
      pulling = false;
      notify();
    }
  };

  try {
    void fill();
    for (;;) {
      const slot = buffer.shift();
      if (slot) {
        releaseSpace();
        if (slot.kind === "item") yield slot.value;
        continue;
      }
      const finished = (sourceDone || internal.signal.aborted) && active === 0 && !pulling;
      if (finished) break;
      await new Promise<void>((resolve) => {
        wakeConsumer = resolve;
      });
    }
    if (failure) throw failure.error;
    if (options.signal?.aborted) throw new AbortedError(undefined, { cause: options.signal.reason });
  } finally {
    // Consumer stopped early or we failed: stop new work, let in-flight tasks see the abort and settle.
    if (!internal.signal.aborted && (active > 0 || !sourceDone)) internal.abort(new AbortedError("stopped"));
    releaseSpace();
    for (const w of spaceWaiters.splice(0)) w();
    while (active > 0 || pulling) {
      await new Promise<void>((resolve) => {
        wakeConsumer = resolve;
      });
    }
    options.signal?.removeEventListener("abort", onOuterAbort);
    if (!sourceDone && "return" in iterator && typeof iterator.return === "function") {
      await (iterator.return as () => Promise<unknown> | unknown)();
    }
  }
}

/**
 * Runs `fn` over every item of `source` with at most `concurrency` calls in flight, yielding each
 * result as soon as it settles (not in source order).
 *
 * @example
 * ```ts
 * for await (const creds of mapConcurrent(accounts, (a, signal) => assumeRole(a, signal), { concurrency: 8 })) { ... }
 * ```
 */
export function mapConcurrent<T, R>(
  source: AsyncIterable<T> | Iterable<T>,
  fn: (item: T, signal: AbortSignal) => Promise<R>,
  options: ConcurrencyOptions,
): AsyncGenerator<R, void, undefined> {
  return flatMapConcurrent(
    source,
    async function* (item, signal) {
      yield await fn(item, signal);
    },
    options,
  );
}
