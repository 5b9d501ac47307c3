/**
 * A column of csv and table output: a field name (`"instanceId"`, or a dotted path such as
 * `"cgroup.limitBytes"`), or an object naming the column and how to get its value.
 */
export type ColumnSpec<T> = string | Column<T>;

/** A column with an explicit header and value getter. */
export interface Column<T> {
  /** Column name; also the field read when `value` is absent. */
  name: string;
  /** Header text (default: `name`). */
  header?: string;
  /** Gets the cell's value from an item (default: the field `name`). */
  value?: (item: T) => unknown;
}

/** A resolved column: header and getter. */
export interface ResolvedColumn<T> {
  header: string;
  get: (item: T) => unknown;
}

export function resolveColumns<T>(specs: readonly ColumnSpec<T>[]): ResolvedColumn<T>[] {
  return specs.map((spec) => {
    if (typeof spec === "string") return { header: spec, get: (item: T) => readField(item, spec) };
    const { name, header, value } = spec;
    return { header: header ?? name, get: value ?? ((item: T) => readField(item, name)) };
  });
}

/** Columns taken from the first item's own keys (objects), or a single `value` column (anything else). */
export function columnsFromItem<T>(item: T, options: { skipNested: boolean }): ResolvedColumn<T>[] {
  if (!isPlainRecord(item)) return [{ header: "value", get: (x: T) => x }];
  const keys = Object.keys(item).filter((key) => !(options.skipNested && isNested(item[key])));
  return resolveColumns<T>(keys);
}

function readField(item: unknown, path: string): unknown {
  if (!isPlainRecord(item)) return undefined;
  if (Object.hasOwn(item, path)) return item[path];
  let value: unknown = item;
  for (const part of path.split(".")) {
    if (!isPlainRecord(value) || !Object.hasOwn(value, part)) return undefined;
    value = value[part];
  }
  return value;
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function isNested(value: unknown): boolean {
  if (Array.isArray(value))
    return value.some((v) => typeof v === "object" && v !== null && !(v instanceof Date));
  return isPlainRecord(value);
}

function scalarText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "" : value.toISOString();
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  return JSON.stringify(value) ?? "";
}

/**
 * The text of a cell. null/undefined are empty; arrays of scalars are joined with `separator` (`;` in csv,
 * as SPEC section 4 says); arrays holding objects, and objects, are JSON-encoded so they stay parseable.
 */
export function cellText(value: unknown, separator: string): string {
  if (Array.isArray(value)) {
    if (isNested(value)) return JSON.stringify(value);
    return value
      .filter((v) => v !== null && v !== undefined)
      .map(scalarText)
      .join(separator);
  }
  return scalarText(value);
}
