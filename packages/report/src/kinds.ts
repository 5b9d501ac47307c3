/** Which page a command's report is: chosen by the command name, so commands pass nothing. */
export type ReportKind = "inventory" | "photos" | "zoom" | "leak" | "doctor" | "generic";

const KINDS: Record<string, ReportKind> = {
  "azure-vm-ips": "inventory",
  "ec2-ips": "inventory",
  ips: "inventory",
  "ips find": "inventory",
  "ips diff": "inventory",
  merge: "inventory",
  "user-photos": "photos",
  "zoom-licenses": "zoom",
  "leak-memory": "leak",
  doctor: "doctor",
};

/** The report kind of a command (`"azure-vm-ips"` -> `"inventory"`); unknown commands get a plain table. */
export function reportKindFor(command: string): ReportKind {
  return KINDS[command] ?? "generic";
}
