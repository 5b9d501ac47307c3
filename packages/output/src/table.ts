import stringWidth from "string-width";
import stripAnsi from "strip-ansi";

/**
 * The terminal table of `-o table`, written by hand rather than with cli-table3: what it must guarantee
 * (no line wider than the terminal, whatever the cells hold: wide CJK characters, emoji, escape
 * sequences from a VM name) is the whole of the work, and cli-table3's borders, padding and wrapping
 * only got in the way. Display widths come from `string-width`, escape sequences are removed by
 * `strip-ansi`, so the hand-written part is only the layout.
 */

/** Two spaces between columns, no border, no rule between rows (like `kubectl get`). */
const GAP = "  ";
const ELLIPSIS = "…";
/** A column is never cut below this many characters (its ellipsis included) while others are wider. */
const MIN_COLUMN = 4;

/** Options of {@link renderTable}. */
export interface RenderTableOptions {
  /** The terminal's width in columns. Absent (a pipe, a file): nothing is cut. */
  columns?: number;
  /** Show every cell whole even when the table is wider than `columns` (`--wide`). */
  wide?: boolean;
}

// C0 controls, DEL and C1 controls; Unicode line/paragraph separators and the bidirectional overrides
// and isolates that can make text read differently from what it is ("Trojan Source").
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * A cloud-provided string made safe to print on a terminal: ANSI/VT escape sequences (CSI, OSC such as
 * hyperlinks and window titles) are removed with `strip-ansi`, then every C0 and C1 control character
 * left over (a lone ESC, BEL, backspace, CSI as the single byte U+009B...) and the bidi overrides;
 * tabs and line breaks become a space so a cell stays on its line.
 */
export function sanitizeTerminalText(text: string): string {
  return stripAnsi(text).replace(CONTROLS, (c) => (c === "\t" || c === "\n" || c === "\r" ? " " : ""));
}

/** The width a string takes on a terminal (East Asian wide characters and emoji count 2). */
export function displayWidth(text: string): number {
  return stringWidth(text);
}

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** Cuts `text` to at most `width` terminal columns, ending in "…" when anything was cut. */
export function truncateToWidth(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  if (width <= 0) return "";
  const room = width - displayWidth(ELLIPSIS);
  let out = "";
  let used = 0;
  for (const { segment } of segmenter.segment(text)) {
    const w = displayWidth(segment);
    if (used + w > room) break;
    out += segment;
    used += w;
  }
  return out + ELLIPSIS;
}

/**
 * Column widths that fit `available` columns: every column gets its natural width if they all fit;
 * otherwise each keeps at least its floor (its header's width, when all floors fit) and the room left
 * is shared out water-filling: the narrow columns keep their width and the wide ones share the rest
 * evenly, so a long VM ID is cut before a short state is.
 */
export function fitWidths(
  natural: readonly number[],
  available: number,
  floors?: readonly number[],
): number[] {
  const total = natural.reduce((a, b) => a + b, 0);
  if (total <= available) return [...natural];
  const base = natural.map((w, i) => Math.min(w, floors?.[i] ?? 0));
  const baseTotal = base.reduce((a, b) => a + b, 0);
  if (floors && baseTotal > available) return fitWidths(natural, available);
  const extra = natural.map((w, i) => w - (base[i] ?? 0));
  const widths = [...base];
  const order = extra.map((w, i) => ({ w, i })).sort((a, b) => a.w - b.w);
  let remaining = Math.max(0, available - baseTotal);
  for (let k = 0; k < order.length; k++) {
    const { w, i } = order[k] as { w: number; i: number };
    const share = Math.floor(remaining / (order.length - k));
    // Without floors, a column is not cut below MIN_COLUMN while the room allows.
    const give = Math.min(w, Math.max(share, floors ? 0 : Math.min(w, MIN_COLUMN)));
    widths[i] = (widths[i] ?? 0) + give;
    remaining -= give;
  }
  return widths;
}

function padEnd(text: string, width: number): string {
  const w = displayWidth(text);
  return w >= width ? text : text + " ".repeat(width - w);
}

/**
 * Renders a compact table: a header line, then one line per row, columns separated by two spaces, no
 * borders and no rule between rows. Cells are sanitised ({@link sanitizeTerminalText}); with `columns`
 * set and `wide` off, no line is wider than `columns` (cells are cut with "…"). Lines end in "\n".
 */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  options: RenderTableOptions = {},
): string {
  if (header.length === 0) return "";
  const clean = (cells: readonly string[]) => header.map((_, i) => sanitizeTerminalText(cells[i] ?? ""));
  const lines = [clean(header), ...rows.map(clean)];
  const natural = header.map((_, i) => Math.max(...lines.map((line) => displayWidth(line[i] ?? ""))));
  const limit = options.wide || options.columns === undefined ? undefined : Math.max(1, options.columns);
  const widths = limit === undefined ? natural : fitWidths(natural, limit - GAP.length * (header.length - 1));
  let out = "";
  for (const line of lines) {
    let text = line
      .map((cell, i) => {
        const width = widths[i] ?? 0;
        const cut = truncateToWidth(cell, width);
        return i === line.length - 1 ? cut : padEnd(cut, width);
      })
      .join(GAP)
      .trimEnd();
    // Too narrow a terminal for even the narrowest columns: cut the line itself.
    if (limit !== undefined) text = truncateToWidth(text, limit);
    out += `${text}\n`;
  }
  return out;
}
