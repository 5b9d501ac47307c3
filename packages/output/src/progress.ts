import { UsageError } from "@cloudadmin/errors";
import { MultiBar } from "cli-progress";

/** The stream progress goes to (normally `process.stderr`). */
export interface ProgressStream {
  write(chunk: string, callback?: (error?: Error | null) => void): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Timer functions, injectable so tests can drive time. */
export interface ProgressTimers {
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

/** Options of {@link createProgressReporter}. */
export interface ProgressReporterOptions {
  /** Where progress is drawn: stderr. Never stdout, which carries results only. */
  stream: ProgressStream;
  /** Draw a live line (true) or print periodic status lines (false). Default: `stream.isTTY === true`. */
  isTTY?: boolean;
  /** `false` (from `--no-progress` or `--quiet`) draws nothing; `log()` still prints. Default true. */
  enabled?: boolean;
  /** Not a TTY: how often a status line is printed (default 10 000 ms). */
  intervalMs?: number;
  /** Prefix of every status line, usually the command name. */
  label?: string;
  /** Milliseconds clock for the elapsed time (default `Date.now`). */
  now?: () => number;
  /** Timer functions for the periodic line (default: the global ones). */
  timers?: ProgressTimers;
  /** On a TTY: redraws per second (default 10). */
  fps?: number;
}

/** Counters shown on the progress line, in insertion order (`{ accounts: "12/300", instances: 4021 }`). */
export type ProgressFields = Record<string, number | string>;

/** Draws progress on stderr; see {@link createProgressReporter}. */
export interface ProgressReporter {
  /** Merges counters into the line (shown at the next redraw or status line). */
  update(fields: ProgressFields): void;
  /** Prints a line (a warning, say) above the live line without garbling it. Printed even when disabled. */
  log(line: string): void;
  /** Prints the final status line and stops the timers. Call it in a `finally`; safe to call twice. */
  stop(): void;
}

/**
 * Progress on stderr, chosen by where it goes: on a TTY one live line redrawn by `cli-progress` with the
 * counters and the elapsed time; elsewhere (CI logs, files) one plain status line every `intervalMs` and
 * one at `stop()`; when disabled nothing at all. It only ever writes to `stream`.
 *
 * @example
 * ```ts
 * import { createProgressReporter } from "@cloudadmin/output";
 * const progress = createProgressReporter({ stream: process.stderr, label: "ec2-ips", enabled: !flags.quiet });
 * let instances = 0;
 * try {
 *   for await (const instance of listEc2Ips(options)) {
 *     progress.update({ instances: ++instances });
 *   }
 * } finally {
 *   progress.stop();
 * }
 * ```
 */
export function createProgressReporter(options: ProgressReporterOptions): ProgressReporter {
  const { stream } = options;
  if (stream === (process.stdout as unknown)) {
    throw new UsageError("progress must not be drawn on stdout, which carries results only: pass stderr");
  }
  const now = options.now ?? Date.now;
  const started = now();
  const fields: ProgressFields = {};
  const line = (): string => formatStatus(options.label, fields, now() - started);
  const enabled = options.enabled ?? true;
  if (!enabled) {
    return {
      update() {},
      log(text) {
        stream.write(`${text}\n`);
      },
      stop() {},
    };
  }
  return (options.isTTY ?? stream.isTTY === true)
    ? ttyReporter(options, fields, line)
    : periodicReporter(options, fields, line);
}

function periodicReporter(
  options: ProgressReporterOptions,
  fields: ProgressFields,
  line: () => string,
): ProgressReporter {
  const { stream } = options;
  const timers = options.timers ?? {
    setInterval: globalThis.setInterval,
    clearInterval: globalThis.clearInterval,
  };
  const intervalMs = Math.max(1, options.intervalMs ?? 10_000);
  const handle = timers.setInterval(() => stream.write(`${line()}\n`), intervalMs);
  // A pending status line must never keep the process alive.
  (handle as { unref?: () => void } | undefined)?.unref?.();
  let stopped = false;
  return {
    update(update) {
      Object.assign(fields, update);
    },
    log(text) {
      stream.write(`${text}\n`);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      timers.clearInterval(handle as never);
      stream.write(`${line()}\n`);
    },
  };
}

function ttyReporter(
  options: ProgressReporterOptions,
  fields: ProgressFields,
  line: () => string,
): ProgressReporter {
  const target = options.stream;
  // cli-progress only draws on streams that say they are TTYs; the caller decided this one is.
  const terminal = {
    isTTY: true,
    get columns(): number {
      return target.columns ?? 80;
    },
    write(chunk: string, callback?: (error?: Error | null) => void): boolean {
      target.write(chunk, callback);
      return true;
    },
  };
  const bars = new MultiBar({
    stream: terminal as unknown as NodeJS.WritableStream,
    format: () => line(),
    fps: options.fps ?? 10,
    // Redraw every tick: a log line printed above must not leave the live line blank.
    forceRedraw: true,
    // Keep wrapping on and cut the line to the terminal width instead of toggling terminal modes.
    linewrap: true,
    hideCursor: false,
    clearOnComplete: false,
    gracefulExit: false,
  });
  const bar = bars.create(0, 0);
  let stopped = false;
  return {
    update(update) {
      Object.assign(fields, update);
      bar.update({});
    },
    log(text) {
      if (stopped) {
        target.write(`${text}\n`);
        return;
      }
      bars.log(`${text}\n`);
      bars.update();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bars.stop();
    },
  };
}

function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = String(m).padStart(2, "0");
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** `ec2-ips: accounts=12/300 instances=4021 [01:05]` */
function formatStatus(label: string | undefined, fields: ProgressFields, elapsedMs: number): string {
  const counters = Object.entries(fields)
    .map(([key, value]) => `${key}=${value}`)
    .join(" ");
  const head = label ? `${label}:` : "";
  return [head, counters, `[${formatElapsed(elapsedMs)}]`].filter((part) => part !== "").join(" ");
}
