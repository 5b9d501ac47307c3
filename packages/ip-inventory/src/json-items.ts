import { InvalidInputError } from "@cloudadmin/errors";

/** One piece of a json inventory document: a top-level field, or one element of its `items` array. */
export type DocumentEvent =
  | { type: "field"; key: string; value: unknown }
  | { type: "item"; value: unknown }
  /** The end of the `items` array (also when it is empty or its items were skipped). */
  | { type: "items-end" };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/**
 * Splits a json document (`{ "command", "generatedAt", "items": [...], "errors", "summary", ... }`) into
 * its top-level fields and the elements of `items`, as the bytes arrive, holding one element at a time.
 *
 * Hand-written rather than built on a streaming JSON parser such as `stream-json`: those turn every
 * token of every item into a JavaScript event, which measured several times slower than the native
 * `JSON.parse` this uses on each item's own bytes. The scanner only finds where each item starts and
 * ends (strings are skipped with the native `indexOf`), so parsing costs what `JSON.parse` of the
 * whole file costs, while memory holds one item, not the inventory. The bytes are UTF-8 and every
 * structural character is ASCII, so a multi-byte character split across chunks is never misread.
 * With `items: false` the elements are skipped unparsed (merge reads the trailing `shard` first).
 */
export async function* scanJsonDocument(
  chunks: AsyncIterable<Buffer | string>,
  what: string,
  options: { items?: boolean } = {},
): AsyncGenerator<DocumentEvent> {
  const wantItems = options.items !== false;
  let depth = 0;
  let inString = false;
  let pendingBackslashes = 0;
  let inItems = false;
  let itemsDone = false;
  let key: string | undefined;
  let started = false;
  let finished = false;
  // The text captured since the last separator at the level being split (depth 1 or 2).
  let parts: Buffer[] = [];
  let capStart = 0;
  let capturing = false;

  const bad = (why: string): InvalidInputError =>
    new InvalidInputError(`${what} is not an inventory document (${why})`, { phase: "read" });
  const take = (chunk: Buffer, end: number): string => {
    const tail = chunk.subarray(capStart, end);
    const text =
      parts.length === 0 ? tail.toString("utf8") : Buffer.concat([...parts, tail]).toString("utf8");
    parts = [];
    return text;
  };
  const parse = (text: string, context: string): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      throw bad(`malformed JSON in ${context}`);
    }
  };

  for await (const raw of chunks) {
    const chunk = typeof raw === "string" ? Buffer.from(raw, "utf8") : raw;
    const n = chunk.length;
    capStart = 0;
    let i = 0;
    while (i < n) {
      if (inString) {
        let q = chunk.indexOf(QUOTE, i);
        for (;;) {
          if (q < 0) break;
          let b = q - 1;
          while (b >= 0 && chunk[b] === BACKSLASH) b--;
          let run = q - 1 - b;
          if (b < 0) run += pendingBackslashes;
          pendingBackslashes = 0;
          if (run % 2 === 0) break;
          q = chunk.indexOf(QUOTE, q + 1);
        }
        if (q < 0) {
          let b = n - 1;
          while (b >= i && chunk[b] === BACKSLASH) b--;
          const run = n - 1 - b;
          pendingBackslashes = b < i ? pendingBackslashes + run : run;
          i = n;
          break;
        }
        inString = false;
        pendingBackslashes = 0;
        i = q + 1;
        continue;
      }
      const c = chunk[i] as number;
      if (c === QUOTE) {
        if (depth === 0) throw bad("it does not start with '{'");
        inString = true;
        pendingBackslashes = 0;
      } else if (c === OPEN_OBJ || c === OPEN_ARR) {
        if (depth === 0) {
          if (c !== OPEN_OBJ || started) throw bad("it does not start with '{'");
          started = true;
          capturing = true;
          capStart = i + 1;
        } else if (depth === 1 && c === OPEN_ARR && key === "items" && !inItems && !itemsDone) {
          const before = take(chunk, i).trim();
          if (before !== "") throw bad("malformed items");
          inItems = true;
          capturing = wantItems;
          capStart = i + 1;
        }
        depth++;
      } else if (c === CLOSE_OBJ || c === CLOSE_ARR) {
        depth--;
        if (depth < 0) throw bad("unbalanced brackets");
        if (depth === 1 && inItems) {
          // The end of the items array.
          if (wantItems) {
            const text = take(chunk, i);
            if (text.trim() !== "") yield { type: "item", value: parse(text, "an item") };
          }
          inItems = false;
          itemsDone = true;
          yield { type: "items-end" };
          capturing = true;
          capStart = i + 1;
        } else if (depth === 0) {
          const text = take(chunk, i);
          if (key !== undefined && !(key === "items" && itemsDone))
            yield { type: "field", key, value: parse(text, `'${key}'`) };
          else if (key === undefined && text.trim() !== "") throw bad("malformed top level");
          key = undefined;
          capturing = false;
          finished = true;
        }
      } else if (c === COMMA) {
        if (depth === 2 && inItems) {
          if (wantItems) yield { type: "item", value: parse(take(chunk, i), "an item") };
          capStart = i + 1;
        } else if (depth === 1) {
          const text = take(chunk, i);
          if (key === undefined) throw bad("malformed top level");
          if (!(key === "items" && itemsDone)) yield { type: "field", key, value: parse(text, `'${key}'`) };
          key = undefined;
          capStart = i + 1;
        }
      } else if (c === COLON && depth === 1 && key === undefined) {
        const name = parse(take(chunk, i), "a key");
        if (typeof name !== "string") throw bad("malformed key");
        key = name;
        capStart = i + 1;
      } else if (
        depth === 0 &&
        c !== 0x20 &&
        c !== 0x0a &&
        c !== 0x0d &&
        c !== 0x09 &&
        c !== 0xef &&
        c !== 0xbb &&
        c !== 0xbf
      ) {
        throw bad(finished ? "text after the document" : "it does not start with '{'");
      }
      i++;
    }
    if (capturing && capStart < n) parts.push(chunk.subarray(capStart));
    capStart = 0;
  }
  if (!started) throw bad("it is empty");
  if (!finished) throw bad("it ends before the document does");
}
