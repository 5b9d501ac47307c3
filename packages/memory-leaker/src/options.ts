import { constants as bufferConstants } from "node:buffer";
import { InvalidInputError } from "@cloudadmin/errors";
import { realTimer, type Timer } from "@cloudadmin/paging";
import type { StartLeakOptions } from "./types.js";

/**
 * An option of {@link StartLeakOptions} was refused (code `ERR_INVALID_INPUT`). `option` names it,
 * so a front end can point at its own flag without reading the message.
 */
export class LeakOptionError extends InvalidInputError {
  readonly option: keyof StartLeakOptions;
  constructor(option: keyof StartLeakOptions, message: string) {
    super(message, { scope: "leak-memory", phase: "options" });
    this.option = option;
  }
}

/** The options with their defaults applied; every limit of the library is checked here, once. */
export interface ResolvedLeakOptions {
  blockBytes: number;
  fill: number;
  maxBytes: number;
  delayMs: number;
  rampMs: number;
  targetPercent: number | undefined;
  holdMs: number | undefined;
  afterHold: "exit" | "release";
  onAllocationFailure: "hold" | "exit";
  oomScoreAdj: number | undefined;
  holdSampleIntervalMs: number | undefined;
  beforeAllocating: (() => Promise<void>) | undefined;
  signal: AbortSignal | undefined;
  timer: Timer;
  procRoot: string;
  sysRoot: string;
  rootDir: string;
  env: Readonly<Record<string, string | undefined>>;
  pageSize: number | undefined;
  touchMethod: "auto" | "populate" | "write";
  hugePages: boolean;
  allocate: (bytes: number) => Uint8Array;
}

/** setTimeout's largest delay: a longer wait would fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

function refuse(option: keyof StartLeakOptions, message: string): never {
  throw new LeakOptionError(option, message);
}

function checkRange(
  option: keyof StartLeakOptions,
  value: number | undefined,
  {
    min,
    max,
    integer = false,
    above = false,
  }: { min: number; max: number; integer?: boolean; above?: boolean },
): void {
  if (value === undefined) return;
  const ok =
    typeof value === "number" &&
    Number.isFinite(value) &&
    (above ? value > min : value >= min) &&
    value <= max &&
    (!integer || Number.isInteger(value));
  if (!ok) {
    const kind = integer ? "a whole number" : "a number";
    const range = above ? `above ${min} and at most ${max}` : `from ${min} to ${max}`;
    refuse(option, `${option} must be ${kind} ${range} (got ${String(value)})`);
  }
}

function checkChoice<T extends string>(
  option: keyof StartLeakOptions,
  value: T | undefined,
  choices: T[],
): void {
  if (value !== undefined && !choices.includes(value)) {
    refuse(option, `${option} must be one of ${choices.join(", ")} (got '${String(value)}')`);
  }
}

/**
 * Checks every option against the library's limits and applies the defaults. Throws
 * {@link LeakOptionError} on the first option refused; nothing has been read or changed by then.
 */
export function resolveLeakOptions(options: StartLeakOptions): ResolvedLeakOptions {
  if (options.blockBytes === undefined) refuse("blockBytes", "blockBytes is required");
  checkRange("blockBytes", options.blockBytes, { min: 1, max: bufferConstants.MAX_LENGTH, integer: true });
  checkRange("fill", options.fill, { min: 0, max: 1 });
  checkRange("maxBytes", options.maxBytes, { min: 0, max: Number.MAX_SAFE_INTEGER });
  checkRange("delayMs", options.delayMs, { min: 0, max: MAX_TIMER_MS });
  checkRange("rampMs", options.rampMs, { min: 0, max: Number.MAX_SAFE_INTEGER });
  checkRange("holdMs", options.holdMs, { min: 0, max: Number.MAX_SAFE_INTEGER });
  checkRange("targetPercent", options.targetPercent, { min: 0, max: 100, above: true });
  checkRange("oomScoreAdj", options.oomScoreAdj, { min: -1000, max: 1000, integer: true });
  checkRange("holdSampleIntervalMs", options.holdSampleIntervalMs, { min: 1, max: MAX_TIMER_MS });
  checkRange("pageSize", options.pageSize, { min: 1, max: 2 ** 30, integer: true });
  checkChoice("afterHold", options.afterHold, ["exit", "release"]);
  checkChoice("onAllocationFailure", options.onAllocationFailure, ["hold", "exit"]);
  checkChoice("touchMethod", options.touchMethod, ["auto", "populate", "write"]);

  const fill = options.fill ?? 1;
  const maxBytes = options.maxBytes ?? 0;
  const delayMs = options.delayMs ?? 0;
  const rampMs = options.rampMs ?? 0;
  if (rampMs > 0 && delayMs > 0) {
    refuse("rampMs", "rampMs and delayMs cannot be combined: the ramp sets the delay");
  }
  if (rampMs > 0 && maxBytes === 0 && options.targetPercent === undefined) {
    refuse("rampMs", "rampMs needs an amount to spread: maxBytes above 0, or targetPercent");
  }
  if (options.targetPercent !== undefined && fill === 0) {
    refuse(
      "targetPercent",
      "targetPercent needs a fill above 0: untouched memory never counts in the working set",
    );
  }

  return {
    blockBytes: options.blockBytes,
    fill,
    maxBytes,
    delayMs,
    rampMs,
    targetPercent: options.targetPercent,
    holdMs: options.holdMs,
    afterHold: options.afterHold ?? "exit",
    onAllocationFailure: options.onAllocationFailure ?? "hold",
    oomScoreAdj: options.oomScoreAdj,
    holdSampleIntervalMs: options.holdSampleIntervalMs,
    beforeAllocating: options.beforeAllocating,
    signal: options.signal,
    timer: options.timer ?? realTimer,
    procRoot: options.procRoot ?? "/proc",
    sysRoot: options.sysRoot ?? "/sys",
    rootDir: options.rootDir ?? "/",
    env: options.env ?? {},
    pageSize: options.pageSize,
    touchMethod: options.touchMethod ?? "auto",
    hugePages: options.hugePages !== false,
    allocate: options.allocate ?? ((bytes: number) => Buffer.allocUnsafeSlow(bytes)),
  };
}
