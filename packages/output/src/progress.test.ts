import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createProgressReporter } from "./progress.js";

function captureStream(isTTY = false) {
  const chunks: string[] = [];
  return {
    chunks,
    text: () => chunks.join(""),
    stream: {
      isTTY,
      columns: 100,
      write(chunk: string, callback?: (error?: Error | null) => void) {
        chunks.push(chunk);
        callback?.();
        return true;
      },
    },
  };
}

/** Hand-driven timers and clock: time moves only when the test says so. */
function manualTime() {
  let now = 1_000_000;
  const intervals = new Map<number, { fn: () => void; ms: number; next: number }>();
  let id = 0;
  return {
    now: () => now,
    timers: {
      setInterval(fn: () => void, ms: number) {
        id += 1;
        intervals.set(id, { fn, ms, next: now + ms });
        return id;
      },
      clearInterval(handle: unknown) {
        intervals.delete(handle as number);
      },
    },
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const due = [...intervals.values()].filter((t) => t.next <= end).sort((a, b) => a.next - b.next)[0];
        if (!due) break;
        now = due.next;
        due.next += due.ms;
        due.fn();
      }
      now = end;
    },
    active: () => intervals.size,
  };
}

let stdoutWrites: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  stdoutWrites = vi.spyOn(process.stdout, "write");
});
afterEach(() => {
  // Progress must never have touched stdout, whatever the mode.
  expect(stdoutWrites).not.toHaveBeenCalled();
  stdoutWrites.mockRestore();
  vi.useRealTimers();
});

describe("not a TTY", () => {
  it("prints one status line per interval and one at stop, only on its stream", () => {
    const out = captureStream(false);
    const time = manualTime();
    const progress = createProgressReporter({
      stream: out.stream,
      label: "ec2-ips",
      intervalMs: 10_000,
      now: time.now,
      timers: time.timers,
    });
    progress.update({ accounts: "3/300", instances: 120 });
    time.advance(9_999);
    expect(out.chunks).toEqual([]);
    time.advance(1);
    expect(out.chunks).toEqual(["ec2-ips: accounts=3/300 instances=120 [00:10]\n"]);
    progress.update({ instances: 4021, errors: 1 });
    progress.log("warning: vm-7 has no NIC record");
    time.advance(65_000);
    progress.stop();
    progress.stop();
    expect(out.chunks).toEqual([
      "ec2-ips: accounts=3/300 instances=120 [00:10]\n",
      "warning: vm-7 has no NIC record\n",
      "ec2-ips: accounts=3/300 instances=4021 errors=1 [00:20]\n",
      "ec2-ips: accounts=3/300 instances=4021 errors=1 [00:30]\n",
      "ec2-ips: accounts=3/300 instances=4021 errors=1 [00:40]\n",
      "ec2-ips: accounts=3/300 instances=4021 errors=1 [00:50]\n",
      "ec2-ips: accounts=3/300 instances=4021 errors=1 [01:00]\n",
      "ec2-ips: accounts=3/300 instances=4021 errors=1 [01:10]\n",
      "ec2-ips: accounts=3/300 instances=4021 errors=1 [01:15]\n",
    ]);
    expect(time.active()).toBe(0);
  });

  it("works with the global timers under vitest's fake timers (default 10 s interval)", () => {
    vi.useFakeTimers({ now: 0 });
    const out = captureStream(false);
    const progress = createProgressReporter({ stream: out.stream, label: "photos" });
    progress.update({ saved: 5 });
    vi.advanceTimersByTime(25_000);
    progress.stop();
    expect(out.chunks).toEqual([
      "photos: saved=5 [00:10]\n",
      "photos: saved=5 [00:20]\n",
      "photos: saved=5 [00:25]\n",
    ]);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("disabled", () => {
  it("draws nothing, but still prints log lines", () => {
    const out = captureStream(true);
    const time = manualTime();
    const progress = createProgressReporter({
      stream: out.stream,
      enabled: false,
      now: time.now,
      timers: time.timers,
    });
    progress.update({ n: 1 });
    time.advance(60_000);
    progress.log("warning: something");
    progress.stop();
    expect(out.chunks).toEqual(["warning: something\n"]);
    expect(time.active()).toBe(0);
  });
});

describe("TTY", () => {
  it("maintains one live line with the counters and leaves the final one", () => {
    vi.useFakeTimers({ now: 0 });
    const out = captureStream(true);
    const progress = createProgressReporter({ stream: out.stream, label: "zoom-licenses" });
    progress.update({ users: 300, downgrades: 12 });
    vi.advanceTimersByTime(1_000);
    const live = out.text();
    expect(live).toContain("zoom-licenses: users=300 downgrades=12 [00:01]");
    // Redrawn in place (cursor to column 0, clear to the end), never scrolled line by line.
    expect(live).not.toContain("\n");
    expect(live).toContain("\u001b[0K");
    progress.log("warning: pending user skipped");
    progress.update({ users: 600 });
    vi.advanceTimersByTime(1_000);
    progress.stop();
    const text = out.text();
    expect(text).toContain("warning: pending user skipped\n");
    expect(text.indexOf("warning: pending user skipped")).toBeGreaterThan(text.indexOf("users=300"));
    expect(text).toMatch(/zoom-licenses: users=600 downgrades=12 \[00:02\][^\n]*\n$/);
    expect(vi.getTimerCount()).toBe(0);
  });
});

it("refuses stdout", () => {
  expect(() => createProgressReporter({ stream: process.stdout as never, isTTY: false })).toThrow(
    expect.objectContaining({ code: "ERR_USAGE" }),
  );
});
