/**
 * A small interpreter for the subset of KQL that Resource Graph queries of this project use:
 * `where`, `extend`, `project`, `project-away`, `mv-expand` (with `with_itemindex` and `limit`),
 * `join` (`leftouter`, `inner`, `innerunique`), `summarize` (`make_list`, `make_set`, `count`),
 * `order by`, `take`/`limit`, and the scalar functions listed in FUNCTIONS. It follows Kusto's
 * semantics where they matter for results (dynamic member access yields null, `tostring(null)` is
 * "", `=~`/`in~` compare case-insensitively, `mv-expand` keeps rows with empty arrays and caps each
 * record at 128 items unless told otherwise, clashing join columns get a `1` suffix, `order by`
 * defaults to descending) and answers anything else with a `KqlError`, which the service turns
 * into ARG's 400 InvalidQuery.
 */

export class KqlError extends Error {
  constructor(
    readonly detailCode: string,
    message: string,
    readonly position?: number,
  ) {
    super(message);
  }
}

/** A row: values in the order of its table's `columns` (arrays, not objects: tenants have 100,000s of rows). */
export type Row = unknown[];
export interface Table {
  columns: string[];
  rows: Row[];
}

/** Limits ARG documents for one query (query-language, "Resource Graph custom language elements"). */
export const ARG_LIMITS = {
  joins: 3,
  crossTableJoins: 1,
  mvExpands: 3,
  mvExpandDefault: 128,
  mvExpandMax: 400,
};

type Tok = { t: "id" | "str" | "num" | "op"; v: string; pos: number };

const KEYWORD_OPS = new Set([
  "mv-expand",
  "project-away",
  "project-rename",
  "project-keep",
  "mv-apply",
  "make-series",
  "top-nested",
  "make-graph",
]);

function tokenize(q: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const two = new Set(["==", "!=", "=~", "!~", "<=", ">="]);
  while (i < q.length) {
    const c = q[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "/" && q[i + 1] === "/") {
      while (i < q.length && q[i] !== "\n") i++;
      continue;
    }
    const start = i;
    if (
      c === "'" ||
      c === '"' ||
      ((c === "@" || c === "h" || c === "H") && (q[i + 1] === "'" || q[i + 1] === '"'))
    ) {
      const verbatim = c === "@";
      if (c !== "'" && c !== '"') i++;
      const quote = q[i] as string;
      i++;
      let s = "";
      while (i < q.length && q[i] !== quote) {
        if (!verbatim && q[i] === "\\" && i + 1 < q.length) {
          const e = q[i + 1] as string;
          s += e === "n" ? "\n" : e === "t" ? "\t" : e;
          i += 2;
        } else s += q[i++];
      }
      if (i >= q.length) throw new KqlError("ParserFailure", "Unterminated string literal", start);
      i++;
      out.push({ t: "str", v: s, pos: start });
      continue;
    }
    if (/[0-9]/.test(c)) {
      while (i < q.length && /[0-9.]/.test(q[i] as string)) i++;
      out.push({ t: "num", v: q.slice(start, i), pos: start });
      continue;
    }
    if (/[A-Za-z_$]/.test(c)) {
      while (i < q.length && /[A-Za-z0-9_$]/.test(q[i] as string)) i++;
      let word = q.slice(start, i);
      const dashed = /^-[A-Za-z]+/.exec(q.slice(i));
      if (dashed && KEYWORD_OPS.has(`${word}${dashed[0]}`.toLowerCase())) {
        word += dashed[0];
        i += dashed[0].length;
      }
      if ((word === "in" || word === "has" || word === "contains") && q[i] === "~") {
        word += "~";
        i++;
      }
      out.push({ t: "id", v: word, pos: start });
      continue;
    }
    if (c === "!" && /^!(in~?|has|contains)\b/.test(q.slice(i))) {
      const m = /^!(in~?|has|contains)/.exec(q.slice(i)) as RegExpExecArray;
      out.push({ t: "id", v: m[0], pos: start });
      i += m[0].length;
      continue;
    }
    const pair = q.slice(i, i + 2);
    if (two.has(pair)) {
      out.push({ t: "op", v: pair, pos: start });
      i += 2;
      continue;
    }
    if ("|(),.[]=<>+-*/%".includes(c)) {
      out.push({ t: "op", v: c, pos: start });
      i++;
      continue;
    }
    throw new KqlError("ParserFailure", `Unexpected character '${c}'`, start);
  }
  return out;
}

