import { type Item, num, text } from "./fields.js";

/** A zoom-licenses run: the plan (downgrade / keep, each with why), then the results; or a restore. */
export interface ZoomData {
  kind: "zoom";
  mode: "plan" | "apply" | "restore";
  rows: Array<{
    email: string;
    displayName: string;
    lastLoginTime: string;
    inactiveDays: number | null;
    action: string;
    result: string;
    reason: string;
  }>;
}

export function zoomCollector() {
  const rows: ZoomData["rows"] = [];
  return {
    add(item: Item): void {
      rows.push({
        email: text(item, "email"),
        displayName: text(item, "displayName"),
        lastLoginTime: text(item, "lastLoginTime"),
        inactiveDays: num(item, "inactiveDays"),
        action: text(item, "action"),
        result: text(item, "result"),
        reason: text(item, "reason"),
      });
    },
    finish(): ZoomData {
      const mode = rows.some((r) => r.action === "restore")
        ? "restore"
        : rows.some((r) => r.result !== "planned" && r.result !== "")
          ? "apply"
          : "plan";
      rows.sort((a, b) => a.email.localeCompare(b.email));
      return { kind: "zoom", mode, rows };
    },
  };
}
