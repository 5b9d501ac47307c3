import type { CommandModule } from "../command-module.js";

/** `cloudadmin ec2-ips`: not built yet; it appears in --help when its job works. */
export const ec2IpsCommand: CommandModule | null = null;