// ---------------------------------------------------------------- expressions

type Fn = (row: Row) => unknown;
type Emit = (row: Row) => void;
/**
 * A compiled operator. Row-wise operators (where, extend, project, mv-expand, join's left side,
 * take) are fused into one pass, so a tenant's intermediate rows never pile up in memory; only
 * blocking ones (summarize, order) and a join's right side hold rows.
 */
type Step =
  | { kind: "rows"; make: (tables: Record<string, Row[]>) => (row: Row, emit: Emit) => void }
  | { kind: "sink"; make: (tables: Record<string, Row[]>) => { push: Emit; finish: () => Row[] } };
interface CompiledExpr {
  fn: Fn;
  /** A column name Kusto would give the expression when no name is written (a plain column reference). */
  name?: string;
  aggregate?: { kind: "make_list" | "make_set" | "count"; arg?: Fn };
}

function isEmpty(v: unknown): boolean {
  return v === null || v === undefined || v === "" || (Array.isArray(v) && v.length === 0);
}

export function kqlToString(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

function member(v: unknown, key: string): unknown {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return null;
  const x = (v as Record<string, unknown>)[key];
  return x === undefined ? null : x;
}

function looseEquals(a: unknown, b: unknown): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return false;
  if (typeof a === typeof b && typeof a !== "object") return a === b;
  return kqlToString(a) === kqlToString(b);
}

function ciEquals(a: unknown, b: unknown): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return false;
  return kqlToString(a).toLowerCase() === kqlToString(b).toLowerCase();
}

const FUNCTIONS: Record<string, { min: number; max: number; make: (args: Fn[]) => Fn }> = {
  tolower: {
    min: 1,
    max: 1,
    make:
      ([a]) =>
      (r) =>
        kqlToString((a as Fn)(r)).toLowerCase(),
  },
  toupper: {
    min: 1,
    max: 1,
    make:
      ([a]) =>
      (r) =>
        kqlToString((a as Fn)(r)).toUpperCase(),
  },
  tostring: {
    min: 1,
    max: 1,
    make:
      ([a]) =>
      (r) =>
        kqlToString((a as Fn)(r)),
  },
  isempty: {
    min: 1,
    max: 1,
    make:
      ([a]) =>
      (r) =>
        isEmpty((a as Fn)(r)),
  },
  isnotempty: {
    min: 1,
    max: 1,
    make:
      ([a]) =>
      (r) =>
        !isEmpty((a as Fn)(r)),
  },
  isnull: {
    min: 1,
    max: 1,
    make:
      ([a]) =>
      (r) =>
        (a as Fn)(r) === null,
  },
  isnotnull: {
    min: 1,
    max: 1,
    make:
      ([a]) =>
      (r) =>
        (a as Fn)(r) !== null,
  },
  not: {
    min: 1,
    max: 1,
    make:
      ([a]) =>
      (r) =>
        (a as Fn)(r) !== true,
  },
  strcat: { min: 1, max: 64, make: (args) => (r) => args.map((a) => kqlToString(a(r))).join("") },
  array_length: {
    min: 1,
    max: 1,
    make:
      ([a]) =>
      (r) => {
        const v = (a as Fn)(r);
        return Array.isArray(v) ? v.length : null;
      },
  },
  iff: {
    min: 3,
    max: 3,
    make:
      ([c, a, b]) =>
      (r) =>
        (c as Fn)(r) === true ? (a as Fn)(r) : (b as Fn)(r),
  },
  coalesce: {
    min: 1,
    max: 64,
    make: (args) => (r) => {
      for (const a of args) {
        const v = a(r);
        if (v !== null && v !== undefined && v !== "") return v;
      }
      return null;
    },
  },
  pack_array: { min: 1, max: 64, make: (args) => (r) => args.map((a) => a(r)) },
  bag_pack: {
    min: 0,
    max: 128,
    make: (args) => (r) => {
      const bag: Record<string, unknown> = {};
      for (let i = 0; i + 1 < args.length; i += 2)
        bag[kqlToString((args[i] as Fn)(r))] = (args[i + 1] as Fn)(r);
      return bag;
    },
  },
};
FUNCTIONS.iif = FUNCTIONS.iff as (typeof FUNCTIONS)[string];
FUNCTIONS.pack = FUNCTIONS.bag_pack as (typeof FUNCTIONS)[string];
const AGGREGATES = new Set(["make_list", "make_set", "count"]);

