import type { ErrorRecord } from "@cloudadmin/errors";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import type { Sink } from "./sink.js";
import { writeResults } from "./write-results.js";

/** A sink that records every chunk and whether it was committed or aborted. */
function memorySink() {
  const chunks: string[] = [];
  const state = { committed: false, aborted: false };
  const listeners: Array<() => void> = [];
  const sink: Sink = {
    async write(chunk) {
      if (state.committed || state.aborted) throw new Error("write after end");
      chunks.push(chunk);
      for (const listener of listeners.splice(0)) listener();
    },
    async commit() {
      state.committed = true;
    },
    async abort() {
      state.aborted = true;
    },
    describe: () => "memory",
  };
  /** Resolves once the text written so far satisfies `test`. */
  const until = (test: (text: string) => boolean): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (test(chunks.join(""))) resolve();
        else listeners.push(check);
      };
      check();
    });
  return { sink, chunks, state, text: () => chunks.join(""), until };
}

/** Guards tests whose failure mode is a hang (a writer that collects before writing). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`deadlock: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function* fromArray<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

const NOW = () => new Date("2026-11-27T12:00:00.000Z");

const ERRORS: ErrorRecord[] = [
  { scope: "333333333333", phase: "assume-role", code: "AccessDenied", message: "not authorized" },
];

const ITEMS = [
  { instanceId: "i-1", privateIps: ["10.0.0.5", "10.0.1.7"], name: "web-1", nics: [{ id: "eni-1" }] },
  { instanceId: "i-2", privateIps: [], name: null, nics: [] },
];

describe("json", () => {
  it("writes the SPEC section 4 envelope, identical to JSON.stringify with 2 spaces", async () => {
    const out = memorySink();
    const result = await writeResults({
      format: "json",
      command: "ec2-ips",
      items: fromArray(ITEMS),
      errors: () => ERRORS,
      summary: () => ({ accounts: 3, skippedAccounts: 1 }),
      sink: out.sink,
      now: NOW,
    });
    const expected = {
      command: "ec2-ips",
      generatedAt: "2026-11-27T12:00:00.000Z",
      items: ITEMS,
      errors: ERRORS,
      summary: { accounts: 3, skippedAccounts: 1 },
    };
    expect(out.text()).toBe(`${JSON.stringify(expected, null, 2)}\n`);
    expect(Object.keys(JSON.parse(out.text()))).toEqual([
      "command",
      "generatedAt",
      "items",
      "errors",
      "summary",
    ]);
    expect(out.state).toEqual({ committed: true, aborted: false });
    expect(result).toEqual({
      format: "json",
      items: 2,
      errors: 1,
      bytes: Buffer.byteLength(out.text()),
      target: "memory",
      committed: true,
    });
  });

  it("matches JSON.stringify for one-line output and for an empty run", async () => {
    const compact = memorySink();
    await writeResults({
      format: "json",
      command: "x",
      items: fromArray([{ a: "line\nbreak", b: [1, { c: "ü" }] }, "text", undefined]),
      sink: compact.sink,
      now: NOW,
      jsonIndent: 0,
    });
    expect(compact.text()).toBe(
      `${JSON.stringify({ command: "x", generatedAt: NOW().toISOString(), items: [{ a: "line\nbreak", b: [1, { c: "ü" }] }, "text", null], errors: [], summary: {} })}\n`,
    );
    const empty = memorySink();
    await writeResults({ format: "json", command: "x", items: fromArray([]), sink: empty.sink, now: NOW });
    expect(empty.text()).toBe(
      `${JSON.stringify({ command: "x", generatedAt: NOW().toISOString(), items: [], errors: [], summary: {} }, null, 2)}\n`,
    );
  });

  it("writes each item as it arrives, and reads errors and summary only at the end", async () => {
    const out = memorySink();
    const errors: ErrorRecord[] = [];
    let summaryReads = 0;
    async function* items() {
      yield { n: 1 };
      // The head and the first item must be in the sink before the source produces more.
      await within(
        out.until((t) => t.includes('"n": 1')),
        3_000,
        "json item 1 was not written before item 2",
      );
      expect(out.text()).not.toContain('"errors"');
      errors.push({ scope: "s", phase: "p", code: "ERR_REMOTE", message: "late error" });
      yield { n: 2 };
    }
    await writeResults({
      format: "json",
      command: "c",
      items: items(),
      errors: () => errors,
      summary: () => ({ reads: ++summaryReads }),
      sink: out.sink,
      now: NOW,
    });
    const doc = JSON.parse(out.text());
    expect(doc.items).toEqual([{ n: 1 }, { n: 2 }]);
    expect(doc.errors).toEqual([{ scope: "s", phase: "p", code: "ERR_REMOTE", message: "late error" }]);
    expect(doc.summary).toEqual({ reads: 1 });
    // The head goes out with the first item; then the second item; then the tail.
    expect(out.chunks.length).toBeGreaterThanOrEqual(3);
  });

  it("redacts secrets in error messages", async () => {
    const out = memorySink();
    await writeResults({
      format: "json",
      command: "c",
      items: fromArray([]),
      errors: () => [
        { scope: "blob", phase: "upload", code: "ERR_AUTH", message: "https://a/b?sv=1&sig=SECRETSIG" },
      ],
      sink: out.sink,
      now: NOW,
    });
    expect(out.text()).not.toContain("SECRETSIG");
    expect(JSON.parse(out.text()).errors[0].message).toBe("https://a/b?sv=1&sig=***");
  });
});

describe("ndjson", () => {
  it("streams: the first line reaches the sink before the second item is produced", async () => {
    const out = memorySink();
    const seen: string[] = [];
    async function* items() {
      yield { id: 1 };
      await within(
        out.until((t) => t === '{"id":1}\n'),
        3_000,
        "ndjson collected items instead of streaming",
      );
      seen.push(out.text());
      yield { id: 2 };
      await within(
        out.until((t) => t.endsWith('{"id":2}\n')),
        3_000,
        "ndjson item 2 was not written",
      );
      seen.push(out.text());
    }
    await writeResults({ format: "ndjson", command: "c", items: items(), sink: out.sink });
    expect(seen).toEqual(['{"id":1}\n', '{"id":1}\n{"id":2}\n']);
    expect(out.text()).toBe('{"id":1}\n{"id":2}\n');
    expect(out.state.committed).toBe(true);
  });

  it("sends errors to stderr as JSON lines while items stream, never to the sink", async () => {
    const out = memorySink();
    const stderr: string[] = [];
    const errors: ErrorRecord[] = [];
    async function* items() {
      yield { id: 1 };
      errors.push({ scope: "acct-1", phase: "list", code: "ERR_THROTTLED", message: "slow down" });
      yield { id: 2 };
      expect(stderr).toEqual([
        `${JSON.stringify({ scope: "acct-1", phase: "list", code: "ERR_THROTTLED", message: "slow down" })}\n`,
      ]);
      errors.push({ scope: "acct-2", phase: "list", code: "ERR_REMOTE", message: "boom" });
    }
    const result = await writeResults({
      format: "ndjson",
      command: "c",
      items: items(),
      errors: () => errors,
      sink: out.sink,
      stderr: { write: (chunk: string) => stderr.push(chunk) },
    });
    expect(out.text()).toBe('{"id":1}\n{"id":2}\n');
    expect(stderr.map((line) => JSON.parse(line).scope)).toEqual(["acct-1", "acct-2"]);
    expect(result.errors).toBe(2);
  });
});

describe("csv", () => {
  const TRICKY = [
    {
      name: "plain",
      note: "a,b",
      quote: 'say "hi"',
      multi: "line1\nline2",
      crlf: "x\r\ny",
      intl: "Zoë Ødegård 東京 🚀",
    },
    { name: " spaced ", note: "", quote: '"', multi: "", crlf: "\r", intl: "ÄÖÜß" },
  ];

  it("quotes commas, quotes and line breaks as RFC 4180 says, keeps non-ASCII as UTF-8", async () => {
    const out = memorySink();
    // Exact values: formula neutralising (on by default) is tested in table-csv.test.ts.
    const csv = { escapeFormulas: false };
    await writeResults({ format: "csv", command: "c", items: fromArray(TRICKY), sink: out.sink, csv });
    expect(out.text()).toBe(
      "name,note,quote,multi,crlf,intl\n" +
        'plain,"a,b","say ""hi""","line1\nline2","x\r\ny",Zoë Ødegård 東京 🚀\n' +
        ' spaced ,,"""",,"\r",ÄÖÜß\n',
    );
  });

  it("round-trips through a CSV parser", async () => {
    const out = memorySink();
    // Exact values: formula neutralising (on by default) is tested in table-csv.test.ts.
    const csv = { escapeFormulas: false };
    await writeResults({ format: "csv", command: "c", items: fromArray(TRICKY), sink: out.sink, csv });
    const records = parse(out.text(), { columns: true, relax_quotes: false });
    expect(records).toEqual(TRICKY);
  });

  it("joins arrays with ';', JSON-encodes nested objects, and follows the column spec", async () => {
    const out = memorySink();
    const stderr: string[] = [];
    await writeResults({
      format: "csv",
      command: "ec2-ips",
      items: fromArray(ITEMS),
      errors: () => ERRORS,
      columns: [
        "instanceId",
        { name: "privateIps", header: "Private IPs" },
        "name",
        "nics",
        { name: "count", value: (item) => item.privateIps.length },
      ],
      sink: out.sink,
      stderr: { write: (chunk: string) => stderr.push(chunk) },
    });
    expect(out.text()).toBe(
      'instanceId,Private IPs,name,nics,count\ni-1,10.0.0.5;10.0.1.7,web-1,"[{""id"":""eni-1""}]",2\ni-2,,,,0\n',
    );
    expect(stderr).toEqual([`${JSON.stringify(ERRORS[0])}\n`]);
  });

  it("writes the header of an empty run when columns are given, CRLF and BOM on request", async () => {
    const out = memorySink();
    await writeResults({
      format: "csv",
      command: "c",
      items: fromArray([{ a: "=1+2", b: "x" }]),
      columns: ["a", "b"],
      csv: { bom: true, recordDelimiter: "\r\n", escapeFormulas: true },
      sink: out.sink,
    });
    expect(out.text()).toBe("\ufeffa,b\r\n'=1+2,x\r\n");
    const empty = memorySink();
    await writeResults({
      format: "csv",
      command: "c",
      items: fromArray([]),
      columns: ["a", "b"],
      sink: empty.sink,
    });
    expect(empty.text()).toBe("a,b\n");
  });
});

describe("table", () => {
  it("draws a compact table with the columns, then a count line; errors go to stderr", async () => {
    const out = memorySink();
    const stderr: string[] = [];
    await writeResults({
      format: "table",
      command: "ec2-ips",
      items: fromArray(ITEMS),
      errors: () => ERRORS,
      summary: () => ({ accounts: 3 }),
      sink: out.sink,
      stderr: { write: (chunk: string) => stderr.push(chunk) },
    });
    const lines = out.text().trimEnd().split("\n");
    // Nested values (nics) are left out of a derived table; lists are joined with ", ".
    expect(lines).toEqual([
      "instanceId  privateIps          name",
      "i-1         10.0.0.5, 10.0.1.7  web-1",
      "i-2",
      "2 items, 1 error, accounts: 3",
    ]);
    // No colour codes: the same text may go to a file.
    expect(out.text()).not.toContain("\u001b[");
    expect(stderr).toEqual(["error: 333333333333 (assume-role): AccessDenied: not authorized\n"]);
  });
});

describe("failures", () => {
  it("aborts the sink and rethrows when the source fails, after writing what came before", async () => {
    const out = memorySink();
    async function* items() {
      yield { id: 1 };
      throw new Error("source failed");
    }
    await expect(
      writeResults({ format: "ndjson", command: "c", items: items(), sink: out.sink }),
    ).rejects.toThrow("source failed");
    expect(out.state).toEqual({ committed: false, aborted: true });
    expect(out.text()).toBe('{"id":1}\n');
  });

  it("stops a source blocked in next() when the signal aborts, and aborts the sink", async () => {
    const out = memorySink();
    const controller = new AbortController();
    let finished = false;
    async function* items() {
      try {
        yield { id: 1 };
        controller.abort(new Error("SIGINT"));
        await new Promise(() => {}); // never settles
      } finally {
        finished = true;
      }
    }
    const run = writeResults({
      format: "json",
      command: "c",
      items: items(),
      sink: out.sink,
      signal: controller.signal,
    });
    await expect(within(run, 3_000, "abort did not stop the writer")).rejects.toMatchObject({
      code: "ERR_ABORTED",
    });
    expect(out.state).toEqual({ committed: false, aborted: true });
    expect(finished).toBe(false);
  });

  it("aborts the sink when a write fails", async () => {
    const state = { aborted: false, committed: false };
    const sink: Sink = {
      write: async () => {
        throw new Error("disk full");
      },
      commit: async () => {
        state.committed = true;
      },
      abort: async () => {
        state.aborted = true;
      },
      describe: () => "broken",
    };
    let returned = false;
    async function* items() {
      try {
        yield 1;
        yield 2;
      } finally {
        returned = true;
      }
    }
    await expect(writeResults({ format: "ndjson", command: "c", items: items(), sink })).rejects.toThrow(
      "disk full",
    );
    expect(state).toEqual({ aborted: true, committed: false });
    expect(returned).toBe(true);
  });
});

describe("extra envelope fields", () => {
  it("writes them after summary and never lets them replace the envelope's own fields", async () => {
    const chunks: string[] = [];
    const sink = {
      write: async (c: string) => void chunks.push(c),
      commit: async () => {},
      abort: async () => {},
      describe: () => "memory",
    };
    async function* items() {
      yield { a: 1 };
    }
    await writeResults({
      format: "json",
      command: "ec2-ips",
      items: items(),
      summary: () => ({ n: 1 }),
      extra: () => ({ shard: { index: 1, count: 3 }, scopes: ["222"], items: "evil", command: "x" }),
      sink: sink as never,
      now: () => new Date(0),
    });
    const doc = JSON.parse(chunks.join(""));
    expect(Object.keys(doc)).toEqual([
      "command",
      "generatedAt",
      "items",
      "errors",
      "summary",
      "shard",
      "scopes",
    ]);
    expect(doc).toMatchObject({
      command: "ec2-ips",
      items: [{ a: 1 }],
      shard: { index: 1, count: 3 },
      scopes: ["222"],
    });
  });
});

describe("a run that produced nothing useful", () => {
  function memorySink() {
    const state = { text: "", committed: false, aborted: false };
    const sink = {
      write: async (c: string) => {
        state.text += c;
      },
      commit: async () => {
        state.committed = true;
      },
      abort: async () => {
        state.aborted = true;
      },
      describe: () => "memory",
    };
    return { sink, state };
  }

  it("is not committed when commitIf says so, and a json document is not even started", async () => {
    const { sink, state } = memorySink();
    async function* none() {}
    const result = await writeResults({
      format: "json",
      command: "ec2-ips",
      items: none(),
      errors: () => [{ scope: "222", phase: "assume-role", code: "AccessDenied", message: "denied" }],
      commitIf: () => false,
      sink,
    });
    expect(result.committed).toBe(false);
    expect(state).toEqual({ text: "", committed: false, aborted: true });
  });

  it("writes nothing to the sink when the items fail before the first one", async () => {
    const { sink, state } = memorySink();
    const failing = (): AsyncIterable<never> => ({
      [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error("401 from the service")) }),
    });
    await expect(
      writeResults({ format: "json", command: "zoom-licenses", items: failing(), sink }),
    ).rejects.toThrow("401");
    expect(state.text).toBe("");
    expect(state.aborted).toBe(true);
  });

  it("still writes a whole empty document when the run succeeded with no items", async () => {
    const { sink, state } = memorySink();
    async function* none() {}
    await writeResults({ format: "json", command: "ec2-ips", items: none(), commitIf: () => true, sink });
    expect(JSON.parse(state.text)).toMatchObject({ command: "ec2-ips", items: [], errors: [] });
    expect(state.committed).toBe(true);
  });
});
