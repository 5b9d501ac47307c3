import type { CommandModule } from "../command-module.js";

/** `cloudadmin user-photos`: not built yet; it appears in --help when its job works. */
export const userPhotosCommand: CommandModule | null = null;
