import { CloudAdminError, isAbortError } from "@cloudadmin/errors";

/** SPEC section 5. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  auth: 3,
  remote: 4,
  partial: 5,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The one place where an error becomes an exit code. */
export function exitCodeFor(error: unknown): ExitCodeValue {
  if (isAbortError(error)) return ExitCode.interrupted;
  if (!(error instanceof CloudAdminError)) return ExitCode.internal;
  switch (error.code) {
    case "ERR_USAGE":
    case "ERR_INVALID_INPUT":
    case "ERR_INVALID_DATASET":
    case "ERR_INVALID_KEY":
    case "ERR_LIMIT_EXCEEDED":
      return ExitCode.usage;
    case "ERR_CONFIG":
    case "ERR_AUTH":
    case "ERR_AUTH_EXPIRED":
    case "ERR_ACCESS_DENIED":
      return ExitCode.auth;
    case "ERR_PARTIAL":
    case "ERR_QUOTA_EXHAUSTED":
      return ExitCode.partial;
    case "ERR_ABORTED":
      return ExitCode.interrupted;
    case "ERR_INTERNAL":
      return ExitCode.internal;
    default:
      return ExitCode.remote;
  }
}

/**
 * The exit code of a run that read several scopes (accounts, regions, subscriptions, users):
 * 0 when none failed, 5 when some failed and results were written, 4 when every scope failed.
 */
export function exitCodeForScopes(succeeded: number, failed: number): ExitCodeValue {
  if (failed === 0) return ExitCode.ok;
  return succeeded === 0 ? ExitCode.remote : ExitCode.partial;
}

/**
 * As {@link exitCodeForScopes}, from the failed scopes' errors: when nothing was read and every
 * failure is an authentication or configuration error (no credentials, access denied everywhere,
 * a refused endpoint), nothing could be done: 3, not 4.
 */
export function exitCodeForScopeErrors(succeeded: number, errors: readonly unknown[]): ExitCodeValue {
  if (errors.length > 0 && succeeded === 0 && errors.every((e) => exitCodeFor(e) === ExitCode.auth)) {
    return ExitCode.auth;
  }
  return exitCodeForScopes(succeeded, errors.length);
}

/**
 * The exit code of a leak-memory run, from why its samples ended (`LeakRun.endReason`): 130 when
 * the signal ended it, 1 when an allocation failure ended it (`onAllocationFailure: "exit"`, as the
 * command's help says), else 0 (the hold ran out).
 */
export function exitCodeForLeak(endReason: "held" | "aborted" | "allocation-failed" | null): ExitCodeValue {
  if (endReason === "aborted") return ExitCode.interrupted;
  if (endReason === "allocation-failed") return ExitCode.internal;
  return ExitCode.ok;
}

/**
 * The exit code of `doctor`: a provider that refused the credentials or is misconfigured (3) outranks
 * one that could not be reached (4); with every provider working, 5 when a `--probe` assumption did
 * not hold (differs, or could not be told), else 0.
 */
export function exitCodeForDoctor(
  failures: readonly unknown[],
  probes: readonly { status: "holds" | "differs" | "unknown" }[],
): ExitCodeValue {
  if (failures.some((e) => [ExitCode.auth, ExitCode.usage].includes(exitCodeFor(e) as 2 | 3)))
    return ExitCode.auth;
  if (failures.length > 0) return ExitCode.remote;
  return probes.every((p) => p.status === "holds") ? ExitCode.ok : ExitCode.partial;
}

/**
 * The exit code of a run that changed users (zoom-licenses apply and restore), from the errors it
 * reported: a stop on a quota (`ERR_QUOTA_EXHAUSTED`: the rest was not attempted, the journal is
 * whole) is partial (5) however many changes were made; otherwise as {@link exitCodeForScopes}.
 */
export function exitCodeForChanges(succeeded: number, errors: readonly unknown[]): ExitCodeValue {
  if (errors.some((e) => exitCodeFor(e) === ExitCode.partial)) return ExitCode.partial;
  return exitCodeForScopes(succeeded, errors.length);
}

/**
 * Whether a run's output is worth writing: 0 and 5 produced results; any other outcome (every scope
 * failed, nothing could be done) leaves an `--out` target as it was (`ctx.emit`'s `commitIf`).
 */
export function isUsefulOutcome(code: ExitCodeValue): boolean {
  return code === ExitCode.ok || code === ExitCode.partial;
}

/** Commander's own outcomes: help and version shown are 0; anything else it refused is a usage error. */
export function exitCodeForParse(commanderCode: string): ExitCodeValue {
  const shown = [
    "commander.helpDisplayed",
    "commander.version",
    "commander.help",
    "commander.executeSubCommandAsync",
  ];
  return shown.includes(commanderCode) ? ExitCode.ok : ExitCode.usage;
}

/** A command's own code, unless the run was interrupted (SIGINT/SIGTERM) meanwhile: then 130. */
export function exitCodeForRun(commandCode: number, aborted: boolean): number {
  return aborted ? ExitCode.interrupted : commandCode;
}