class Parser {
  private i = 0;
  joins = 0;
  crossTableJoins: Array<[string, string]> = [];
  mvExpands = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly tables: Record<string, string[]>,
  ) {}

  private peek(o = 0): Tok | undefined {
    return this.toks[this.i + o];
  }
  private at(v: string): boolean {
    const t = this.peek();
    return t !== undefined && t.t !== "str" && t.v === v;
  }
  private atId(v: string): boolean {
    const t = this.peek();
    return t !== undefined && t.t === "id" && t.v.toLowerCase() === v;
  }
  private fail(message: string, code = "ParserFailure"): never {
    const t = this.peek();
    throw new KqlError(code, message, t?.pos ?? this.toks[this.toks.length - 1]?.pos);
  }
  private expect(v: string): Tok {
    if (!this.at(v))
      this.fail(`Expected '${v}'${this.peek() ? ` but found '${this.peek()?.v}'` : " at end of query"}`);
    return this.toks[this.i++] as Tok;
  }
  private ident(): string {
    const t = this.peek();
    if (t?.t !== "id") this.fail("Expected a name");
    this.i++;
    return t.v;
  }
  done(): boolean {
    return this.i >= this.toks.length;
  }

  /** query := Table ('|' operator)* */
  query(): {
    table: string;
    run: (tables: Record<string, Row[]>) => Table;
    columns: string[];
    topLevelSummarize: boolean;
    limited: boolean;
  } {
    const tableTok = this.peek();
    const name = this.ident();
    const tableName = Object.keys(this.tables).find((t) => t.toLowerCase() === name.toLowerCase());
    if (!tableName) {
      this.i--;
      this.fail(
        `'${name}' is not a Resource Graph table this simulator holds (${Object.keys(this.tables).join(", ")})`,
        "UnknownTable",
      );
    }
    void tableTok;
    let columns = [...(this.tables[tableName] as string[])];
    const steps: Step[] = [];
    let last = "";
    let limited = false;
    while (this.at("|")) {
      this.i++;
      const op = this.ident().toLowerCase();
      last = op;
      const step = this.operator(op, columns, tableName);
      columns = step.columns;
      if (op === "take" || op === "limit") limited = true;
      steps.push(step.step);
    }
    if (!this.done() && !this.at(")")) this.fail(`Unexpected '${this.peek()?.v}'`);
    const finalColumns = columns;
    return {
      table: tableName,
      columns: finalColumns,
      topLevelSummarize: last === "summarize",
      limited,
      run: (tables) => {
        let source: Row[] = tables[tableName] ?? [];
        let i = 0;
        for (;;) {
          const fns: Array<(row: Row, emit: Emit) => void> = [];
          while (i < steps.length && (steps[i] as Step).kind === "rows") {
            fns.push((steps[i++] as Step & { kind: "rows" }).make(tables));
          }
          const sinkStep = steps[i] as (Step & { kind: "sink" }) | undefined;
          const out: Row[] = [];
          const sink = sinkStep
            ? sinkStep.make(tables)
            : { push: (r: Row) => out.push(r), finish: () => out };
          let emit: Emit = sink.push;
          for (let f = fns.length - 1; f >= 0; f--) {
            const fn = fns[f] as (row: Row, emit: Emit) => void;
            const next = emit;
            emit = (r) => fn(r, next);
          }
          for (const r of source) emit(r);
          source = sink.finish();
          if (!sinkStep) break;
          i++;
          if (i >= steps.length) break;
        }
        return { columns: [...finalColumns], rows: source };
      },
    };
  }

  private operator(op: string, cols: string[], table: string): { columns: string[]; step: Step } {
    switch (op) {
      case "where": {
        const e = this.expr(cols);
        return {
          columns: cols,
          step: {
            kind: "rows",
            make: () => (r, emit) => {
              if (e.fn(r) === true) emit(r);
            },
          },
        };
      }
      case "extend":
      case "project": {
        const items: Array<{ name: string; fn: Fn }> = [];
        do {
          if (items.length > 0) this.i++;
          const named = this.peek()?.t === "id" && this.peek(1)?.v === "=" && this.peek(1)?.t === "op";
          if (named) {
            const name = this.ident();
            this.expect("=");
            items.push({ name, fn: this.expr(cols).fn });
          } else {
            const e = this.expr(cols);
            if (!e.name) this.fail(`${op} needs a name for each computed column (name = expression)`);
            items.push({ name: e.name, fn: e.fn });
          }
        } while (this.at(","));
        const outCols = op === "project" ? items.map((x) => x.name) : [...cols];
        if (op === "extend") for (const it of items) if (!outCols.includes(it.name)) outCols.push(it.name);
        const targets = items.map((it) => outCols.indexOf(it.name));
        if (op === "project") {
          return {
            columns: outCols,
            step: {
              kind: "rows",
              make: () => (r, emit) => {
                const o: Row = new Array(items.length);
                for (let k = 0; k < items.length; k++) o[k] = (items[k] as { fn: Fn }).fn(r);
                emit(o);
              },
            },
          };
        }
        return {
          columns: outCols,
          step: {
            kind: "rows",
            make: () => (r, emit) => {
              const o: Row = r.slice();
              for (let k = 0; k < items.length; k++) o[targets[k] as number] = (items[k] as { fn: Fn }).fn(r);
              emit(o);
            },
          },
        };
      }
      case "project-away": {
        const away = new Set<string>();
        do {
          if (away.size > 0) this.i++;
          const n = this.ident();
          if (!cols.includes(n)) this.fail(`Failed to resolve column named '${n}'`, "FailedToResolveColumn");
          away.add(n);
        } while (this.at(","));
        const outCols = cols.filter((c) => !away.has(c));
        const keep = outCols.map((c) => cols.indexOf(c));
        return {
          columns: outCols,
          step: { kind: "rows", make: () => (r, emit) => emit(keep.map((k) => r[k])) },
        };
      }
      case "mv-expand": {
        this.mvExpands++;
        let indexCol: string | undefined;
        if (this.atId("with_itemindex")) {
          this.i++;
          this.expect("=");
          indexCol = this.ident();
        }
        if (this.atId("kind") || this.atId("bagexpansion"))
          this.fail("mv-expand kind/bagexpansion is not supported by this simulator", "UnsupportedOperator");
        const named = this.peek()?.t === "id" && this.peek(1)?.v === "=";
        let name: string;
        let fn: Fn;
        if (named) {
          name = this.ident();
          this.expect("=");
          fn = this.expr(cols).fn;
        } else {
          const e = this.expr(cols);
          if (!e.name) this.fail("mv-expand needs a column or name = expression");
          name = e.name;
          fn = e.fn;
        }
        if (this.at(","))
          this.fail(
            "mv-expand of several columns at once is not supported by this simulator",
            "UnsupportedOperator",
          );
        let cap = ARG_LIMITS.mvExpandDefault;
        if (this.atId("limit")) {
          this.i++;
          const n = this.peek();
          if (n?.t !== "num") this.fail("Expected a number after limit");
          this.i++;
          cap = Number(n.v);
          if (cap > ARG_LIMITS.mvExpandMax)
            this.fail(
              `mv-expand limit ${cap} exceeds the maximum of ${ARG_LIMITS.mvExpandMax}`,
              "InvalidLimit",
            );
        }
        const outCols = [...cols];
        if (!outCols.includes(name)) outCols.push(name);
        if (indexCol && !outCols.includes(indexCol)) outCols.push(indexCol);
        const at = outCols.indexOf(name);
        const ixAt = indexCol ? outCols.indexOf(indexCol) : -1;
        return {
          columns: outCols,
          step: {
            kind: "rows",
            make: () => (r, emit) => {
              const v = fn(r);
              let items: unknown[];
              if (Array.isArray(v)) items = v;
              else if (v !== null && typeof v === "object")
                items = Object.entries(v).map(([k, x]) => ({ [k]: x }));
              else items = v === null || v === undefined ? [] : [v];
              if (items.length === 0) {
                const o = r.slice();
                o[at] = null;
                if (ixAt >= 0) o[ixAt] = null;
                emit(o);
                return;
              }
              const n = Math.min(items.length, cap);
              for (let k = 0; k < n; k++) {
                const o = r.slice();
                o[at] = items[k];
                if (ixAt >= 0) o[ixAt] = k;
                emit(o);
              }
            },
          },
        };
      }
      case "join": {
        this.joins++;
        let kind = "innerunique";
        if (this.atId("kind")) {
          this.i++;
          this.expect("=");
          kind = this.ident().toLowerCase();
        }
        if (!["leftouter", "inner", "innerunique"].includes(kind))
          this.fail(`join kind=${kind} is not supported`, "UnsupportedJoinFlavor");
        this.expect("(");
        const right = this.query();
        this.expect(")");
        if (!this.atId("on")) this.fail("Expected 'on' after the join's right side");
        this.i++;
        const keys: Array<[string, string]> = [];
        do {
          if (keys.length > 0) this.i++;
          const first = this.ident();
          if (first.toLowerCase() === "$left") {
            this.expect(".");
            const l = this.ident();
            this.expect("==");
            const rt = this.ident();
            if (rt.toLowerCase() !== "$right") this.fail("Expected $right");
            this.expect(".");
            keys.push([l, this.ident()]);
          } else keys.push([first, first]);
        } while (this.at(","));
        for (const [l, r] of keys) {
          if (!cols.includes(l))
            this.fail(
              `Failed to resolve column named '${l}' on the join's left side`,
              "FailedToResolveColumn",
            );
          if (!right.columns.includes(r))
            this.fail(
              `Failed to resolve column named '${r}' on the join's right side`,
              "FailedToResolveColumn",
            );
        }
        if (right.table !== table) this.crossTableJoins.push([table, right.table]);
        const rename = new Map<string, string>();
        const outCols = [...cols];
        for (const c of right.columns) {
          let n = c;
          for (let k = 1; outCols.includes(n); k++) n = `${c}${k}`;
          rename.set(c, n);
          outCols.push(n);
        }
        const keyIdx = keys.map(([l, r]) => [cols.indexOf(l), right.columns.indexOf(r)] as const);
        const keyOf = (r: Row, side: 0 | 1): string | null => {
          let s = "";
          for (const k of keyIdx) {
            const v = r[k[side]];
            if (v === null || v === undefined) return null;
            s += `${typeof v}:${kqlToString(v)}\u0000`;
          }
          return s;
        };
        return {
          columns: outCols,
          step: {
            kind: "rows",
            make: (tables) => {
              const rt = right.run(tables);
              const index = new Map<string, Row[]>();
              for (const r of rt.rows) {
                const k = keyOf(r, 1);
                if (k === null) continue;
                const list = index.get(k);
                if (list) list.push(r);
                else index.set(k, [r]);
              }
              const nullRight: Row = right.columns.map(() => null);
              const seen = new Set<string>();
              return (l, emit) => {
                const k = keyOf(l, 0);
                if (kind === "innerunique") {
                  if (k === null || seen.has(k)) return;
                  seen.add(k);
                }
                const matches = k === null ? undefined : index.get(k);
                if (!matches) {
                  if (kind === "leftouter") emit(l.concat(nullRight));
                  return;
                }
                for (const m of matches) emit(l.concat(m));
              };
            },
          },
        };
      }
      case "summarize": {
        const aggs: Array<{ name: string; agg: NonNullable<CompiledExpr["aggregate"]> }> = [];
        if (!this.atId("by")) {
          do {
            if (aggs.length > 0) this.i++;
            let name: string | undefined;
            if (this.peek()?.t === "id" && this.peek(1)?.v === "=") {
              name = this.ident();
              this.expect("=");
            }
            const e = this.expr(cols, true);
            if (!e.aggregate)
              this.fail(
                "summarize needs an aggregation function (make_list, make_set, count)",
                "UnsupportedAggregate",
              );
            aggs.push({
              name: name ?? (e.aggregate.kind === "count" ? "count_" : `${e.aggregate.kind}_`),
              agg: e.aggregate,
            });
          } while (this.at(","));
        }
        const by: Array<{ name: string; fn: Fn }> = [];
        if (this.atId("by")) {
          this.i++;
          do {
            if (by.length > 0) this.i++;
            if (this.peek()?.t === "id" && this.peek(1)?.v === "=") {
              const name = this.ident();
              this.expect("=");
              by.push({ name, fn: this.expr(cols).fn });
            } else {
              const e = this.expr(cols);
              if (!e.name) this.fail("summarize by needs a column or name = expression");
              by.push({ name: e.name, fn: e.fn });
            }
          } while (this.at(","));
        }
        const outCols = [...by.map((b) => b.name), ...aggs.map((a) => a.name)];
        return {
          columns: outCols,
          step: {
            kind: "sink",
            make: () => {
              const states = new Map<
                string,
                { keys: unknown[]; lists: unknown[][]; sets: Array<Set<string>>; counts: number[] }
              >();
              const push = (r: Row) => {
                const keys = by.map((b) => b.fn(r));
                const gk = keys.map((k) => `${typeof k}:${kqlToString(k)}`).join("\u0000");
                let st = states.get(gk);
                if (!st) {
                  st = {
                    keys,
                    lists: aggs.map(() => []),
                    sets: aggs.map(() => new Set()),
                    counts: aggs.map(() => 0),
                  };
                  states.set(gk, st);
                }
                aggs.forEach((a, i) => {
                  if (a.agg.kind === "count") {
                    (st as { counts: number[] }).counts[i] =
                      ((st as { counts: number[] }).counts[i] as number) + 1;
                    return;
                  }
                  const v = (a.agg.arg as Fn)(r);
                  if (v === null || v === undefined) return;
                  if (a.agg.kind === "make_set") {
                    const k = kqlToString(v);
                    const set = (st as { sets: Array<Set<string>> }).sets[i] as Set<string>;
                    if (set.has(k)) return;
                    set.add(k);
                  }
                  ((st as { lists: unknown[][] }).lists[i] as unknown[]).push(v);
                });
              };
              const finish = () => {
                const rows: Row[] = [];
                for (const st of states.values()) {
                  const o: Row = [...st.keys];
                  aggs.forEach((a, i) => {
                    o.push(a.agg.kind === "count" ? st.counts[i] : st.lists[i]);
                  });
                  rows.push(o);
                }
                return rows;
              };
              return { push, finish };
            },
          },
        };
      }
      case "order":
      case "sort": {
        if (!this.atId("by")) this.fail(`Expected 'by' after ${op}`);
        this.i++;
        const keys: Array<{ fn: Fn; desc: boolean }> = [];
        do {
          if (keys.length > 0) this.i++;
          const e = this.expr(cols);
          let desc = true;
          if (this.atId("asc")) {
            desc = false;
            this.i++;
          } else if (this.atId("desc")) this.i++;
          keys.push({ fn: e.fn, desc });
        } while (this.at(","));
        return {
          columns: cols,
          step: {
            kind: "sink",
            make: () => {
              const decorated: Array<{ r: Row; k: unknown[] }> = [];
              const push = (r: Row) => {
                decorated.push({ r, k: keys.map((k) => k.fn(r)) });
              };
              const finish = () => {
                decorated.sort((a, b) => {
                  for (let i = 0; i < keys.length; i++) {
                    const x = a.k[i];
                    const y = b.k[i];
                    if (x === y) continue;
                    if (x === null || x === undefined) return 1;
                    if (y === null || y === undefined) return -1;
                    const c =
                      typeof x === "number" && typeof y === "number"
                        ? x - y
                        : kqlToString(x) < kqlToString(y)
                          ? -1
                          : kqlToString(x) > kqlToString(y)
                            ? 1
                            : 0;
                    if (c !== 0) return (keys[i] as { desc: boolean }).desc ? -c : c;
                  }
                  return 0;
                });
                return decorated.map((d) => d.r);
              };
              return { push, finish };
            },
          },
        };
      }
      case "take":
      case "limit": {
        const n = this.peek();
        if (n?.t !== "num") this.fail(`Expected a number after ${op}`);
        this.i++;
        const count = Number(n.v);
        return {
          columns: cols,
          step: {
            kind: "rows",
            make: () => {
              let seen = 0;
              return (r, emit) => {
                if (seen++ < count) emit(r);
              };
            },
          },
        };
      }
      default:
        this.i--;
        return this.fail(
          `The operator '${op}' is not supported by this Resource Graph simulator`,
          "UnsupportedOperator",
        );
    }
  }

  // expr := and ('or' and)*
  expr(cols: string[], allowAggregate = false): CompiledExpr {
    let left = this.andExpr(cols, allowAggregate);
    while (this.atId("or")) {
      this.i++;
      const l = left.fn;
      const r = this.andExpr(cols, false).fn;
      left = { fn: (row) => l(row) === true || r(row) === true };
    }
    return left;
  }
  private andExpr(cols: string[], allowAggregate: boolean): CompiledExpr {
    let left = this.cmpExpr(cols, allowAggregate);
    while (this.atId("and")) {
      this.i++;
      const l = left.fn;
      const r = this.cmpExpr(cols, false).fn;
      left = { fn: (row) => l(row) === true && r(row) === true };
    }
    return left;
  }
  private cmpExpr(cols: string[], allowAggregate: boolean): CompiledExpr {
    const left = this.postfix(cols, allowAggregate);
    const t = this.peek();
    if (!t) return left;
    const l = left.fn;
    if (t.t === "op" && ["==", "!=", "=~", "!~", "<", ">", "<=", ">="].includes(t.v)) {
      this.i++;
      const r = this.postfix(cols, false).fn;
      switch (t.v) {
        case "==":
          return { fn: (row) => looseEquals(l(row), r(row)) };
        case "!=":
          return { fn: (row) => !looseEquals(l(row), r(row)) };
        case "=~":
          return { fn: (row) => ciEquals(l(row), r(row)) };
        case "!~":
          return { fn: (row) => !ciEquals(l(row), r(row)) };
        default: {
          const op = t.v;
          return {
            fn: (row) => {
              const a = l(row);
              const b = r(row);
              if (typeof a !== "number" || typeof b !== "number") return false;
              return op === "<" ? a < b : op === ">" ? a > b : op === "<=" ? a <= b : a >= b;
            },
          };
        }
      }
    }
    if (t.t === "id" && ["in", "in~", "!in", "!in~"].includes(t.v.toLowerCase())) {
      this.i++;
      const negate = t.v.startsWith("!");
      const ci = t.v.endsWith("~");
      this.expect("(");
      const list: Fn[] = [];
      do {
        if (list.length > 0) this.i++;
        list.push(this.expr(cols).fn);
      } while (this.at(","));
      this.expect(")");
      const eq = ci ? ciEquals : looseEquals;
      return { fn: (row) => list.some((f) => eq(l(row), f(row))) !== negate };
    }
    return left;
  }
  private postfix(cols: string[], allowAggregate: boolean): CompiledExpr {
    let e = this.primary(cols, allowAggregate);
    for (;;) {
      if (this.at(".")) {
        this.i++;
        const key = this.ident();
        const base = e.fn;
        e = { fn: (row) => member(base(row), key), name: key };
      } else if (this.at("[")) {
        this.i++;
        const idx = this.expr(cols).fn;
        this.expect("]");
        const base = e.fn;
        e = {
          fn: (row) => {
            const v = base(row);
            const k = idx(row);
            if (Array.isArray(v) && typeof k === "number") {
              const x = v[k < 0 ? v.length + k : k];
              return x === undefined ? null : x;
            }
            return typeof k === "string" ? member(v, k) : null;
          },
        };
      } else return e;
    }
  }
  private primary(cols: string[], allowAggregate: boolean): CompiledExpr {
    const t = this.peek();
    if (!t) this.fail("Expected an expression at end of query");
    if (t.t === "str") {
      this.i++;
      const v = t.v;
      return { fn: () => v };
    }
    if (t.t === "num") {
      this.i++;
      const v = Number(t.v);
      return { fn: () => v };
    }
    if (t.t === "op" && t.v === "(") {
      this.i++;
      const e = this.expr(cols);
      this.expect(")");
      return { fn: e.fn };
    }
    if (t.t === "op" && t.v === "-" && this.peek(1)?.t === "num") {
      this.i += 2;
      const v = -Number((this.toks[this.i - 1] as Tok).v);
      return { fn: () => v };
    }
    if (t.t !== "id") this.fail(`Unexpected '${t.v}'`);
    this.i++;
    const word = t.v;
    const lower = word.toLowerCase();
    if (lower === "true" || lower === "false") {
      const v = lower === "true";
      return { fn: () => v };
    }
    if (lower === "dynamic" && this.at("(")) {
      this.i++;
      if (this.atId("null")) {
        this.i++;
        this.expect(")");
        return { fn: () => null };
      }
      this.fail(
        "dynamic() literals other than dynamic(null) are not supported by this simulator",
        "UnsupportedFunction",
      );
    }
    if (this.at("(")) {
      this.i++;
      const args: CompiledExpr[] = [];
      if (!this.at(")")) {
        do {
          if (args.length > 0) this.i++;
          args.push(this.expr(cols));
        } while (this.at(","));
      }
      this.expect(")");
      if (AGGREGATES.has(lower)) {
        if (!allowAggregate) {
          this.i--;
          this.fail(`The aggregation '${word}' is allowed only in summarize`, "UnsupportedAggregate");
        }
        const kind = lower as "make_list" | "make_set" | "count";
        if (kind === "count" ? args.length !== 0 : args.length !== 1)
          this.fail(`${word}() takes ${kind === "count" ? "no" : "one"} argument`);
        return {
          fn: () => null,
          aggregate: kind === "count" ? { kind } : { kind, arg: (args[0] as CompiledExpr).fn },
        };
      }
      const f = FUNCTIONS[lower];
      if (!f) {
        this.i = this.toks.indexOf(t);
        this.fail(`Unknown function: '${word}'`, "UnknownFunction");
      }
      if (args.length < f.min || args.length > f.max)
        this.fail(`${word}() does not take ${args.length} arguments`);
      return { fn: f.make(args.map((a) => a.fn)) };
    }
    if (!cols.includes(word)) {
      this.i--;
      this.fail(`Failed to resolve scalar expression named '${word}'`, "FailedToResolveScalarExpression");
    }
    const at = cols.indexOf(word);
    return {
      fn: (row) => {
        const v = row[at];
        return v === undefined ? null : v;
      },
      name: word,
    };
  }
}

