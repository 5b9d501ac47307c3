import type { Command } from "commander";
import type { CommandContext } from "./context.js";

/**
 * One `cloudadmin` command. `configure` declares its flags and help (cheap: it must not import the
 * job's library, so `cloudadmin --help` stays fast); `run` does the work, importing the library
 * lazily, and returns the exit code. See commands/README.md.
 */
export interface CommandModule {
  /** The command name (`ec2-ips`). */
  name: string;
  /** One line for the command list in `cloudadmin --help`. */
  summary: string;
  configure(command: Command): void;
  /** `options` are the command's own options (commander's opts()); the globals are in ctx. */
  run(ctx: CommandContext, options: Record<string, unknown>, args: string[]): Promise<number>;
}
