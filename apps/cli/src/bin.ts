#!/usr/bin/env node
import { processIo } from "./io.js";
import { run } from "./run.js";

// SIGINT/SIGTERM abort the run: sinks discard half-written output, the exit code is 130.
const controller = new AbortController();
let interrupts = 0;
const onSignal = (name: NodeJS.Signals) => {
  interrupts++;
  if (interrupts > 1) process.exit(130); // a second Ctrl-C means "now"
  controller.abort(new Error(`received ${name}`));
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

process.exitCode = await run(process.argv.slice(2), processIo(controller.signal));
