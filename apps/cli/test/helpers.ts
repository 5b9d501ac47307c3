import { PassThrough, Writable } from "node:stream";
import type { CliIo } from "../src/io.js";
import { run } from "../src/run.js";

/** A writable that keeps what was written. */
export class Capture extends Writable {
  text = "";
  isTTY: boolean;
  constructor(
    isTTY = false,
    private readonly onWrite?: (text: string) => void,
  ) {
    super();
    this.isTTY = isTTY;
  }
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (error?: Error | null) => void): void {
    this.text += chunk.toString();
    this.onWrite?.(this.text);
    done();
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunCliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  signal?: AbortSignal;
  stdoutTTY?: boolean;
  stderrTTY?: boolean;
  stdin?: string;
  /** Called with everything written to stdout so far, after each write. */
  onStdout?: (text: string) => void;
}

/** Runs the CLI in-process with captured stdout/stderr and a clean environment. */
export async function runCli(argv: string[], options: RunCliOptions = {}): Promise<CliResult> {
  const stdout = new Capture(options.stdoutTTY ?? false, options.onStdout);
  const stderr = new Capture(options.stderrTTY ?? false);
  const stdin = new PassThrough() as PassThrough & { isTTY?: boolean };
  if (options.stdin !== undefined) stdin.end(options.stdin);
  else stdin.end();
  const io: CliIo = {
    stdout,
    stderr,
    stdin,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
    cwd: options.cwd ?? process.cwd(),
  };
  if (options.signal) io.signal = options.signal;
  const code = await run(argv, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}
