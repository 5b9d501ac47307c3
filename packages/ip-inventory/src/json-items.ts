import { InvalidInputError } from "@cloudadmin/errors";

/** One piece of a json inventory document: a top-level field, or one element of its `items` array. */
export type DocumentEvent =
  | { type: "field"; key: string; value: unknown }
  /** Consecutive elements of `items`: every complete element of the bytes fed so far. */
  | { type: "items"; values: unknown[] }
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
/** 1 for the bytes the scanner acts on outside strings, 0 for the rest. */
const STRUCTURAL = new Uint8Array(256);
for (const c of [QUOTE, OPEN_OBJ, CLOSE_OBJ, OPEN_ARR, CLOSE_ARR, COMMA, COLON]) STRUCTURAL[c] = 1;
/** Whitespace and a UTF-8 byte order mark, allowed around the document. */
const IGNORABLE = new Uint8Array(256);
for (const c of [0x20, 0x0a, 0x0d, 0x09, 0xef, 0xbb, 0xbf]) IGNORABLE[c] = 1;

/**
 * Splits a json document (`{ "command", "generatedAt", "items": [...], "errors", "summary", ... }`) into
 * its top-level fields and the elements of `items`, as the bytes arrive, holding one element at a time.
 *
 * Hand-written rather than built on a streaming JSON parser such as `stream-json`: those turn every
 * token of every item into a JavaScript event, which measured several times slower than the native
 * `JSON.parse` this uses on each item's own bytes. The scanner only finds where each item starts and
 * ends, one byte-class lookup per byte, so parsing costs what `JSON.parse` of the whole file costs,
 * while memory holds one chunk's items, not the inventory. Events come in batches, one per chunk
 * (an async step per item costs more than the scan). The bytes are UTF-8 and every
 * structural character is ASCII, so a multi-byte character split across chunks is never misread.
 * With `items: false` the elements are skipped unparsed (merge reads the trailing `shard` first).
 */
export async function* scanJsonDocument(
  chunks: AsyncIterable<Buffer | string>,
  what: string,
  options: { items?: boolean } = {},
): AsyncGenerator<DocumentEvent[]> {
  const scanner = new DocumentScanner(what, options.items !== false);
  for await (const raw of chunks) {
    const events = scanner.feed(typeof raw === "string" ? Buffer.from(raw, "utf8") : raw);
    if (events.length > 0) yield events;
  }
  scanner.end();
}

/**
 * The scanner's state between chunks. `feed` keeps the per-byte state (depth, in a string, after a
 * backslash) in locals and runs as a plain method: the same loop inside the async generator ran
 * about five times slower.
 */
class DocumentScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private inItems = false;
  private itemsDone = false;
  private key: string | undefined;
  private started = false;
  private finished = false;
  /** The bytes captured since the last separator at the level being split (depth 1 or 2). */
  private parts: Buffer[] = [];
  private capStart = 0;
  private capturing = false;

  constructor(
    private readonly what: string,
    private readonly wantItems: boolean,
  ) {}

  private bad(why: string): InvalidInputError {
    return new InvalidInputError(`${this.what} is not an inventory document (${why})`, { phase: "read" });
  }

  private take(chunk: Buffer, end: number): string {
    const tail = chunk.subarray(this.capStart, end);
    const text =
      this.parts.length === 0 ? tail.toString("utf8") : Buffer.concat([...this.parts, tail]).toString("utf8");
    this.parts = [];
    return text;
  }

  private parse(text: string, context: string): unknown {
    try {
      return JSON.parse(text);
    } catch {
      throw this.bad(`malformed JSON in ${context}`);
    }
  }

  feed(chunk: Buffer): DocumentEvent[] {
    const n = chunk.length;
    const events: DocumentEvent[] = [];
    let depth = this.depth;
    let inString = this.inString;
    let escaped = this.escaped;
    /** The last separator between two elements of `items` in this chunk. */
    let lastComma = -1;
    let nextBackslash = -1;
    this.capStart = 0;
    for (let i = 0; i < n; i++) {
      const c = chunk[i] as number;
      if (inString) {
        if (escaped) {
          escaped = false;
          continue;
        }
        // To the string's next quote or backslash: short strings byte by byte, long ones (ARM IDs)
        // with the native indexOf, the next backslash found once per chunk rather than per string.
        let j = i;
        let d = c;
        const stop = Math.min(i + 32, n);
        while (d !== QUOTE && d !== BACKSLASH) {
          if (++j === stop) break;
          d = chunk[j] as number;
        }
        if (j === stop) {
          if (nextBackslash < j) {
            nextBackslash = chunk.indexOf(BACKSLASH, j);
            if (nextBackslash < 0) nextBackslash = n;
          }
          let q = stop === n ? n : chunk.indexOf(QUOTE, j);
          if (q < 0) q = n;
          j = Math.min(q, nextBackslash);
          if (j >= n) {
            i = n;
            continue;
          }
          d = chunk[j] as number;
        }
        if (d === QUOTE) inString = false;
        else escaped = true;
        i = j;
        continue;
      }
      if (STRUCTURAL[c] === 0) {
        if (depth === 0 && !IGNORABLE[c])
          throw this.bad(this.finished ? "text after the document" : "it does not start with '{'");
        continue;
      }
      if (c === QUOTE) {
        if (depth === 0) throw this.bad("it does not start with '{'");
        inString = true;
      } else if (c === OPEN_OBJ || c === OPEN_ARR) {
        if (depth === 0) {
          if (c !== OPEN_OBJ || this.started) throw this.bad("it does not start with '{'");
          this.started = true;
          this.capturing = true;
          this.capStart = i + 1;
        } else if (
          depth === 1 &&
          c === OPEN_ARR &&
          this.key === "items" &&
          !this.inItems &&
          !this.itemsDone
        ) {
          if (this.take(chunk, i).trim() !== "") throw this.bad("malformed items");
          this.inItems = true;
          this.capturing = this.wantItems;
          this.capStart = i + 1;
        }
        depth++;
      } else if (c === CLOSE_OBJ || c === CLOSE_ARR) {
        depth--;
        if (depth < 0) throw this.bad("unbalanced brackets");
        if (depth === 1 && this.inItems) {
          this.endItems(chunk, i, events);
          lastComma = -1;
        } else if (depth === 0) this.endDocument(chunk, i, events);
      } else if (c === COMMA) {
        if (depth === 2 && this.inItems) lastComma = i;
        else if (depth === 1) this.endField(chunk, i, events);
      } else if (c === COLON && depth === 1 && this.key === undefined) {
        const name = this.parse(this.take(chunk, i), "a key");
        if (typeof name !== "string") throw this.bad("malformed key");
        this.key = name;
        this.capStart = i + 1;
      }
    }
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
    // The chunk's complete elements are parsed together: one JSON.parse per chunk, not per item.
    if (lastComma >= 0 && this.inItems) {
      if (this.wantItems) this.pushItems(this.take(chunk, lastComma), events);
      this.capStart = lastComma + 1;
    }
    if (this.capturing && this.capStart < n) this.parts.push(chunk.subarray(this.capStart));
    return events;
  }

  private pushItems(text: string, events: DocumentEvent[]): void {
    events.push({ type: "items", values: this.parse(`[${text}]`, "the items") as unknown[] });
  }

  private endItems(chunk: Buffer, i: number, events: DocumentEvent[]): void {
    if (this.wantItems) {
      const text = this.take(chunk, i);
      if (text.trim() !== "") this.pushItems(text, events);
    }
    this.inItems = false;
    this.itemsDone = true;
    events.push({ type: "items-end" });
    this.capturing = true;
    this.capStart = i + 1;
  }

  private endField(chunk: Buffer, i: number, events: DocumentEvent[]): void {
    const text = this.take(chunk, i);
    const key = this.key;
    if (key === undefined) throw this.bad("malformed top level");
    if (!(key === "items" && this.itemsDone))
      events.push({ type: "field", key, value: this.parse(text, `'${key}'`) });
    this.key = undefined;
    this.capStart = i + 1;
  }

  private endDocument(chunk: Buffer, i: number, events: DocumentEvent[]): void {
    const text = this.take(chunk, i);
    const key = this.key;
    if (key !== undefined && !(key === "items" && this.itemsDone))
      events.push({ type: "field", key, value: this.parse(text, `'${key}'`) });
    else if (key === undefined && text.trim() !== "") throw this.bad("malformed top level");
    this.key = undefined;
    this.capturing = false;
    this.finished = true;
  }

  end(): void {
    if (!this.started) throw this.bad("it is empty");
    if (!this.finished) throw this.bad("it ends before the document does");
  }
}
