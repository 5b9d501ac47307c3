import type { Item } from "./fields.js";

/** Any other command: its items as a searchable table of their top-level fields. */
export interface GenericData {
  kind: "generic";
  columns: string[];
  rows: string[][];
}

export function genericCollector() {
  const columns: string[] = [];
  const seen = new Set<string>();
  const items: Item[] = [];
  return {
    add(item: Item): void {
      for (const key of Object.keys(item)) {
        if (!seen.has(key)) {
          seen.add(key);
          columns.push(key);
        }
      }
      items.push(item);
    },
    finish(): GenericData {
      const cell = (v: unknown): string =>
        v === null || v === undefined
          ? ""
          : typeof v === "string"
            ? v
            : Array.isArray(v) && v.every((x) => typeof x !== "object")
              ? v.join(", ")
              : typeof v === "object"
                ? JSON.stringify(v)
                : String(v);
      return { kind: "generic", columns, rows: items.map((item) => columns.map((c) => cell(item[c]))) };
    },
  };
}
