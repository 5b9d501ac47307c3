/**
 * A small OData `$filter` parser and evaluator for directory objects: what Microsoft Graph accepts on
 * `/users` (comparisons, `in`, `startsWith`/`endsWith`, `not`, `and`/`or`, parentheses), plus the
 * facts the advanced-query rules need (which operators the expression uses).
 */

export type Literal = string | number | boolean | null;

export type FilterNode =
  | { kind: "cmp"; op: "eq" | "ne" | "gt" | "ge" | "lt" | "le"; property: string; value: Literal }
  | { kind: "in"; property: string; values: Literal[] }
  | { kind: "fn"; name: "startswith" | "endswith"; property: string; value: string }
  | { kind: "not"; operand: FilterNode }
  | { kind: "and" | "or"; left: FilterNode; right: FilterNode };

export class FilterSyntaxError extends Error {}

type Token =
  | { t: "str"; v: string }
  | { t: "num"; v: number }
  | { t: "word"; v: string }
  | { t: "("; v: "(" }
  | { t: ")"; v: ")" }
  | { t: ","; v: "," };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let v = "";
      i++;
      for (;;) {
        if (i >= text.length) throw new FilterSyntaxError("unterminated string literal");
        const d = text[i] as string;
        if (d === "'") {
          if (text[i + 1] === "'") {
            v += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += d;
        i++;
      }
      tokens.push({ t: "str", v });
    } else if (c === "(" || c === ")" || c === ",") {
      tokens.push({ t: c, v: c } as Token);
      i++;
    } else {
      const m = /^[^\s(),']+/.exec(text.slice(i));
      if (!m) throw new FilterSyntaxError(`unexpected character '${c}'`);
      const word = m[0];
      i += word.length;
      if (/^-?\d+(\.\d+)?$/.test(word)) tokens.push({ t: "num", v: Number(word) });
      else tokens.push({ t: "word", v: word });
    }
  }
  return tokens;
}

const CMP_OPS = new Set(["eq", "ne", "gt", "ge", "lt", "le"]);

/** Parses a `$filter` expression; throws FilterSyntaxError with a short reason. */
export function parseFilter(text: string): FilterNode {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const next = (): Token => {
    const t = tokens[pos++];
    if (!t) throw new FilterSyntaxError("unexpected end of expression");
    return t;
  };
  const expect = (t: Token["t"]): Token => {
    const tok = next();
    if (tok.t !== t) throw new FilterSyntaxError(`expected '${t}' but found '${String(tok.v)}'`);
    return tok;
  };
  const isWord = (tok: Token | undefined, w: string): boolean =>
    tok?.t === "word" && tok.v.toLowerCase() === w;

  const literal = (): Literal => {
    const tok = next();
    if (tok.t === "str") return tok.v;
    if (tok.t === "num") return tok.v;
    if (tok.t === "word") {
      const w = tok.v.toLowerCase();
      if (w === "true") return true;
      if (w === "false") return false;
      if (w === "null") return null;
      // Unquoted DateTimeOffset literals (createdDateTime ge 2024-01-01T00:00:00Z).
      if (/^\d{4}-\d{2}-\d{2}/.test(tok.v)) return tok.v;
    }
    throw new FilterSyntaxError(`expected a literal but found '${String(tok.v)}'`);
  };

  const primary = (): FilterNode => {
    const tok = peek();
    if (!tok) throw new FilterSyntaxError("unexpected end of expression");
    if (tok.t === "(") {
      next();
      const inner = orExpr();
      expect(")");
      return inner;
    }
    if (tok.t !== "word") throw new FilterSyntaxError(`unexpected '${String(tok.v)}'`);
    const lower = tok.v.toLowerCase();
    if (lower === "not") {
      next();
      return { kind: "not", operand: primary() };
    }
    if ((lower === "startswith" || lower === "endswith") && tokens[pos + 1]?.t === "(") {
      next();
      expect("(");
      const prop = next();
      if (prop.t !== "word") throw new FilterSyntaxError("expected a property name");
      expect(",");
      const value = literal();
      expect(")");
      if (typeof value !== "string") throw new FilterSyntaxError(`${lower} needs a string literal`);
      return { kind: "fn", name: lower, property: prop.v, value };
    }
    next();
    const property = tok.v;
    const op = next();
    if (op.t !== "word") throw new FilterSyntaxError(`expected an operator after '${property}'`);
    const opName = op.v.toLowerCase();
    if (opName === "in") {
      expect("(");
      const values: Literal[] = [literal()];
      while (peek()?.t === ",") {
        next();
        values.push(literal());
      }
      expect(")");
      return { kind: "in", property, values };
    }
    if (!CMP_OPS.has(opName)) throw new FilterSyntaxError(`unknown operator '${op.v}'`);
    return { kind: "cmp", op: opName as "eq", property, value: literal() };
  };

  const andExpr = (): FilterNode => {
    let left = primary();
    while (isWord(peek(), "and")) {
      next();
      left = { kind: "and", left, right: primary() };
    }
    return left;
  };
  const orExpr = (): FilterNode => {
    let left = andExpr();
    while (isWord(peek(), "or")) {
      next();
      left = { kind: "or", left, right: andExpr() };
    }
    return left;
  };
  const tree = orExpr();
  if (pos < tokens.length) throw new FilterSyntaxError(`unexpected '${String(tokens[pos]?.v)}'`);
  return tree;
}

/** Every node of the tree, depth first. */
export function walkFilter(node: FilterNode, visit: (n: FilterNode) => void): void {
  visit(node);
  if (node.kind === "not") walkFilter(node.operand, visit);
  else if (node.kind === "and" || node.kind === "or") {
    walkFilter(node.left, visit);
    walkFilter(node.right, visit);
  }
}

/** Case-insensitive property lookup (directory property names are case-insensitive). */
export function getProperty(obj: Record<string, unknown>, name: string): unknown {
  if (name in obj) return obj[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) return obj[k];
  return undefined;
}

function norm(v: unknown): unknown {
  return typeof v === "string" ? v.toLowerCase() : v;
}

function compare(a: unknown, b: Literal, op: string): boolean {
  const left = a === undefined ? null : a;
  if (op === "eq") return norm(left) === norm(b);
  if (op === "ne") return norm(left) !== norm(b);
  if (left === null || b === null) return false;
  const x = norm(left) as string | number;
  const y = norm(b) as string | number;
  if (op === "gt") return x > y;
  if (op === "ge") return x >= y;
  if (op === "lt") return x < y;
  return x <= y;
}

/** Whether an object matches the filter (string comparisons are case-insensitive, as in Entra ID). */
export function matchesFilter(node: FilterNode, obj: Record<string, unknown>): boolean {
  switch (node.kind) {
    case "cmp":
      return compare(getProperty(obj, node.property), node.value, node.op);
    case "in": {
      const v = norm(getProperty(obj, node.property) ?? null);
      return node.values.some((x) => norm(x) === v);
    }
    case "fn": {
      const v = getProperty(obj, node.property);
      if (typeof v !== "string") return false;
      const s = v.toLowerCase();
      const p = node.value.toLowerCase();
      return node.name === "startswith" ? s.startsWith(p) : s.endsWith(p);
    }
    case "not":
      return !matchesFilter(node.operand, obj);
    case "and":
      return matchesFilter(node.left, obj) && matchesFilter(node.right, obj);
    case "or":
      return matchesFilter(node.left, obj) || matchesFilter(node.right, obj);
  }
}
