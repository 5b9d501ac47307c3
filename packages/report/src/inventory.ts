import { type Item, asItem, strings, text } from "./fields.js";

/**
 * An inventory report's data: one compact row per VM, instance or IP record (arrays, not objects, so
 * the 100,000-VM arg-tenant report stays a few tens of MB), and the totals per scope and region.
 * Reads azure-vm-ips, ec2-ips and ip-inventory records alike.
 */
export interface InventoryData {
  kind: "inventory";
  /** Column headers, in row order. */
  columns: string[];
  /** Index of the state and public-IP columns (the page's filters). */
  stateColumn: number;
  publicColumn: number;
  rows: string[][];
  totals: {
    scopes: Array<{ scope: string; items: number; publicIps: number; privateIps: number }>;
    regions: Array<{ region: string; items: number; publicIps: number; privateIps: number }>;
  };
}

interface Tally {
  items: number;
  publicIps: number;
  privateIps: number;
}

/** Collects inventory rows one item at a time. */
export function inventoryCollector() {
  const rows: string[][] = [];
  const scopes = new Map<string, Tally>();
  const regions = new Map<string, Tally>();
  let withChange = false;
  let withCloud = false;
  const tally = (map: Map<string, Tally>, key: string, pub: number, priv: number): void => {
    const t = map.get(key) ?? { items: 0, publicIps: 0, privateIps: 0 };
    t.items += 1;
    t.publicIps += pub;
    t.privateIps += priv;
    map.set(key, t);
  };
  return {
    add(entry: Item): void {
      // ips diff items are { change, ip, before, after }: the row shows the holder now (or, for a
      // removed IP, the one it had), and what it was before when it moved or changed.
      const change = text(entry, "change", "changeType");
      const before = asItem(entry.before);
      const after = asItem(entry.after);
      const isDiff = change !== "" && (entry.before !== undefined || entry.after !== undefined);
      const item = isDiff ? (entry.after ? after : before) : entry;
      const was =
        isDiff && entry.before && entry.after
          ? [
              text(before, "resourceName"),
              // A holder recreated under the same name is told apart by its ID.
              text(before, "resourceId") === text(before, "resourceName") ? "" : text(before, "resourceId"),
              text(before, "state"),
            ]
              .filter(Boolean)
              .join(", ")
          : "";
      // ips find/diff records hold one IP each (ip + visibility); job records hold lists.
      const ip = text(item, "ip");
      const visibility = text(item, "visibility");
      const publicIps = ip ? (visibility === "public" ? [ip] : []) : strings(item.publicIps);
      const privateIps = ip
        ? visibility === "public"
          ? []
          : [ip]
        : [...strings(item.privateIps), ...strings(item.ipv6Ips)];
      const scope = text(item, "subscriptionName", "accountName", "subscriptionId", "accountId");
      const region = text(item, "location", "region");
      const cloud = text(item, "cloud");
      withChange ||= change !== "";
      withCloud ||= cloud !== "";
      rows.push([
        scope,
        text(item, "resourceGroup"),
        region,
        text(item, "vmName", "name", "resourceName", "instanceId"),
        text(item, "powerState", "state"),
        privateIps.join(", "),
        publicIps.join(", "),
        text(item, "vmId", "instanceId", "resourceId"),
        cloud,
        change,
        was,
      ]);
      tally(scopes, scope, publicIps.length, privateIps.length);
      tally(regions, region, publicIps.length, privateIps.length);
    },
    finish(): InventoryData {
      const all = [
        "scope",
        "group",
        "region",
        "name",
        "state",
        "private IPs",
        "public IPs",
        "id",
        "cloud",
        "change",
        "before",
      ];
      // Drop the columns no row has a value in (no resource group on AWS, no cloud on job records).
      const keep = all.map((_, i) =>
        i === 4 || i === 5 || i === 6
          ? true
          : i === 8
            ? withCloud
            : i === 9 || i === 10
              ? withChange
              : rows.some((r) => r[i] !== ""),
      );
      const pick = <T>(values: T[]): T[] => values.filter((_, i) => keep[i]);
      const columns = pick(all);
      const sorted = <K extends string>(map: Map<string, Tally>, key: K) =>
        [...map.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([name, t]) => ({ [key]: name, ...t }) as Record<K, string> & Tally);
      const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });
      // The natural order: scope name, resource group, name (not the GUID order the clouds answer in).
      rows.sort(
        (a, b) =>
          collator.compare(a[0] ?? "", b[0] ?? "") ||
          collator.compare(a[1] ?? "", b[1] ?? "") ||
          collator.compare(a[3] ?? "", b[3] ?? ""),
      );
      return {
        kind: "inventory",
        columns,
        stateColumn: columns.indexOf("state"),
        publicColumn: columns.indexOf("public IPs"),
        rows: rows.map(pick),
        totals: { scopes: sorted(scopes, "scope"), regions: sorted(regions, "region") },
      };
    },
  };
}
