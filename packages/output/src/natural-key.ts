/**
 * The order people expect a command's rows in (SPEC section 4: "-o table ... is sorted by the natural
 * key"): by names, not by the GUIDs or the arrival order the clouds answer in. Keyed by the command
 * name written in the envelope, so every command gets its order without passing anything.
 */
const NATURAL_KEYS: Record<string, readonly string[]> = {
  "azure-vm-ips": ["subscriptionName", "resourceGroup", "vmName", "vmId"],
  "ec2-ips": ["accountName", "accountId", "region", "instanceId"],
  "user-photos": ["userPrincipalName", "userId"],
  "zoom-licenses": ["email"],
  "leak-memory": ["t"],
  doctor: ["provider"],
};

/** The fields a command's rows are sorted by, or undefined to keep the arrival order. */
export function naturalKeyFor(command: string): readonly string[] | undefined {
  return NATURAL_KEYS[command];
}

const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/** The sort key of one item: the fields' text (missing fields sort first). */
export function sortKeyOf(item: unknown, fields: readonly string[]): string[] {
  const record = (typeof item === "object" && item !== null ? item : {}) as Record<string, unknown>;
  return fields.map((f) => {
    const v = record[f];
    return v === null || v === undefined ? "" : String(v);
  });
}

/** Compares two sort keys field by field: case-insensitive, numbers in names by value ("vm2" < "vm10"). */
export function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const c = collator.compare(a[i] ?? "", b[i] ?? "");
    if (c !== 0) return c;
  }
  return 0;
}
