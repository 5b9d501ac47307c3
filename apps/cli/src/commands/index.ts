import type { CommandModule } from "../command-module.js";
import { azureVmIpsCommand } from "./azure-vm-ips.js";
import { completionCommand } from "./completion.js";
import { doctorCommand } from "./doctor.js";
import { ec2IpsCommand } from "./ec2-ips.js";
import { ipsCommand } from "./ips.js";
import { leakMemoryCommand } from "./leak-memory.js";
import { mergeCommand } from "./merge.js";
import { simCommand } from "./sim.js";
import { userPhotosCommand } from "./user-photos.js";
import { zoomLicensesCommand } from "./zoom-licenses.js";

/** Every command, in help order. */
export const COMMANDS: readonly CommandModule[] = [
  azureVmIpsCommand,
  ec2IpsCommand,
  ipsCommand,
  mergeCommand,
  userPhotosCommand,
  zoomLicensesCommand,
  leakMemoryCommand,
  simCommand,
  doctorCommand,
  completionCommand,
];
