import { UsageError } from "@cloudadmin/errors";
import type { CommandModule } from "../command-module.js";
import { ExitCode } from "../exit-codes.js";

const SHELLS = ["bash", "zsh", "fish"] as const;

export const completionCommand: CommandModule = {
  name: "completion",
  summary: "print a shell completion script (bash, zsh or fish)",
  configure(command) {
    command.argument("<shell>", `one of ${SHELLS.join(", ")}`).addHelpText(
      "after",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: zsh's own ${fpath[1]}, printed as is
      '\nInstall:\n  bash: cloudadmin completion bash > ~/.local/share/bash-completion/completions/cloudadmin\n  zsh:  cloudadmin completion zsh > "${fpath[1]}/_cloudadmin"\n  fish: cloudadmin completion fish > ~/.config/fish/completions/cloudadmin.fish\n',
    );
  },
  async run(ctx, _options, args) {
    const shell = args[0];
    const { bashCompletion, fishCompletion, zshCompletion } = await import("../completion.js");
    const script =
      shell === "bash"
        ? bashCompletion(ctx.program)
        : shell === "zsh"
          ? zshCompletion(ctx.program)
          : shell === "fish"
            ? fishCompletion(ctx.program)
            : undefined;
    if (script === undefined)
      throw new UsageError(`completion: unknown shell '${shell}' (choose ${SHELLS.join(", ")})`);
    ctx.io.stdout.write(script);
    return ExitCode.ok;
  },
};
