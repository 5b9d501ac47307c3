/** Milliseconds, monotonic. Injected so rate limits and token expiry can be tested with a fake clock. */
export interface Clock {
  now(): number;
  /** Wall-clock time as a Date (for Date headers, token expiry stamps). */
  date(): Date;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  date: () => new Date(),
};
