#!/usr/bin/env node
import { processIo } from "./io.js";
import { run } from "./run.js";

// The AWS SDK warns on every Node 20 run that its future versions need Node 22; users of this
// release cannot act on it, and it would interleave with our stderr.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

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
