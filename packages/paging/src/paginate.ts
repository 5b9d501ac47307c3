/** One page of a continuation-token listing. */
export interface Page<T, Token> {
  items: readonly T[];
  /** The token for the next page; absent, null or "" when this was the last page. */
  next?: Token | null | undefined;
}

export interface PaginateOptions {
  signal?: AbortSignal;
  /** Called after each page with its index and size (progress). */
  onPage?: (index: number, size: number) => void;
  /**
   * Stop when a service keeps handing back the same token (a loop), after this many repeats.
   * Empty pages with a new token are normal (Organizations, EC2) and are followed.
   */
  maxRepeatedTokens?: number;
}

/**
 * Follows a continuation-token listing to its end, yielding items as each page arrives.
 *
 * @example
 * ```ts
 * for await (const account of paginate((token) => org.listAccounts({ NextToken: token })
 *   .then((r) => ({ items: r.Accounts ?? [], next: r.NextToken })))) { ... }
 * ```
 */
export async function* paginate<T, Token = string>(
  fetchPage: (token: Token | undefined, signal?: AbortSignal) => Promise<Page<T, Token>>,
  options: PaginateOptions = {},
): AsyncGenerator<T, void, undefined> {
  let token: Token | undefined;
  let index = 0;
  let repeats = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    const page = await fetchPage(token, options.signal);
    options.onPage?.(index++, page.items.length);
    yield* page.items;
    const next = page.next;
    if (next === undefined || next === null || next === "") return;
    if (token !== undefined && JSON.stringify(next) === JSON.stringify(token)) {
      if (++repeats > (options.maxRepeatedTokens ?? 3)) {
        throw new Error(
          "the service returned the same continuation token repeatedly; stopping to avoid a loop",
        );
      }
    } else repeats = 0;
    token = next;
  }
}

/** Collects an async iterable into an array, for callers that want everything at once. */
export async function collect<T>(source: AsyncIterable<T> | Iterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}
