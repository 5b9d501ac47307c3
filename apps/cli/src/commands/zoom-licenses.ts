import type { CommandModule } from "../command-module.js";

/** `cloudadmin zoom-licenses`: not built yet; it appears in --help when its job works. */
export const zoomLicensesCommand: CommandModule | null = null;
