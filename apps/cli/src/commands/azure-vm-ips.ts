import type { CommandModule } from "../command-module.js";

/** `cloudadmin azure-vm-ips`: not built yet; it appears in --help when its job works. */
export const azureVmIpsCommand: CommandModule | null = null;
