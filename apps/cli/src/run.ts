import { readFileSync } from "node:fs";
import {
  CloudAdminError,
  PartialFailureError,
  UsageError,
  isAbortError,
  redactSecrets,
} from "@cloudadmin/errors";
import { Command, CommanderError } from "commander";
import type { CommandModule } from "./command-module.js";
import { COMMANDS } from "./commands/index.js";
import { createCommandContext } from "./context.js";
import { ExitCode, exitCodeFor, exitCodeForParse, exitCodeForRun } from "./exit-codes.js";
import { addGlobalOptions, normaliseSimulateFlag, refuseFlagsAsValues, resolveGlobals } from "./globals.js";
import type { CliIo } from "./io.js";
import { sanitizeForTerminal } from "./log.js";

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    return pkg.version;
  } catch {
    return "0.0.0";
  }
}

/** The one line printed for a failed run (SPEC section 5). */
function describeFailure(command: string | undefined, error: unknown, verbosity: number): string {
  const where = command ? `cloudadmin: ${command}: ` : "cloudadmin: ";
  if (error instanceof CloudAdminError) {
    const hint = error instanceof PartialFailureError ? "" : verbosity > 0 ? "" : "";
    return `${where}${error.message}${hint}`;
  }
  if (isAbortError(error)) return `${where}interrupted`;
  const message = error instanceof Error ? error.message : String(error);
  return `${where}internal error: ${message}${verbosity > 0 ? "" : " (rerun with -v for the stack)"}`;
}

/**
 * Runs cloudadmin with `argv` (without node and the script) against `io`, and returns the exit code.
 * Never calls process.exit, so it runs in-process in tests.
 */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const program = new Command("cloudadmin");
  const signal = io.signal ?? new AbortController().signal;
  let exitCode: number = ExitCode.ok;
  let activeCommand: string | undefined;
  let verbosity = argv.includes("-v") || argv.includes("--verbose") ? 1 : 0;

  program
    .description("cloudadmin: inventories and clean-ups that cloud and IT admins otherwise script by hand")
    .version(version(), "-V, --version")
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // One line: commander's message already names the bad flag or value.
      outputError: (s, write) => write(`cloudadmin: ${s.replace(/^error: /, "").trim()}\n`),
    });
  addGlobalOptions(program);
  program.addHelpText(
    "after",
    "\nEvery command accepts the global options before or after its name.\nExit codes: 0 ok, 1 internal, 2 usage, 3 auth/config, 4 remote, 5 partial, 130 interrupted.\n",
  );

  const attach = (module: CommandModule, command: Command, path: string[]) => {
    command.exitOverride();
    if (command.commands.length === 0 || path.length === 0) {
      command.action(async (...actionArgs: unknown[]) => {
        const leaf = actionArgs[actionArgs.length - 1] as Command;
        const globals = resolveGlobals(leaf);
        verbosity = globals.verbosity;
        activeCommand = [module.name, ...path].join(" ");
        const ctx = createCommandContext({ io, command: module.name, program, globals, signal });
        try {
          exitCode = await module.run(ctx, leaf.opts(), [...path, ...leaf.args]);
        } catch (error) {
          // The error line comes first on stderr, before the progress reporter's closing status line.
          exitCode = reportFailure(error);
        } finally {
          await ctx.dispose();
        }
      });
    }
    for (const sub of command.commands) attach(module, sub, [...path, sub.name()]);
  };

  for (const module of COMMANDS) {
    const command = program.command(module.name).description(module.summary);
    module.configure(command);
    attach(module, command, []);
  }

  try {
    refuseFlagsAsValues(program, argv);
    refuseHelpForUnknownCommand(program, argv);
    await program.parseAsync(normaliseSimulateFlag(argv), { from: "user" });
    return exitCodeForRun(exitCode, signal.aborted);
  } catch (error) {
    if (error instanceof CommanderError) return exitCodeForParse(error.code);
    return reportFailure(error);
  }

  /** Prints the one line of a failed run (and the stack with -v for an internal error); its exit code. */
  function reportFailure(error: unknown): number {
    const code = exitCodeFor(error);
    io.stderr.write(
      `${sanitizeForTerminal(redactSecrets(describeFailure(activeCommand, error, verbosity)))}\n`,
    );
    if (verbosity > 0 && code === ExitCode.internal && error instanceof Error && error.stack) {
      io.stderr.write(`${sanitizeForTerminal(redactSecrets(error.stack))}\n`);
    }
    return code;
  }
}

/** `cloudadmin help <name>` for a name that is no command is a usage error, not the general help. */
function refuseHelpForUnknownCommand(program: Command, argv: readonly string[]): void {
  const words = argv.filter((a) => !a.startsWith("-"));
  if (words[0] !== "help" || words[1] === undefined) return;
  if (program.commands.some((c) => c.name() === words[1] || c.aliases().includes(words[1] as string))) return;
  throw new UsageError(
    `help: there is no command '${(words[1] as string).slice(0, 40)}'; see cloudadmin --help`,
  );
}

export { UsageError };
