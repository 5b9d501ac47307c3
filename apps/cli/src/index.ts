/**
 * The cloudadmin CLI as a function: `run(argv, io)` returns the exit code. For tests and for tools
 * that embed the CLI; the libraries are the API for everything else.
 */
export { run } from "./run.js";
export { processIo } from "./io.js";
export type { CliIo, OutStream } from "./io.js";
export { ExitCode, exitCodeFor, exitCodeForScopes } from "./exit-codes.js";
