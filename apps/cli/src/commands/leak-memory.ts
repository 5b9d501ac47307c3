import type { CommandModule } from "../command-module.js";

/** `cloudadmin leak-memory`: not built yet; it appears in --help when its job works. */
export const leakMemoryCommand: CommandModule | null = null;
