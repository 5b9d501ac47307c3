import { AbortedError } from "@cloudadmin/errors";
import type { Timer } from "./sleep.js";

/** A manual clock: sleeps resolve only when the test advances time past them. */
export class FakeTimer implements Timer {
  time = 0;
  private sleepers: Array<{ at: number; resolve: () => void }> = [];
  readonly slept: number[] = [];
  now = (): number => this.time;
  sleep = (ms: number, signal?: AbortSignal): Promise<void> => {
    this.slept.push(ms);
    if (signal?.aborted) return Promise.reject(new AbortedError());
    return new Promise((resolve, reject) => {
      const entry = { at: this.time + ms, resolve };
      this.sleepers.push(entry);
      signal?.addEventListener("abort", () => {
        this.sleepers = this.sleepers.filter((s) => s !== entry);
        reject(new AbortedError());
      });
    });
  };
  /** Advances time, waking sleepers in order and letting their continuations run. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    for (;;) {
      await flush();
      this.sleepers.sort((a, b) => a.at - b.at);
      const next = this.sleepers[0];
      if (!next || next.at > target) break;
      this.sleepers.shift();
      this.time = next.at;
      next.resolve();
      await flush();
    }
    this.time = target;
    await flush();
  }
  pending(): number {
    return this.sleepers.length;
  }
}

export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}
