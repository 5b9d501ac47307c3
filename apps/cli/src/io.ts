import type { Readable, Writable } from "node:stream";

/** A writable with the TTY facts the CLI needs. */
export type OutStream = Writable & { isTTY?: boolean; columns?: number };

/**
 * Everything the CLI touches outside itself. `bin.ts` passes the real process; tests pass buffers,
 * an env object and their own signal, so `run()` is testable in-process.
 */
export interface CliIo {
  stdout: OutStream;
  stderr: OutStream;
  stdin: Readable & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  cwd: string;
  /** Aborted on SIGINT/SIGTERM. */
  signal?: AbortSignal;
}

export function processIo(signal?: AbortSignal): CliIo {
  const io: CliIo = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  };
  if (signal) io.signal = signal;
  return io;
}
