import { type Item, text } from "./fields.js";

/** doctor: one card per provider check (and per `--probe` assumption). */
export interface DoctorData {
  kind: "doctor";
  checks: Array<{ provider: string; status: string; title: string; detail: Array<[string, string]> }>;
}

const SKIP = new Set(["provider", "status"]);

export function doctorCollector() {
  const checks: DoctorData["checks"] = [];
  return {
    add(item: Item): void {
      const detail: Array<[string, string]> = [];
      for (const [key, value] of Object.entries(item)) {
        if (SKIP.has(key) || value === null || value === undefined || value === "") continue;
        detail.push([key, typeof value === "string" ? value : JSON.stringify(value)]);
      }
      checks.push({
        provider: text(item, "provider"),
        status: text(item, "status"),
        title: text(item, "assumption", "provider"),
        detail,
      });
    },
    finish(): DoctorData {
      return { kind: "doctor", checks };
    },
  };
}
