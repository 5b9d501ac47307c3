/** Small readers for untrusted item fields: everything from a cloud is a string or nothing. */

export type Item = Record<string, unknown>;

export function asItem(value: unknown): Item {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Item) : {};
}

/** The first of `keys` that holds a string or number, as text; "" when none does. */
export function text(item: Item, ...keys: string[]): string {
  for (const key of keys) {
    const v = item[key];
    if (typeof v === "string") return v;
    if (typeof v === "number" || typeof v === "boolean") return String(v);
  }
  return "";
}

export function num(item: Item, key: string): number | null {
  const v = item[key];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** A list of strings (IP lists), dropping anything else. */
export function strings(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.filter((v): v is string => typeof v === "string" && v !== "");
}
