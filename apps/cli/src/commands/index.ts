import type { CommandModule } from "../command-module.js";
import { azureVmIpsCommand } from "./azure-vm-ips.js";
import { completionCommand } from "./completion.js";
import { doctorCommand } from "./doctor.js";
import { ec2IpsCommand } from "./ec2-ips.js";
import { leakMemoryCommand } from "./leak-memory.js";
import { simCommand } from "./sim.js";
import { userPhotosCommand } from "./user-photos.js";
import { zoomLicensesCommand } from "./zoom-licenses.js";

/** Every command, in help order. A job's entry is null until its job works (no placeholders in --help). */
export const COMMANDS: ReadonlyArray<CommandModule | null> = [
  azureVmIpsCommand,
  ec2IpsCommand,
  userPhotosCommand,
  zoomLicensesCommand,
  leakMemoryCommand,
  simCommand,
  doctorCommand,
  completionCommand,
];
