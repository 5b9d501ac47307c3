/**
 * CSV formula injection (OWASP "CSV Injection"): a spreadsheet runs a cell that starts with `=`, `+`,
 * `-` or `@` as a formula, and a leading tab or carriage return can hide such a start. Names from
 * clouds (a VM, a user's attribute) are untrusted, so such a cell gets a leading single quote, as
 * OWASP recommends: spreadsheets then show the text as it is, and the quote tells a reader it was
 * added. The cell is still quoted by the CSV writer where CSV needs it.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/** `'` + `cell` when the cell would start a formula in a spreadsheet, else `cell` unchanged. */
export function neutralizeFormula(cell: string): string {
  return FORMULA_START.test(cell) ? `'${cell}` : cell;
}