export interface CompiledQuery {
  /** The tables the query reads (for scoping). */
  columns: string[];
  /** True when the result has an `id` column, which ARG requires to hand out a `$skipToken`. */
  hasId: boolean;
  /** A top-level summarize or take/limit: ARG answers only a first page (no `$skipToken`; `$skip` ignored for take). */
  firstPageOnly: boolean;
  limited: boolean;
  run(tables: Record<string, Row[]>): Table;
}

/** Parses a query against the tables' column lists; throws KqlError for anything outside the subset or ARG's limits. */
export function compileQuery(text: string, tables: Record<string, string[]>): CompiledQuery {
  const toks = tokenize(text);
  if (toks.length === 0) throw new KqlError("ParserFailure", "The query is empty", 0);
  const p = new Parser(toks, tables);
  const q = p.query();
  if (!p.done()) throw new KqlError("ParserFailure", "Unexpected ')'", toks[toks.length - 1]?.pos);
  if (p.joins > ARG_LIMITS.joins) {
    throw new KqlError(
      "JoinLimitExceeded",
      `The query has ${p.joins} join operators; Resource Graph allows at most ${ARG_LIMITS.joins}`,
    );
  }
  const allContainerJoins = p.crossTableJoins.every(
    ([a, b]) => new Set([a, b, "Resources", "ResourceContainers"]).size === 2,
  );
  if (p.crossTableJoins.length > ARG_LIMITS.crossTableJoins && !allContainerJoins) {
    throw new KqlError(
      "CrossTableJoinLimitExceeded",
      `The query has ${p.crossTableJoins.length} cross-table joins; Resource Graph allows 1 (3 between Resources and ResourceContainers)`,
    );
  }
  if (p.mvExpands > ARG_LIMITS.mvExpands) {
    throw new KqlError(
      "MvExpandLimitExceeded",
      `The query has ${p.mvExpands} mv-expand operators; Resource Graph allows at most ${ARG_LIMITS.mvExpands}`,
    );
  }
  return {
    columns: q.columns,
    hasId: q.columns.includes("id"),
    firstPageOnly: q.topLevelSummarize,
    limited: q.limited,
    run: q.run,
  };
}

/** Objects to rows in a table's column order (missing values are null). */
export function toRows(objects: ReadonlyArray<Record<string, unknown>>, columns: readonly string[]): Row[] {
  return objects.map((o) => columns.map((c) => (o[c] === undefined ? null : o[c])));
}

/** Rows back to objects keyed by column name. */
export function toObjects(table: Table): Array<Record<string, unknown>> {
  return table.rows.map((r) => {
    const o: Record<string, unknown> = {};
    table.columns.forEach((c, i) => {
      o[c] = r[i] === undefined ? null : r[i];
    });
    return o;
  });
}

/** Line (1-based) and column (0-based) of a character offset, as ARG's ParserFailure details give them. */
export function lineAndColumn(
  text: string,
  position: number,
): { line: number; characterPositionInLine: number } {
  const before = text.slice(0, position);
  const line = before.split("\n").length;
  return { line, characterPositionInLine: position - (before.lastIndexOf("\n") + 1) };
}
